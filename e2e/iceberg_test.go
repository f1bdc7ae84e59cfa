package e2e

// Reading an Iceberg lake as an independent reader does: iceberg-go's own
// file catalog lists the current snapshot's data files, and DuckDB reads
// exactly those.

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/iceberg-go/catalog/hadoop"
	"github.com/apache/iceberg-go/table"
)

// snapshotFiles returns the data files of the current snapshot of the
// table <lake>/<name> in the file catalog (warehouse: the lake's parent;
// namespace: the lake folder's name), as iceberg-go plans a full scan.
func snapshotFiles(t *testing.T, lake, name string) []string {
	t.Helper()
	cat, err := hadoop.NewCatalog("e2e", filepath.Dir(lake), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	tbl, err := cat.LoadTable(t.Context(), table.Identifier{filepath.Base(lake), name})
	if err != nil {
		t.Fatalf("load iceberg table %s: %v", name, err)
	}
	if tbl.CurrentSnapshot() == nil {
		return nil
	}
	tasks, err := tbl.Scan().PlanFiles(t.Context())
	if err != nil {
		t.Fatalf("plan %s: %v", name, err)
	}
	var files []string
	for _, task := range tasks {
		if len(task.DeleteFiles) > 0 {
			t.Fatalf("%s: a data file with delete files: entralake writes none", name)
		}
		files = append(files, task.File.FilePath())
	}
	return files
}

// countIceberg counts the rows and distinct p_row_id of the current
// snapshot of <lake>/<name> with DuckDB, over exactly the snapshot's files.
func countIceberg(t *testing.T, db *sql.DB, lake, name string) tableCounts {
	t.Helper()
	files := snapshotFiles(t, lake, name)
	c := tableCounts{Files: len(files), Present: len(files) > 0}
	if !c.Present {
		return c
	}
	quoted := make([]string, len(files))
	for i, f := range files {
		quoted[i] = sqlString(f)
	}
	c.FromGlob = "read_parquet([" + strings.Join(quoted, ", ") + "], union_by_name = true)"
	q := "SELECT count(*), count(DISTINCT nullif(p_row_id, '')) FROM " + c.FromGlob
	if err := db.QueryRowContext(t.Context(), q).Scan(&c.Rows, &c.RowIDs); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return c
}

// icebergScan counts the table's rows with DuckDB's iceberg extension,
// if DuckDB can load it here (it is downloaded on first use: offline it
// cannot); the error says why not.
func icebergScan(t *testing.T, db *sql.DB, lake, name string) (int64, error) {
	t.Helper()
	if _, err := db.ExecContext(t.Context(), "INSTALL iceberg; LOAD iceberg"); err != nil {
		return 0, err
	}
	var n int64
	err := db.QueryRowContext(t.Context(), "SELECT count(*) FROM iceberg_scan("+sqlString(filepath.Join(lake, name))+")").Scan(&n)
	return n, err
}

// TestIcebirdReadsIceberg: icebird, an Iceberg reader in JavaScript that
// shares no code with iceberg-go, reads the tables `run --once
// --table-format iceberg` writes from the sample export: the same rows
// (by p_row_id) as DuckDB over the current snapshot's files, and the
// values of the first rows. scripts/test.sh installs icebird (pinned by
// e2e/icebird/package-lock.json); without it the test skips, except
// under CI.
func TestIcebirdReadsIceberg(t *testing.T) {
	if _, err := os.Stat("icebird/node_modules/icebird"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("icebird is not installed (scripts/test.sh installs it): %v", err)
		}
		t.Skipf("icebird is not installed: run scripts/test.sh (make test), which installs it: %v", err)
	}
	lake := filepath.Join(t.TempDir(), "lake")
	runEntralake(t, "run", "--source", "../testdata/export", "--lake", lake, "--data-dir", t.TempDir(), "--once", "--table-format", "iceberg")
	db := openDuckDB(t)
	for _, name := range []string{tableDir, quarantineDir} {
		want := countIceberg(t, db, lake, name)
		var ids []string
		rows, err := db.QueryContext(t.Context(), "SELECT p_row_id FROM "+want.FromGlob+" ORDER BY p_row_id")
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
		rows.Close()
		cmd := exec.CommandContext(t.Context(), "node", "icebird/read.mjs", filepath.Join(lake, name))
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("icebird on %s: %v\n%s", name, err, stderr.String())
		}
		var got struct {
			Rows         int              `json:"rows"`
			TotalRecords string           `json:"total_records"`
			RowIDs       []string         `json:"row_ids"`
			Sample       []map[string]any `json:"sample"`
		}
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("icebird output: %v\n%s", err, out)
		}
		if got.Rows == 0 || int64(got.Rows) != want.Rows || got.TotalRecords != strconv.FormatInt(want.Rows, 10) || !slices.Equal(got.RowIDs, ids) {
			t.Errorf("%s: icebird reads %d rows (summary total-records %s), DuckDB over the snapshot's files %d; same row ids: %v",
				name, got.Rows, got.TotalRecords, want.Rows, slices.Equal(got.RowIDs, ids))
		}
		for _, r := range got.Sample {
			if name == tableDir && (r["category"] == nil || r["p_event_time"] == nil || r["blob"] == nil) {
				t.Errorf("%s: icebird row without category, p_event_time or p_source_file.blob: %v", name, r)
			}
			if name == quarantineDir && r["reason"] == nil {
				t.Errorf("%s: icebird row without a reason: %v", name, r)
			}
		}
		t.Logf("icebird %s: %d rows; first: %v", name, got.Rows, got.Sample[0])
	}
}
