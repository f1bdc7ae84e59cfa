package ddl

import (
	"errors"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/entralake/entralake/schema"
)

func init() {
	register(DuckDB, duckdb())
	register(Trino, trino())
	register(Athena, athena())
	register(Spark, spark())
	register(Snowflake, snowflake())
}

// header writes the comment block every engine's output starts with.
func header(b *strings.Builder, lt *schema.LogType, e string, opt Options, notes ...string) {
	comment(b,
		fmt.Sprintf("%s lake tables for %s, written by `entralake ddl`.", lt.Schema, e),
		"Lake: "+opt.Lake,
		"Partitions: category VARCHAR, date DATE"+hourColumn(opt)+" (quarantine: date DATE); the",
		"category column is the category=<c> folder, i.e. the record's category.",
	)
	if len(notes) > 0 {
		comment(b, "")
		comment(b, notes...)
	}
	b.WriteString("\n")
}

// hourColumn is the header's mention of the hour partition, if the lake
// has one.
func hourColumn(opt Options) string {
	if opt.Partitioning == schema.PartitionDay {
		return " (by day: no hour)"
	}
	return ", hour INTEGER"
}

// dataColumns spells the data columns of t as "name type" lines.
func dataColumns(t table, quote func(string) string, s *spelling, sep string, partType map[string]string, withParts bool) ([]string, error) {
	var lines []string
	for _, c := range t.columns {
		if c.partition != "" {
			if withParts {
				lines = append(lines, quote(c.name)+sep+partType[c.partition])
			}
			continue
		}
		typ, err := s.typ(c.typ, "  ")
		if err != nil {
			return nil, fmt.Errorf("column %s: %w", c.name, err)
		}
		lines = append(lines, quote(c.name)+sep+typ)
	}
	return lines, nil
}

// ---- DuckDB ----------------------------------------------------------------

func duckdb() *dialect {
	q := quoter(`"`, duckdbKeywords)
	sp := &spelling{
		quote: q,
		scalar: func(t arrow.DataType) (string, bool) {
			return scalarName(t, "VARCHAR", "BLOB", "BIGINT", "DOUBLE", "BOOLEAN", "TIMESTAMP WITH TIME ZONE")
		},
		open: "STRUCT(", close: ")", sep: " ",
		list:      func(elem string) string { return elem + "[]" },
		multiline: true,
	}
	pt := map[string]string{ColCategory: "VARCHAR", ColDate: "DATE", ColHour: "INTEGER"}
	d := &dialect{quote: q, partType: pt}
	d.checkLake = func(string) error { return nil }
	d.header = func(b *strings.Builder, lt *schema.LogType, opt Options) {
		header(b, lt, "DuckDB", opt,
			"Each table is a view over read_parquet with hive partitioning. The casts",
			"name the exact types; DuckDB drops a cast whose type already matches, so",
			"they cost nothing and keep projection and filter pushdown. The glob names",
			"the partition folders, so hidden folders (.hour=...) are never read.",
			"It starts with <table>* to take in <table>.empty/, where writers keep a",
			"Parquet file with the table's columns and no row: read_parquet refuses",
			"a glob that matches no file, so without it a table with no file yet",
			"(the quarantine table of a clean lake) could not have a view.")
	}
	d.table = func(b *strings.Builder, t table, lake string) error {
		var sel []string
		for _, c := range t.columns {
			if c.partition != "" {
				sel = append(sel, q(c.name))
				continue
			}
			typ, err := sp.typ(c.typ, "  ")
			if err != nil {
				return fmt.Errorf("column %s: %w", c.name, err)
			}
			sel = append(sel, "CAST("+q(c.name)+" AS "+typ+") AS "+q(c.name))
		}
		glob := lake + "/" + t.dir + "*/" // <table>*: with <table>.empty (schema.EmptySuffix)
		var types []string
		for _, p := range t.parts {
			glob += p + "=*/"
			types = append(types, sqlString(p)+": "+pt[p])
		}
		glob += "*.parquet"
		fmt.Fprintf(b, "CREATE OR REPLACE VIEW %s AS\nSELECT\n", qualified(q, t.name))
		writeColumns(b, sel)
		fmt.Fprintf(b, "FROM read_parquet(\n  %s,\n  hive_partitioning = true,\n  hive_types = {%s}\n);\n",
			sqlString(glob), strings.Join(types, ", "))
		return nil
	}
	return d
}

