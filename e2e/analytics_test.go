package e2e

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// buildTestdataLake runs --once on testdata/export and returns the lake.
func buildTestdataLake(t *testing.T) string {
	t.Helper()
	lake := t.TempDir()
	runOnce(t, absPath(t, testdataExport), lake, t.TempDir())
	return lake
}

// TestDuckDBDDL runs the DDL that `entralake ddl --engine duckdb` prints in
// DuckDB, then queries through the views: row counts, nested access, typed
// partitions.
func TestDuckDBDDL(t *testing.T) {
	lake := buildTestdataLake(t)
	ddl, _ := runEntralake(t, "ddl", "--engine", "duckdb", "--lake", lake)
	db := openDuckDB(t)
	if _, err := db.ExecContext(t.Context(), ddl); err != nil {
		t.Fatalf("run ddl: %v\n%s", err, ddl)
	}
	if got, want := queryInt(t, db, "SELECT count(*) FROM azure_audit"), int64(testdataGood); got != want {
		t.Errorf("rows in view azure_audit = %d, want %d", got, want)
	}
	if got, want := queryInt(t, db, "SELECT count(DISTINCT p_row_id) FROM azure_audit"), int64(testdataGood); got != want {
		t.Errorf("distinct p_row_id = %d, want %d", got, want)
	}
	if got, want := queryInt(t, db, "SELECT count(*) FROM azure_audit_quarantine"), int64(testdataQuarantined); got != want {
		t.Errorf("rows in view azure_audit_quarantine = %d, want %d", got, want)
	}
	var role, upn, dateType, hourType string
	err := db.QueryRowContext(t.Context(), `
		SELECT trim(properties.targetResources[1].modifiedProperties[2].newValue, '"'),
		       properties.initiatedBy."user".userPrincipalName, typeof("date"), typeof("hour")
		FROM azure_audit WHERE properties.activityDisplayName = 'Add member to role'`).Scan(&role, &upn, &dateType, &hourType)
	if err != nil {
		t.Fatal(err)
	}
	if role != "Global Administrator" || upn != "it.admin@fabrikam.example" || dateType != "DATE" || hourType != "INTEGER" {
		t.Errorf("nested access = %q, %q, partitions %s/%s; want Global Administrator, it.admin@fabrikam.example, DATE/INTEGER", role, upn, dateType, hourType)
	}
	// The view's column types are the ones the DDL declares.
	var level, props string
	if err := db.QueryRowContext(t.Context(), `SELECT typeof("Level"), typeof(properties.targetResources) FROM azure_audit LIMIT 1`).Scan(&level, &props); err != nil {
		t.Fatal(err)
	}
	if level != "BIGINT" || !strings.HasPrefix(props, "STRUCT(displayName VARCHAR, id VARCHAR, modifiedProperties STRUCT(oldValue VARCHAR") {
		t.Errorf("types: Level %s, targetResources %s", level, props)
	}
}

// scannedFiles returns the "Scanning Files: n/m" of a DuckDB EXPLAIN.
func scannedFiles(t *testing.T, plan string) (n, total int) {
	t.Helper()
	m := regexp.MustCompile(`Scanning Files:\s*(\d+)/(\d+)`).FindStringSubmatch(plan)
	if m == nil {
		t.Fatalf("no 'Scanning Files' in plan:\n%s", plan)
	}
	n, _ = strconv.Atoi(m[1])
	total, _ = strconv.Atoi(m[2])
	return n, total
}

func explain(t *testing.T, q string) string {
	t.Helper()
	return "EXPLAIN " + q
}

