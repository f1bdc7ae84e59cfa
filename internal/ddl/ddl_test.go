package ddl_test

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/entralake/entralake/internal/ddl"
	"github.com/entralake/entralake/schema"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// goldenLakes are the lake locations the golden files are written for.
var goldenLakes = map[ddl.Engine]string{
	ddl.DuckDB:    "/srv/lake",
	ddl.Trino:     "s3://example-bucket/entra/lake",
	ddl.Athena:    "s3://example-bucket/entra/lake",
	ddl.Spark:     "s3a://example-bucket/entra/lake",
	ddl.Snowflake: "@entralake_stage/lake",
}

func loadAudit(t *testing.T) *schema.LogType {
	t.Helper()
	lt, err := schema.Load("Azure.Audit")
	if err != nil {
		t.Fatal(err)
	}
	return lt
}

// TestGolden compares each engine's DDL with testdata/<engine>.golden
// (refresh with go test -update). The golden files were checked by hand
// against each engine's documentation.
func TestGolden(t *testing.T) {
	lt := loadAudit(t)
	for _, e := range ddl.Engines() {
		t.Run(string(e), func(t *testing.T) {
			got, err := ddl.Generate(lt, e, ddl.Options{Lake: goldenLakes[e]})
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", string(e)+".golden")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("ddl for %s differs from %s (run go test -update and review the diff):\n%s", e, path, firstDiff(got, string(want)))
			}
		})
	}
}

func firstDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return "line " + strconv.Itoa(i+1) + ":\n got: " + gl + "\nwant: " + wl
		}
	}
	return ""
}

// TestEveryColumn checks that each engine's DDL names every column of both
// tables, the partition columns, both locations, and balanced brackets.
func TestEveryColumn(t *testing.T) {
	lt := loadAudit(t)
	for _, e := range ddl.Engines() {
		t.Run(string(e), func(t *testing.T) {
			got, err := ddl.Generate(lt, e, ddl.Options{Lake: goldenLakes[e]})
			if err != nil {
				t.Fatal(err)
			}
			lower := strings.ToLower(got)
			var names []string
			for _, f := range lt.ArrowSchema().Fields() {
				names = append(names, f.Name)
			}
			for _, f := range schema.QuarantineSchema().Fields() {
				names = append(names, f.Name)
			}
			names = append(names, ddl.ColCategory, ddl.ColDate, ddl.ColHour, "/azure_audit", "/azure_audit_quarantine")
			if e != ddl.Snowflake { // nested fields are inside OBJECT there
				names = append(names, "_billedsize", "__udi_requiredfields_eventtime", "modifiedproperties")
			}
			for _, n := range names {
				if !strings.Contains(lower, strings.ToLower(n)) {
					t.Errorf("ddl does not mention %q", n)
				}
			}
			if got, want := strings.Count(got, "\nCREATE "), 2; got != want {
				t.Errorf("CREATE statements = %d, want %d", got, want)
			}
			checkBrackets(t, got)
		})
	}
}

// checkBrackets checks that (), [] and <> (outside string literals and
// comments) balance; <> only where they open a type (struct<, array<).
func checkBrackets(t *testing.T, s string) {
	t.Helper()
	var stack []rune
	inStr := false
	for _, line := range strings.Split(s, "\n") {
		if strings.HasPrefix(line, "--") {
			continue
		}
		rs := []rune(line)
		for i, r := range rs {
			if r == '\'' {
				inStr = !inStr
				continue
			}
			if inStr {
				continue
			}
			switch r {
			case '(', '[':
				stack = append(stack, r)
			case '<':
				if i > 0 && (rs[i-1] >= 'a' && rs[i-1] <= 'z' || rs[i-1] >= 'A' && rs[i-1] <= 'Z') {
					stack = append(stack, r)
				}
			case ')', ']', '>':
				if r == '>' && (len(stack) == 0 || stack[len(stack)-1] != '<') {
					continue
				}
				open := map[rune]rune{')': '(', ']': '[', '>': '<'}[r]
				if len(stack) == 0 || stack[len(stack)-1] != open {
					t.Fatalf("unbalanced %q in line %q", r, line)
				}
				stack = stack[:len(stack)-1]
			}
		}
	}
	if len(stack) > 0 || inStr {
		t.Fatalf("unclosed %q (in string: %v)", string(stack), inStr)
	}
}