// ---- Trino -----------------------------------------------------------------

func trino() *dialect {
	q := quoter(`"`, trinoKeywords)
	sp := &spelling{
		quote: q,
		scalar: func(t arrow.DataType) (string, bool) {
			return scalarName(t, "varchar", "varbinary", "bigint", "double", "boolean", "timestamp(6)")
		},
		open: "ROW(", close: ")", sep: " ",
		list:      func(elem string) string { return "array(" + elem + ")" },
		multiline: true,
	}
	pt := map[string]string{ColCategory: "varchar", ColDate: "date", ColHour: "integer"}
	d := &dialect{quote: q, partType: pt}
	d.checkLake = func(lake string) error {
		if !hasScheme(lake) {
			return errors.New("trino needs a URL such as s3://bucket/lake or file:///srv/lake")
		}
		return nil
	}
	d.header = func(b *strings.Builder, lt *schema.LogType, opt Options) {
		header(b, lt, "Trino (Hive connector)", opt,
			"Run in a Hive catalog. The timestamps are microseconds in UTC: set",
			"hive.timestamp-precision=MICROSECONDS in the catalog, or Trino refuses",
			"timestamp(6) (with the default MILLISECONDS, write timestamp(3) and",
			"lose the microseconds). The Parquet columns are matched by name.",
			"Run the CALL again when new partitions appear (new hours or days).")
	}
	d.table = func(b *strings.Builder, t table, lake string) error {
		name := t.name
		if len(name) == 1 {
			name = []string{"default", name[0]}
		}
		cols, err := dataColumns(t, q, sp, " ", pt, true)
		if err != nil {
			return err
		}
		fmt.Fprintf(b, "CREATE TABLE IF NOT EXISTS %s (\n", qualified(q, name))
		writeColumns(b, cols)
		parts := make([]string, len(t.parts))
		for i, p := range t.parts {
			parts[i] = sqlString(p)
		}
		fmt.Fprintf(b, ")\nWITH (\n  external_location = %s,\n  format = 'PARQUET',\n  partitioned_by = ARRAY[%s]\n);\n",
			sqlString(lake+"/"+t.dir), strings.Join(parts, ", "))
		proc := "system.sync_partition_metadata"
		if len(name) == 3 {
			proc = q(name[0]) + "." + proc
		}
		fmt.Fprintf(b, "CALL %s(schema_name => %s, table_name => %s, mode => 'FULL');\n",
			proc, sqlString(name[len(name)-2]), sqlString(name[len(name)-1]))
		return nil
	}
	return d
}

// ---- Athena ----------------------------------------------------------------

// athenaFirstDate is the first day Athena's partition projection lists.
const athenaFirstDate = "2018-01-01"