// TestDuckDBFeatures checks what analysts rely on in DuckDB: hive partition
// pruning, nested field access, list unnesting, json_extract on json
// columns and timestamp comparisons in UTC.
func TestDuckDBFeatures(t *testing.T) {
	lake := buildTestdataLake(t)
	db := openDuckDB(t)
	from := readParquet(lake, tableDir)

	t.Run("partition pruning", func(t *testing.T) {
		for _, q := range []string{
			"SELECT count(*) FROM " + from + " WHERE category = 'AuditLogs'",
			"SELECT count(*) FROM " + from + " WHERE \"date\" = '2025-04-14'",
		} {
			var key, plan string
			if err := db.QueryRowContext(t.Context(), explain(t, q)).Scan(&key, &plan); err != nil {
				t.Fatal(err)
			}
			n, total := scannedFiles(t, plan)
			if n == 0 || n >= total {
				t.Errorf("%s: scans %d of %d files, want fewer than all", q, n, total)
			}
		}
		if got, want := queryInt(t, db, "SELECT count(*) FROM "+from+" WHERE category = 'AuditLogs'"), int64(11); got != want {
			t.Errorf("AuditLogs rows = %d, want %d", got, want)
		}
	})
	t.Run("nested access", func(t *testing.T) {
		if got, want := queryInt(t, db, "SELECT count(*) FROM "+from+" WHERE properties.mfaDetail.authMethod IS NOT NULL"), int64(0); got <= want {
			t.Errorf("rows with properties.mfaDetail.authMethod = %d, want some", got)
		}
		if got, want := queryInt(t, db, `SELECT count(*) FROM `+from+` WHERE properties.initiatedBy."user".userPrincipalName = 'it.admin@fabrikam.example'`), int64(1); got < want {
			t.Errorf("rows initiated by it.admin = %d, want at least %d", got, want)
		}
	})
	t.Run("unnest", func(t *testing.T) {
		q := `SELECT count(*) FROM (SELECT unnest(properties.targetResources) AS tr FROM ` + from + ` WHERE category = 'AuditLogs') WHERE tr.type = 'User'`
		if got := queryInt(t, db, q); got < 2 {
			t.Errorf("User target resources = %d, want at least 2", got)
		}
		q = `SELECT count(*) FROM (SELECT unnest(tr.modifiedProperties) AS mp FROM (SELECT unnest(properties.targetResources) AS tr FROM ` + from + `)) WHERE mp.displayName = 'Role.DisplayName'`
		if got, want := queryInt(t, db, q), int64(1); got != want {
			t.Errorf("Role.DisplayName modified properties = %d, want %d", got, want)
		}
	})
	t.Run("json_extract", func(t *testing.T) {
		q := `SELECT count(*) FROM ` + from + ` WHERE json_extract(properties.status, '$.errorCode')::BIGINT = 50126`
		if got, want := queryInt(t, db, q), int64(1); got != want {
			t.Errorf("errorCode 50126 = %d, want %d", got, want)
		}
		q = `SELECT count(*) FROM ` + from + ` WHERE json_extract_string(properties.location, '$.countryOrRegion') = 'FR'`
		if got, want := queryInt(t, db, q), int64(2); got != want {
			t.Errorf("sign-ins from FR = %d, want %d", got, want)
		}
	})
	t.Run("timestamps in UTC", func(t *testing.T) {
		// 2025-04-11 18:04:12.12Z is 20:04:12.12 in Paris: comparing with an
		// explicit offset and with UTC must agree.
		q := `SELECT count(*) FROM ` + from + ` WHERE "time" = TIMESTAMPTZ '2025-04-11 20:04:12.12+02:00'`
		if got, want := queryInt(t, db, q), int64(1); got != want {
			t.Errorf("rows at 20:04:12.12+02:00 = %d, want %d", got, want)
		}
		q = `SELECT count(*) FROM ` + from + ` WHERE p_event_time >= TIMESTAMPTZ '2025-04-11 18:00:00Z' AND p_event_time < TIMESTAMPTZ '2025-04-11 19:00:00Z'`
		if got, want := queryInt(t, db, q), int64(4); got != want {
			t.Errorf("rows in 18:00-19:00 UTC = %d, want %d", got, want)
		}
		q = `SELECT count(*) FROM ` + from + ` WHERE hour(p_event_time) <> CAST("hour" AS INTEGER) OR CAST(p_event_time AS DATE) <> CAST("date" AS DATE)`
		if got := queryInt(t, db, q); got != 0 {
			t.Errorf("%d rows whose UTC hour or date differs from their partition", got)
		}
	})
}

