package e2e

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// testdataExport is the project's own sample export.
const testdataExport = "../testdata/export"

// corpusDir holds the real records of ../shared/corpus (outside the repository).
const corpusDir = "../../shared/corpus/entra-export"

// The totals of testdata/export, as its README states them.
const (
	testdataRecords     = 64
	testdataGood        = 60
	testdataQuarantined = 4
)

func mustReadExport(t *testing.T, dir string) *export {
	t.Helper()
	ex, err := readExport(dir)
	if err != nil {
		t.Fatal(err)
	}
	if ex.Total == 0 {
		t.Fatalf("export %s: no records", dir)
	}
	return ex
}

// TestOracleTestdata pins what testdata/export holds, so that its README and
// the expectations of the other tests stay true.
func TestOracleTestdata(t *testing.T) {
	ex := mustReadExport(t, absPath(t, testdataExport))
	if got, want := ex.Total, testdataRecords; got != want {
		t.Errorf("records = %d, want %d", got, want)
	}
	if got, want := ex.Good, testdataGood; got != want {
		t.Errorf("good records = %d, want %d", got, want)
	}
	if got, want := ex.Bad, testdataQuarantined; got != want {
		t.Errorf("bad records = %d, want %d", got, want)
	}
	var why []string
	cats := map[string]bool{}
	for _, r := range ex.Records {
		if !r.Good {
			why = append(why, r.Why)
			continue
		}
		cats[r.categoryOf()] = true
	}
	slices.Sort(why)
	if got, want := why, []string{"no operationName", "no time", "not JSON", "not JSON"}; !slices.Equal(got, want) {
		t.Errorf("reasons = %q, want %q", got, want)
	}
	for _, c := range []string{
		"AuditLogs", "SignInLogs", "NonInteractiveUserSignInLogs", "ServicePrincipalSignInLogs",
		"ManagedIdentitySignInLogs", "MicrosoftGraphActivityLogs", "MicrosoftServicePrincipalSignInLogs",
		"RiskyUsers", "UserRiskEvents", "ProvisioningLogs", "ADFSSignInLogs",
	} {
		if !cats[c] {
			t.Errorf("no good %s record", c)
		}
		container := "insights-logs-" + strings.ToLower(c) + "/"
		if !slices.ContainsFunc(ex.Blobs, func(b string) bool { return strings.HasPrefix(b, container) }) {
			t.Errorf("no blob in container %s", container)
		}
	}
	if got, want := len(ex.Wrapped), 1; got != want {
		t.Errorf("blobs in the {\"records\":[...]} form = %d, want %d", got, want)
	}
}

// TestRunOnceTestdata runs --once on testdata/export and compares the lake
// with the oracle.
func TestRunOnceTestdata(t *testing.T) {
	src := absPath(t, testdataExport)
	ex := mustReadExport(t, src)
	lake, dataDir := t.TempDir(), t.TempDir()

	runOnce(t, src, lake, dataDir)

	db := openDuckDB(t)
	st := checkLake(t, db, lake, ex)
	if got, want := st.Rows, int64(testdataGood); got != want {
		t.Errorf("rows = %d, want %d (testdata/export/README.md)", got, want)
	}
	if got, want := st.Quarantined, int64(testdataQuarantined); got != want {
		t.Errorf("quarantined = %d, want %d (testdata/export/README.md)", got, want)
	}
}

// TestRunOnceSplitTasks runs the testdata (with its bad lines and
// multi-line records) and the corpus with --task-size so small that every
// blob is cut into many tasks, most cuts inside a record: the lake must
// hold exactly what one task per blob gives (every row checked against
// the oracle, every bad record quarantined once), and every blob's
// offset must be committed to its end.
func TestRunOnceSplitTasks(t *testing.T) {
	for _, src := range []string{absPath(t, testdataExport), corpusExport(t)} {
		ex := mustReadExport(t, src)
		lake, dataDir := t.TempDir(), t.TempDir()
		out, _ := runEntralake(t, "run", "--source", src, "--lake", lake, "--data-dir", dataDir, "--once", "--task-size", "700")
		db := openDuckDB(t)
		checkLake(t, db, lake, ex)
		checkCommitted(t, src, dataDir)
		t.Logf("%s: %s", filepath.Base(src), strings.TrimSpace(out))
	}
}