func athena() *dialect {
	q := func(name string) string { return "`" + strings.ReplaceAll(name, "`", "``") + "`" }
	sp := &spelling{
		quote: q,
		scalar: func(t arrow.DataType) (string, bool) {
			return scalarName(t, "string", "binary", "bigint", "double", "boolean", "timestamp")
		},
		open: "struct<", close: ">", sep: ":",
		list: func(elem string) string { return "array<" + elem + ">" },
	}
	pt := map[string]string{ColCategory: "string", ColDate: "date", ColHour: "int"}
	d := &dialect{quote: q, partType: pt}
	d.checkLake = func(lake string) error {
		if !strings.HasPrefix(lake, "s3://") {
			return errors.New("athena reads s3:// locations only")
		}
		return nil
	}
	d.header = func(b *strings.Builder, lt *schema.LogType, opt Options) {
		header(b, lt, "Amazon Athena", opt,
			"Partition projection computes the partitions from the table properties:",
			"no MSCK REPAIR and no Glue partitions. It lists the categories of",
			"projection.category.values and the days from "+athenaFirstDate+" to tomorrow;",
			"filter on date to read few folders. Athena keeps names in lower case.")
	}
	d.table = func(b *strings.Builder, t table, lake string) error {
		cols, err := dataColumns(t, q, sp, " ", pt, false)
		if err != nil {
			return err
		}
		fmt.Fprintf(b, "CREATE EXTERNAL TABLE IF NOT EXISTS %s (\n", qualified(q, t.name))
		writeColumns(b, cols)
		b.WriteString(")\nPARTITIONED BY (\n")
		var parts []string
		for _, p := range t.parts {
			parts = append(parts, q(p)+" "+pt[p])
		}
		writeColumns(b, parts)
		loc := lake + "/" + t.dir + "/"
		fmt.Fprintf(b, ")\nSTORED AS PARQUET\nLOCATION %s\nTBLPROPERTIES (\n", sqlString(loc))
		props := [][2]string{{"projection.enabled", "true"}}
		template := strings.TrimSuffix(loc, "/")
		for _, p := range t.parts {
			template += "/" + p + "=${" + p + "}"
			switch p {
			case ColCategory:
				props = append(props,
					[2]string{"projection.category.type", "enum"},
					[2]string{"projection.category.values", strings.Join(Categories, ",")})
			case ColDate:
				props = append(props,
					[2]string{"projection.date.type", "date"},
					[2]string{"projection.date.format", "yyyy-MM-dd"},
					[2]string{"projection.date.range", athenaFirstDate + ",NOW+1DAYS"},
					[2]string{"projection.date.interval", "1"},
					[2]string{"projection.date.interval.unit", "DAYS"})
			case ColHour:
				props = append(props,
					[2]string{"projection.hour.type", "integer"},
					[2]string{"projection.hour.range", "0,23"},
					[2]string{"projection.hour.digits", "2"})
			}
		}
		props = append(props, [2]string{"storage.location.template", template})
		lines := make([]string, len(props))
		for i, p := range props {
			lines[i] = sqlString(p[0]) + " = " + sqlString(p[1])
		}
		writeColumns(b, lines)
		b.WriteString(");\n")
		return nil
	}
	return d
}

// ---- Spark -----------------------------------------------------------------

func spark() *dialect {
	q := quoter("`", sparkKeywords)
	sp := &spelling{
		quote: q,
		scalar: func(t arrow.DataType) (string, bool) {
			return scalarName(t, "STRING", "BINARY", "BIGINT", "DOUBLE", "BOOLEAN", "TIMESTAMP")
		},
		open: "STRUCT<", close: ">", sep: ": ",
		list:      func(elem string) string { return "ARRAY<" + elem + ">" },
		multiline: true,
	}
	pt := map[string]string{ColCategory: "STRING", ColDate: "DATE", ColHour: "INT"}
	d := &dialect{quote: q, partType: pt}
	d.checkLake = func(lake string) error {
		if !hasScheme(lake) {
			return errors.New("spark needs a URL such as s3a://bucket/lake or file:///srv/lake")
		}
		return nil
	}
	d.header = func(b *strings.Builder, lt *schema.LogType, opt Options) {
		header(b, lt, "Apache Spark SQL", opt,
			"TIMESTAMP is Spark's instant type (TIMESTAMP_LTZ), which is what the",
			"files hold (isAdjustedToUTC=true). Run MSCK REPAIR TABLE again when new",
			"partitions appear, and REFRESH TABLE when files change in old ones.")
	}
	d.table = func(b *strings.Builder, t table, lake string) error {
		cols, err := dataColumns(t, q, sp, " ", pt, true)
		if err != nil {
			return err
		}
		name := qualified(q, t.name)
		fmt.Fprintf(b, "CREATE TABLE IF NOT EXISTS %s (\n", name)
		writeColumns(b, cols)
		parts := make([]string, len(t.parts))
		for i, p := range t.parts {
			parts[i] = q(p)
		}
		fmt.Fprintf(b, ")\nUSING parquet\nPARTITIONED BY (%s)\nLOCATION %s;\nMSCK REPAIR TABLE %s;\n",
			strings.Join(parts, ", "), sqlString(lake+"/"+t.dir), name)
		return nil
	}
	return d
}