// TestDayPartitions runs the testdata with --partition day, registers the
// lake with `ddl --partition day` in DuckDB and checks: the files sit in
// category=/date= folders only, the view holds the same rows as a lake
// partitioned by hour (same values in every column but the partition
// columns and p_parse_time), and each row's date is its event's UTC date.
func TestDayPartitions(t *testing.T) {
	src := absPath(t, testdataExport)
	dayLake, hourLake := t.TempDir(), buildTestdataLake(t)
	runEntralake(t, "run", "--source", src, "--lake", dayLake, "--data-dir", t.TempDir(), "--once", "--partition", "day")
	dayFile := regexp.MustCompile(`^azure_audit/category=[^/]+/date=\d{4}-\d{2}-\d{2}/[^/.][^/]*\.parquet$`)
	files := 0
	err := filepath.WalkDir(filepath.Join(dayLake, tableDir), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dayLake, p)
		if files++; !dayFile.MatchString(filepath.ToSlash(rel)) {
			t.Errorf("%s: outside the layout category=C/date=D/*.parquet", rel)
		}
		return nil
	})
	if err != nil || files == 0 {
		t.Fatalf("walk %s: %d files, %v", dayLake, files, err)
	}

	ddl, _ := runEntralake(t, "ddl", "--engine", "duckdb", "--lake", dayLake, "--partition", "day")
	db := openDuckDB(t)
	if _, err := db.ExecContext(t.Context(), ddl); err != nil {
		t.Fatalf("run ddl: %v\n%s", err, ddl)
	}
	if got, want := queryInt(t, db, "SELECT count(*) FROM azure_audit"), int64(testdataGood); got != want {
		t.Errorf("rows = %d, want %d", got, want)
	}
	if got := queryInt(t, db, `SELECT count(*) FROM azure_audit WHERE "date" <> CAST(timezone('UTC', p_event_time) AS DATE)`); got != 0 {
		t.Errorf("%d rows whose date partition is not their event's UTC date", got)
	}
	if queryInt(t, db, `SELECT count(*) FROM (DESCRIBE azure_audit) WHERE column_name = 'hour'`) != 0 {
		t.Error("the day view has an hour column")
	}
	// Every row is the same as in the hourly lake, column for column
	// (but p_parse_time, the time of each run).
	hourDDL, _ := runEntralake(t, "ddl", "--engine", "duckdb", "--lake", hourLake, "--table", "hourly")
	if _, err := db.ExecContext(t.Context(), hourDDL); err != nil {
		t.Fatalf("run ddl: %v\n%s", err, hourDDL)
	}
	const day, hour = `SELECT * EXCLUDE ("date", p_parse_time) FROM azure_audit`, `SELECT * EXCLUDE ("date", "hour", p_parse_time) FROM hourly`
	if got := queryInt(t, db, "SELECT count(*) FROM (("+day+" EXCEPT ALL "+hour+") UNION ALL ("+hour+" EXCEPT ALL "+day+"))"); got != 0 {
		t.Errorf("%d rows differ between the day and the hour lake", got)
	}
	if got := queryInt(t, db, "SELECT count(*) FROM hourly"); got != int64(testdataGood) {
		t.Errorf("hourly rows = %d, want %d", got, testdataGood)
	}
}

// TestDuckDBDDLCleanLakes runs the DuckDB DDL on lakes without quarantine
// files (the normal case: nothing was quarantined) and without any row (an
// export with no record): every statement must run and the views must
// count what the lake holds, zero included. Before, read_parquet refused
// the quarantine glob that matched no file, and the script failed. The
// table folders exist too, for engines that register a table on a folder
// (Trino's external_location refuses a missing one).
func TestDuckDBDDLCleanLakes(t *testing.T) {
	clean := t.TempDir()
	runEntralake(t, "gen", "--records", "40", "--hours", "1", "--categories", "SignInLogs,AuditLogs", "--out", clean)
	empty := t.TempDir()
	if err := os.MkdirAll(filepath.Join(empty, "insights-logs-signinlogs"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, src  string
		rows       int64
		partitions string
	}{
		{"no quarantine", clean, 40, "hour"},
		{"no quarantine, by day", clean, 40, "day"},
		{"no rows", empty, 0, "hour"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lake := t.TempDir()
			runEntralake(t, "run", "--source", tc.src, "--lake", lake, "--data-dir", t.TempDir(), "--once", "--partition", tc.partitions)
			if n := len(parquetFiles(t, filepath.Join(lake, quarantineDir))); n != 0 {
				t.Fatalf("the lake has %d quarantine files: not the case under test", n)
			}
			for _, dir := range []string{tableDir, quarantineDir} {
				if fi, err := os.Stat(filepath.Join(lake, dir)); err != nil || !fi.IsDir() {
					t.Errorf("table folder %s: %v", dir, err)
				}
			}
			ddl, _ := runEntralake(t, "ddl", "--engine", "duckdb", "--lake", lake, "--partition", tc.partitions)
			db := openDuckDB(t)
			if _, err := db.ExecContext(t.Context(), ddl); err != nil {
				t.Fatalf("run ddl: %v", err)
			}
			if got := queryInt(t, db, "SELECT count(*) FROM azure_audit"); got != tc.rows {
				t.Errorf("rows in azure_audit = %d, want %d", got, tc.rows)
			}
			if got := queryInt(t, db, "SELECT count(*) FROM azure_audit_quarantine"); got != 0 {
				t.Errorf("rows in azure_audit_quarantine = %d, want 0", got)
			}
			// The empty files add no partition value either.
			if got := queryInt(t, db, "SELECT count(*) FROM azure_audit WHERE date = DATE '1970-01-01'"); got != 0 {
				t.Errorf("rows on 1970-01-01 = %d", got)
			}
		})
	}
}