// corpusCategories is the table of ../shared/corpus/SOURCES.md, used when a
// file's records do not name their category.
var corpusCategories = map[string]string{
	"audit_logs.json":                               "AuditLogs",
	"sign_in_logs.json":                             "SignInLogs",
	"non_interactive_user_sign_in_logs.json":        "NonInteractiveUserSignInLogs",
	"service_principal_sign_in_logs.json":           "ServicePrincipalSignInLogs",
	"managed_identity_sign_in_logs.json":            "ManagedIdentitySignInLogs",
	"ms_graph_activity_logs.json":                   "MicrosoftGraphActivityLogs",
	"microsoft_service_principal_sign_in_logs.json": "MicrosoftServicePrincipalSignInLogs",
	"risky_users_logs.json":                         "RiskyUsers",
	"user_risk_event_logs.json":                     "UserRiskEvents",
}

// TestRunOnceCorpus lays the real corpus out as an export (one blob per
// file, bytes unchanged), runs --once, and compares every row with the
// oracle's decoding of its record.
func TestRunOnceCorpus(t *testing.T) {
	src := corpusExport(t)
	ex := mustReadExport(t, src)
	lake, dataDir := t.TempDir(), t.TempDir()

	runOnce(t, src, lake, dataDir)

	db := openDuckDB(t)
	checkLake(t, db, lake, ex)
}

// corpusExport lays the real corpus out as an export, one blob per file with
// its bytes unchanged, and returns its folder; without the corpus it skips
// the test, or fails it under CI (see corpusAbsent).
func corpusExport(t *testing.T) string {
	t.Helper()
	corpus := absPath(t, corpusDir)
	files, err := filepath.Glob(filepath.Join(corpus, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		corpusAbsent(t, corpus)
	}
	src := t.TempDir()
	seen := map[string]string{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		cat, tenant := corpusFileFacts(data)
		if cat == "" {
			cat = corpusCategories[filepath.Base(f)]
		}
		if cat == "" || tenant == "" {
			t.Fatalf("%s: category %q, tenant %q: cannot place it in an export", f, cat, tenant)
		}
		if prev, ok := seen[cat]; ok {
			t.Fatalf("%s and %s both hold %s: they would share one blob", prev, f, cat)
		}
		seen[cat] = f
		blob := fmt.Sprintf("insights-logs-%s/tenantId=%s/y=2025/m=04/d=11/h=08/m=00/PT1H.json", strings.ToLower(cat), tenant)
		dst := filepath.Join(src, filepath.FromSlash(blob))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, data, 0o644); err != nil {
			t.Fatal(err)
		}
		// A complete export, downloaded a while ago: every blob is final,
		// and the corpus's last lines without a line end are read.
		if old := time.Now().Add(-time.Hour); os.Chtimes(dst, old, old) != nil {
			t.Fatalf("set the time of %s", dst)
		}
	}
	return src
}

// corpusAbsent ends a test that needs the real corpus, which is absent:
// a failure when CI=true (CI has the corpus beside the clone, so its absence
// is a broken set-up), a skip elsewhere. scripts/test.sh prints a line
// about the skip, since go test shows skips only with -v.
func corpusAbsent(t testing.TB, corpus string) {
	t.Helper()
	const where = "it lives next to the repository, in shared/corpus"
	if os.Getenv("CI") == "true" {
		t.Fatalf("corpus %s is absent (no *.json) and CI=true: the corpus tests must run in CI; %s", corpus, where)
		return
	}
	t.Skipf("corpus %s is absent (no *.json): %s", corpus, where)
}

// corpusFileFacts returns the category and the tenant (lower case) named
// by the first record of a JSON-lines file that has them.
func corpusFileFacts(data []byte) (category, tenant string) {
	for line := range bytes.Lines(data) {
		var m map[string]any
		if json.Unmarshal(line, &m) != nil {
			continue
		}
		if category == "" {
			category, _ = lookup(m, "category").(string)
		}
		if tenant == "" {
			tenant, _ = lookup(m, "tenantId").(string)
			tenant = strings.ToLower(tenant)
		}
		if category != "" && tenant != "" {
			return category, tenant
		}
	}
	return category, tenant
}

// TestRunTwiceNoDuplicates runs --once twice with the same input, lake and
// data dir: the second run must not add rows.
func TestRunTwiceNoDuplicates(t *testing.T) {
	src := absPath(t, testdataExport)
	ex := mustReadExport(t, src)
	lake, dataDir := t.TempDir(), t.TempDir()
	db := openDuckDB(t)

	runOnce(t, src, lake, dataDir)
	first := countTable(t, db, lake, tableDir)
	firstQ := countTable(t, db, lake, quarantineDir)
	if got, want := first.Rows, int64(ex.Good); got != want {
		t.Errorf("first run: rows = %d, want %d", got, want)
	}

	runOnce(t, src, lake, dataDir)
	second := countTable(t, db, lake, tableDir)
	secondQ := countTable(t, db, lake, quarantineDir)
	if got, want := second.Rows, first.Rows; got != want {
		t.Errorf("second run: rows = %d, want %d as after the first run", got, want)
	}
	if got, want := second.RowIDs, second.Rows; got != want {
		t.Errorf("second run: distinct p_row_id = %d, want %d (one per row)", got, want)
	}
	if got, want := secondQ.Rows, firstQ.Rows; got != want {
		t.Errorf("second run: quarantined = %d, want %d as after the first run", got, want)
	}
	if got, want := secondQ.RowIDs, secondQ.Rows; got != want {
		t.Errorf("second run: distinct quarantine p_row_id = %d, want %d", got, want)
	}
	checkLayout(t, lake)
}