// TestQuoting checks the identifiers that need quotes in each engine.
func TestQuoting(t *testing.T) {
	lt := loadAudit(t)
	tests := []struct {
		engine ddl.Engine
		want   []string
	}{
		{ddl.DuckDB, []string{`CAST("Level" AS BIGINT)`, `"_billedSize" DOUBLE`, `"__UDI_RequiredFields_EventTime" TIMESTAMP WITH TIME ZONE`, `"time"`, `"type" VARCHAR`, `"location" VARCHAR`, `"user" STRUCT(`, `"offset" BIGINT`, `"hour"`, `CAST(p_row_id AS VARCHAR)`}},
		{ddl.Trino, []string{`"Level" bigint`, `"_billedSize" double`, `"__UDI_RequiredFields_EventTime" timestamp(6)`, `"time" timestamp(6)`, `"type" varchar`, `"location" varchar`, `"result" varchar`, `"user" ROW(`, `"date" date`, `p_row_id varchar`}},
		{ddl.Athena, []string{"`Level` bigint", "`_billedSize`:double", "`__UDI_RequiredFields_EventTime`:timestamp", "`time` timestamp", "`type`:string", "`location` string", "`result`:string", "`user`:struct<", "`date` date"}},
		{ddl.Spark, []string{"`Level` BIGINT", "`_billedSize`: DOUBLE", "`__UDI_RequiredFields_EventTime`: TIMESTAMP", "`time` TIMESTAMP", "`type`: STRING", "`location` STRING", "`result`: STRING", "`user`: STRUCT<", "`date` DATE", "p_row_id STRING"}},
		{ddl.Snowflake, []string{`Level BIGINT AS (VALUE:"Level"::BIGINT)`, `time TIMESTAMP_LTZ(6) AS (VALUE:"time"::TIMESTAMP_LTZ(6))`, `location VARCHAR AS (VALUE:"location"::VARCHAR)`, `properties OBJECT AS (VALUE:"properties"::OBJECT)`, `raw BINARY AS (VALUE:"raw"::BINARY)`}},
	}
	for _, tt := range tests {
		t.Run(string(tt.engine), func(t *testing.T) {
			got, err := ddl.Generate(lt, tt.engine, ddl.Options{Lake: goldenLakes[tt.engine]})
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("ddl does not contain %s", w)
				}
			}
		})
	}
}