// ---- Snowflake -------------------------------------------------------------

func snowflake() *dialect {
	q := func(name string) string {
		if snowflakePlain.MatchString(name) && !snowflakeKeywords[strings.ToLower(name)] {
			return name
		}
		return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
	}
	scalar := func(t arrow.DataType) (string, bool) {
		return scalarName(t, "VARCHAR", "BINARY", "BIGINT", "DOUBLE", "BOOLEAN", "TIMESTAMP_LTZ(6)")
	}
	sp := &spelling{quote: q, scalar: scalar, object: "OBJECT", array: "ARRAY"}
	pt := map[string]string{ColCategory: "VARCHAR", ColDate: "DATE", ColHour: "INTEGER"}
	d := &dialect{quote: q, partType: pt}
	d.checkLake = func(lake string) error {
		if !strings.HasPrefix(lake, "@") {
			return errors.New("snowflake reads a stage: create one on the lake's URL, then pass @stage or @stage/path")
		}
		return nil
	}
	d.header = func(b *strings.Builder, lt *schema.LogType, opt Options) {
		header(b, lt, "Snowflake", opt,
			"External tables over the stage, partitioned by expressions on",
			"METADATA$FILENAME. Scalar columns have their exact types; structs are",
			"OBJECT and lists ARRAY (external tables have no typed structs): use",
			"properties:status::VARCHAR. Names are unquoted, so case-insensitive.",
			"With AUTO_REFRESH = FALSE, run ALTER EXTERNAL TABLE ... REFRESH after",
			"new files arrive (or set up event notifications and AUTO_REFRESH).")
	}
	d.table = func(b *strings.Builder, t table, lake string) error {
		var cols []string
		for _, p := range t.parts {
			var expr string
			switch p {
			case ColCategory:
				expr = "REGEXP_SUBSTR(METADATA$FILENAME, '(^|/)category=([^/]+)/', 1, 1, 'e', 2)"
			case ColDate:
				expr = "TO_DATE(REGEXP_SUBSTR(METADATA$FILENAME, '(^|/)date=([0-9]{4}-[0-9]{2}-[0-9]{2})/', 1, 1, 'e', 2), 'YYYY-MM-DD')"
			case ColHour:
				expr = "TO_NUMBER(REGEXP_SUBSTR(METADATA$FILENAME, '(^|/)hour=([0-9]{2})/', 1, 1, 'e', 2))"
			}
			cols = append(cols, q(p)+" "+pt[p]+" AS ("+expr+")")
		}
		for _, c := range t.columns {
			if c.partition != "" {
				continue
			}
			typ, err := sp.typ(c.typ, "")
			if err != nil {
				return fmt.Errorf("column %s: %w", c.name, err)
			}
			cols = append(cols, fmt.Sprintf("%s %s AS (VALUE:%s::%s)", q(c.name), typ, snowflakePathKey(c.name), typ))
		}
		name := qualified(q, t.name)
		fmt.Fprintf(b, "CREATE OR REPLACE EXTERNAL TABLE %s (\n", name)
		writeColumns(b, cols)
		parts := make([]string, len(t.parts))
		pattern := "(.*/)?"
		for i, p := range t.parts {
			parts[i] = q(p)
			pattern += p + "=[^/]+/"
		}
		pattern += "[^./][^/]*[.]parquet"
		fmt.Fprintf(b, ")\nPARTITION BY (%s)\nLOCATION = %s/%s/\nPATTERN = %s\n", strings.Join(parts, ", "), lake, t.dir, sqlString(pattern))
		b.WriteString("FILE_FORMAT = (TYPE = PARQUET USE_LOGICAL_TYPE = TRUE BINARY_AS_TEXT = FALSE)\nAUTO_REFRESH = FALSE\nREFRESH_ON_CREATE = TRUE;\n")
		return nil
	}
	return d
}

// snowflakePathKey quotes a key of a semi-structured path: keys are
// case-sensitive and double quotes keep them exact.
func snowflakePathKey(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}