// TestSchemaCommand checks that "entralake schema" prints the columns. The
// nesting itself is tested in the main module.
func TestSchemaCommand(t *testing.T) {
	stdout, _ := runEntralake(t, "schema")
	for _, want := range []string{"targetResources", "modifiedProperties", "p_row_id", "p_source_file"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("entralake schema: output does not mention %q; got:\n%s", want, tail([]byte(stdout), 2<<10))
		}
	}
}

// columnType is a column of a lake table with the DuckDB types it may have.
type columnType struct {
	name  string
	types []string // accepted DuckDB type names; quotes ignored
}

var (
	timestampTypes = []string{"TIMESTAMP", "TIMESTAMP WITH TIME ZONE"}
	sourceFileType = []string{"STRUCT(blob VARCHAR, offset BIGINT, index BIGINT)"}
	tableColumns   = []columnType{
		{"time", timestampTypes},
		{"Level", []string{"BIGINT"}},
		{"operationName", []string{"VARCHAR"}},
		{"properties", nil},
		{"p_log_type", []string{"VARCHAR"}},
		{"p_event_time", timestampTypes},
		{"p_parse_time", timestampTypes},
		{"p_row_id", []string{"VARCHAR"}},
		{"p_source_id", []string{"VARCHAR"}},
		{"p_source_label", []string{"VARCHAR"}},
		{"p_source_file", sourceFileType},
		{"p_any_ip_addresses", []string{"VARCHAR[]"}},
		{"p_any_usernames", []string{"VARCHAR[]"}},
		{"p_any_trace_ids", []string{"VARCHAR[]"}},
		{"p_extra", []string{"VARCHAR", "JSON"}},
		{"category", []string{"VARCHAR"}},
		{"date", []string{"VARCHAR"}},
		{"hour", []string{"VARCHAR"}},
	}
	quarantineTableColumns = []columnType{
		{"p_log_type", []string{"VARCHAR"}},
		{"p_row_id", []string{"VARCHAR"}},
		{"p_parse_time", timestampTypes},
		{"p_source_id", []string{"VARCHAR"}},
		{"p_source_label", []string{"VARCHAR"}},
		{"p_source_file", sourceFileType},
		{"reason", []string{"VARCHAR"}},
		{"raw", []string{"BLOB"}},
		{"raw_size", []string{"BIGINT"}},
		{"date", []string{"VARCHAR"}},
	}
)

// checkColumns checks that the lake tables have the contract's columns,
// hive partition columns included, with the contract's types. A table is
// checked when the oracle expects rows in it.
func checkColumns(t *testing.T, db *sql.DB, lake string, ex *export) {
	t.Helper()
	for _, tc := range []struct {
		table string
		cols  []columnType
		want  int
	}{{tableDir, tableColumns, ex.Good}, {quarantineDir, quarantineTableColumns, ex.Bad}} {
		if tc.want == 0 {
			continue
		}
		if len(parquetFiles(t, filepath.Join(lake, tc.table))) == 0 {
			t.Errorf("lake %s: no parquet file in %s, want %d rows there", lake, tc.table, tc.want)
			continue
		}
		got := describe(t, db, readParquet(lake, tc.table))
		for _, c := range tc.cols {
			typ, ok := got[c.name]
			switch {
			case !ok:
				t.Errorf("%s: no column %q; columns: %v", tc.table, c.name, slices.Sorted(maps.Keys(got)))
			case c.types != nil && !slices.Contains(c.types, typ):
				t.Errorf("%s: column %s has type %s, want one of %q", tc.table, c.name, typ, c.types)
			}
		}
	}
}

// describe returns the columns of a FROM clause and their types, with
// identifier quotes removed from the type text.
func describe(t *testing.T, db *sql.DB, from string) map[string]string {
	t.Helper()
	q := "SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM " + from + ")"
	rs, err := db.QueryContext(t.Context(), q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rs.Close()
	cols := map[string]string{}
	for rs.Next() {
		var name, typ string
		if err := rs.Scan(&name, &typ); err != nil {
			t.Fatal(err)
		}
		cols[name] = strings.ReplaceAll(typ, `"`, "")
	}
	if err := rs.Err(); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return cols
}