// TestOptions checks table names and lake locations.
func TestOptions(t *testing.T) {
	lt := loadAudit(t)
	tests := []struct {
		name    string
		engine  ddl.Engine
		opt     ddl.Options
		wantErr error
		want    []string
	}{
		{"unknown engine", "oracle", ddl.Options{Lake: "x"}, ddl.ErrUnknownEngine, nil},
		{"no lake", ddl.DuckDB, ddl.Options{}, ddl.ErrInvalidOption, nil},
		{"trino path", ddl.Trino, ddl.Options{Lake: "/srv/lake"}, ddl.ErrInvalidOption, nil},
		{"athena not s3", ddl.Athena, ddl.Options{Lake: "gs://b/lake"}, ddl.ErrInvalidOption, nil},
		{"spark path", ddl.Spark, ddl.Options{Lake: "lake"}, ddl.ErrInvalidOption, nil},
		{"snowflake url", ddl.Snowflake, ddl.Options{Lake: "s3://b/lake"}, ddl.ErrInvalidOption, nil},
		{"empty name part", ddl.DuckDB, ddl.Options{Lake: "x", Table: "a..b"}, ddl.ErrInvalidOption, nil},
		{"four parts", ddl.DuckDB, ddl.Options{Lake: "x", Table: "a.b.c.d"}, ddl.ErrInvalidOption, nil},
		{"duckdb table", ddl.DuckDB, ddl.Options{Lake: "/l/", Table: "entra"}, nil,
			[]string{"CREATE OR REPLACE VIEW entra AS", "CREATE OR REPLACE VIEW entra_quarantine AS", "'/l/azure_audit*/category=*/date=*/hour=*/*.parquet'", "'/l/azure_audit_quarantine*/date=*/*.parquet'"}},
		{"trino qualified", ddl.Trino, ddl.Options{Lake: "s3://b/l", Table: "hive.logs.Entra"}, nil,
			[]string{`CREATE TABLE IF NOT EXISTS hive.logs."Entra" (`, `CALL hive.system.sync_partition_metadata(schema_name => 'logs', table_name => 'Entra_quarantine', mode => 'FULL');`, "external_location = 's3://b/l/azure_audit'"}},
		{"bad partitioning", ddl.DuckDB, ddl.Options{Lake: "x", Partitioning: "week"}, ddl.ErrInvalidOption, nil},
		{"duckdb by day", ddl.DuckDB, ddl.Options{Lake: "/l", Partitioning: schema.PartitionDay}, nil,
			[]string{"'/l/azure_audit*/category=*/date=*/*.parquet'", "hive_types = {'category': VARCHAR, 'date': DATE}", "date DATE (by day: no hour)"}},
		{"athena by day", ddl.Athena, ddl.Options{Lake: "s3://b/l", Partitioning: schema.PartitionDay}, nil,
			[]string{"PARTITIONED BY (\n  `category` string,\n  `date` date\n)", "'storage.location.template' = 's3://b/l/azure_audit/category=${category}/date=${date}'"}},
		{"snowflake by day", ddl.Snowflake, ddl.Options{Lake: "@st", Partitioning: schema.PartitionDay}, nil,
			[]string{"PARTITION BY (category, date)", "PATTERN = '(.*/)?category=[^/]+/date=[^/]+/[^./][^/]*[.]parquet'"}},
		{"snowflake stage", ddl.Snowflake, ddl.Options{Lake: "@db.s.stage", Table: "db.s.entra"}, nil,
			[]string{"CREATE OR REPLACE EXTERNAL TABLE db.s.entra (", "LOCATION = @db.s.stage/azure_audit/", "PARTITION BY (date)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ddl.Generate(lt, tt.engine, tt.opt)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("ddl does not contain %s", w)
				}
			}
		})
	}
}

// TestNoCaseCollisions checks that no two fields of one object differ only
// in letter case: Trino, Athena, Spark and Snowflake's unquoted names are
// case-insensitive, so such fields could not both be columns.
func TestNoCaseCollisions(t *testing.T) {
	lt := loadAudit(t)
	seen := map[string]string{}
	for _, f := range lt.ArrowSchema().Fields() {
		k := strings.ToLower(f.Name)
		if prev, ok := seen[k]; ok {
			t.Errorf("top-level columns %q and %q differ only in case", prev, f.Name)
		}
		seen[k] = f.Name
	}
	err := lt.Walk(func(path string, f *schema.Field) error {
		seen := map[string]string{}
		for _, c := range append(f.Fields, elemFields(f)...) {
			k := strings.ToLower(c.Name)
			if prev, ok := seen[k]; ok {
				t.Errorf("%s: fields %q and %q differ only in case", path, prev, c.Name)
			}
			seen[k] = c.Name
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func elemFields(f *schema.Field) []*schema.Field {
	if f.Element != nil {
		return f.Element.Fields
	}
	return nil
}

// TestDayPartitioningHasNoHour checks that no engine's statements for a
// lake partitioned by day name an hour folder or column, and that each
// names one for the default layout.
func TestDayPartitioningHasNoHour(t *testing.T) {
	lt := loadAudit(t)
	lakes := map[ddl.Engine]string{ddl.DuckDB: "/l", ddl.Trino: "s3://b/l", ddl.Athena: "s3://b/l", ddl.Spark: "s3a://b/l", ddl.Snowflake: "@st"}
	for _, e := range ddl.Engines() {
		for _, by := range []schema.Partitioning{schema.PartitionHour, schema.PartitionDay} {
			got, err := ddl.Generate(lt, e, ddl.Options{Lake: lakes[e], Partitioning: by})
			if err != nil {
				t.Fatalf("%s by %s: %v", e, by, err)
			}
			var stmts []string // the statements, without the comment lines
			for _, l := range strings.Split(got, "\n") {
				if !strings.HasPrefix(l, "--") {
					stmts = append(stmts, l)
				}
			}
			if has := strings.Contains(strings.ToLower(strings.Join(stmts, "\n")), "hour"); has != (by == schema.PartitionHour) {
				t.Errorf("%s by %s: statements name an hour: %v", e, by, has)
			}
		}
	}
}
