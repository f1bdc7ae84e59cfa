package cli

// Iceberg mode end to end: run and writer processes committing to Iceberg
// tables, read back with iceberg-go's scan.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/entralake/entralake/internal/azurite"
	iceberglake "github.com/entralake/entralake/lake/iceberg"
	"github.com/entralake/entralake/schema"
	"github.com/entralake/entralake/workers"
)

// testPostgres returns the test cluster's URL (scripts/test.sh starts
// one). Without one the test skips, saying why, except under CI.
func testPostgres(t *testing.T) string {
	t.Helper()
	u := os.Getenv("ENTRALAKE_TEST_POSTGRES")
	if u == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("ENTRALAKE_TEST_POSTGRES is not set: CI must run the PostgreSQL catalog tests (scripts/test.sh starts a cluster)")
		}
		t.Skip("ENTRALAKE_TEST_POSTGRES is not set: run through scripts/test.sh (make test), which starts PostgreSQL")
	}
	return u
}

// uniqueLake returns a new lake folder whose name (the tables' namespace
// in an SQL catalog) no other test uses.
func uniqueLake(t *testing.T) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return filepath.Join(t.TempDir(), "lake_"+hex.EncodeToString(b[:]))
}

// tableState is what a reader of an Iceberg table sees.
type tableState struct {
	snapshot int64           // current snapshot id, 0 for none
	rows     map[string]bool // p_row_id of every row
	n        int             // rows
}

// readTables opens the lake's tables (as a reader would, through the
// catalog) and scans the current snapshot of each.
func readTables(t *testing.T, lake, catalog string) (main, quarantine tableState) {
	t.Helper()
	lt, err := schema.Load("Azure.Audit")
	if err != nil {
		t.Fatal(err)
	}
	l, err := iceberglake.Open(t.Context(), iceberglake.Config{Lake: lake, Catalog: catalog, LogType: lt})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return scanTable(t, l.Main), scanTable(t, l.Quarantine)
}

func scanTable(t *testing.T, tab *iceberglake.Table) tableState {
	t.Helper()
	tbl, err := tab.Refresh(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	st := tableState{rows: map[string]bool{}}
	if s := tbl.CurrentSnapshot(); s != nil {
		st.snapshot = s.SnapshotID
	}
	at, err := tbl.Scan().ToArrowTable(t.Context())
	if err != nil {
		t.Fatalf("scan %s: %v", tab.Name(), err)
	}
	defer at.Release()
	tr := array.NewTableReader(at, 1<<16)
	defer tr.Release()
	for tr.Next() {
		rec := tr.RecordBatch()
		col := rec.Column(rec.Schema().FieldIndices(schema.ColRowID)[0]).(*array.String)
		for i := range col.Len() {
			if st.rows[col.Value(i)] {
				t.Errorf("%s: row %s twice", tab.Name(), col.Value(i))
			}
			st.rows[col.Value(i)] = true
			st.n++
		}
	}
	return st
}

// dataFiles counts the Parquet files under a lake folder.
func dataFiles(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".parquet") {
			n++
		}
		return err
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	return n
}

// runMain runs entralake with args and fails the test unless it exits 0.
func runMain(t *testing.T, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	if code := Main(args, &out, &errb); code != 0 {
		t.Fatalf("entralake %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out.String(), errb.String())
	}
	return out.String()
}

// TestIcebergRunOnce runs `run --once --table-format iceberg` on the
// sample export, in each catalog: the tables hold exactly the rows parquet
// mode writes; a second run adds nothing (no new snapshot), nor does a
// run with a new data dir on the same tables (--join-lake: its state has
// read nothing, the tables know every batch).
func TestIcebergRunOnce(t *testing.T) {
	parquetLake := t.TempDir()
	rows, quarantined, _ := runOnceCounts(t, parquetLake, "--source", "../../testdata/export", "--data-dir", t.TempDir())
	if rows == 0 || quarantined == 0 {
		t.Fatalf("parquet mode wrote %d rows, %d quarantined: the sample export should give both", rows, quarantined)
	}
	catalogs := map[string]func(t *testing.T) string{
		"file":     func(*testing.T) string { return "" },
		"sqlite":   func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "catalog.db") },
		"postgres": testPostgres,
	}
	for name, catalog := range catalogs {
		t.Run(name, func(t *testing.T) {
			cat := catalog(t)
			lake, state := uniqueLake(t), t.TempDir()
			args := []string{"run", "--source", "../../testdata/export", "--lake", lake, "--once", "--log-level", "warn", "--table-format", "iceberg", "--catalog", cat}
			runMain(t, append(args, "--data-dir", state)...)
			main, q := readTables(t, lake, cat)
			if main.n != rows || q.n != quarantined {
				t.Fatalf("iceberg tables hold %d rows, %d quarantined; parquet mode wrote %d, %d", main.n, q.n, rows, quarantined)
			}
			files := dataFiles(t, lake)

			runMain(t, append(args, "--data-dir", state)...)
			again, qAgain := readTables(t, lake, cat)
			if again.snapshot != main.snapshot || qAgain.snapshot != q.snapshot || again.n != rows {
				t.Errorf("second run: snapshots %d, %d (were %d, %d), %d rows: it changed the tables", again.snapshot, qAgain.snapshot, main.snapshot, q.snapshot, again.n)
			}

			out := runMain(t, append(args, "--data-dir", t.TempDir(), "--join-lake")...)
			fresh, qFresh := readTables(t, lake, cat)
			if fresh.snapshot != main.snapshot || qFresh.snapshot != q.snapshot || fresh.n != rows {
				t.Errorf("run with a new data dir: snapshots %d, %d (were %d, %d), %d rows: it changed the tables", fresh.snapshot, qFresh.snapshot, main.snapshot, q.snapshot, fresh.n)
			}
			if n := dataFiles(t, lake); n != files {
				t.Errorf("run with a new data dir wrote %d data files (%d before, %d after); the tables held every batch:\n%s", n-files, files, n, out)
			}
		})
	}
}

// TestIcebergBadCatalog: a catalog that cannot be used ends `run --once`
// at start, with one line naming it and a non-zero exit, and nothing is
// written to the lake.
func TestIcebergBadCatalog(t *testing.T) {
	for _, tc := range []struct {
		name, catalog string
		exit          int
		mention       string
	}{
		{"unknown scheme", "mysql://h/db", ExitUsage, "--catalog"},
		{"sqlite without a path", "sqlite:", ExitUsage, "sqlite:PATH"},
		{"malformed URL", "postgres://%zz", ExitUsage, "--catalog"},
		{"postgres unreachable", "postgres://u:s3cret@" + closedAddr(t) + "/db?sslmode=disable", ExitFailure, "connection refused"},
		{"sqlite in a missing folder", "sqlite:" + filepath.Join(t.TempDir(), "missing", "c.db"), ExitFailure, "catalog"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lake := filepath.Join(t.TempDir(), "lake")
			var out, errb bytes.Buffer
			code := Main([]string{"run", "--source", "../../testdata/export", "--lake", lake, "--data-dir", t.TempDir(), "--once",
				"--log-level", "error", "--table-format", "iceberg", "--catalog", tc.catalog}, &out, &errb)
			msg := strings.TrimSpace(errb.String())
			if code != tc.exit || strings.Count(msg, "\n") > 0 || !strings.Contains(msg, tc.mention) {
				t.Errorf("exit %d (want %d), stderr %q: want one line mentioning %q", code, tc.exit, msg, tc.mention)
			}
			if strings.Contains(msg, "s3cret") {
				t.Errorf("the error shows the password: %s", msg)
			}
			if n := dataFiles(t, lake); n > 0 {
				t.Errorf("%d files written", n)
			}
			if entries, _ := os.ReadDir(lake); len(entries) > 0 {
				t.Errorf("the lake folder holds %d entries", len(entries))
			}
		})
	}
	var out, errb bytes.Buffer
	if code := Main([]string{"run", "--source", "x", "--lake", "y", "--catalog", "sqlite:c.db"}, &out, &errb); code != ExitUsage || !strings.Contains(errb.String(), "--table-format iceberg") {
		t.Errorf("--catalog without --table-format iceberg: exit %d, %q", code, errb.String())
	}
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	return "127.0.0.1:1"
}

// TestIcebergTwoWriters runs two writer processes (each with its own
// catalog connection) on one NATS server, committing small files to the
// same tables while a parser feeds them, in the file catalog and in
// PostgreSQL: every row is in the table exactly once.
func TestIcebergTwoWriters(t *testing.T) {
	src := t.TempDir()
	runMain(t, "gen", "--records", "6000", "--hours", "4", "--out", src, "--log-level", "warn")
	for name, catalog := range map[string]func(t *testing.T) string{
		"file":     func(*testing.T) string { return "" },
		"postgres": testPostgres,
	} {
		t.Run(name, func(t *testing.T) {
			cat := catalog(t)
			lake := uniqueLake(t)
			q := QueueFlags{TaskAckWait: 10 * time.Second, BatchAckWait: 10 * time.Second, MaxDeliver: 5, ShutdownTimeout: 30 * time.Second}
			url, _ := startJetStream(t, q)
			ctx, cancel := context.WithCancel(t.Context())
			env := &Env{Ctx: ctx, Log: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})), Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}}
			tf := TableFlags{TableFormat: formatIceberg, Catalog: cat}
			var writers []*process
			for range 2 {
				// Small files, each its own commit: the two writers'
				// commits meet.
				wf := WriterFlags{Lake: lake, RollSize: 96 << 20, RollRows: 400, RollAge: 200 * time.Millisecond, ZstdLevel: 1, ParquetDelta: true, WriterBatches: 4}
				p, err := begin(env, processConfig{name: "writer", nats: url, queue: q, logType: LogTypeFlags{LogType: "Azure.Audit"},
					writer: &wf, writeBatches: 4, tick: 50 * time.Millisecond, table: tf})
				if err != nil {
					t.Fatal(err)
				}
				writers = append(writers, p)
			}
			var wg sync.WaitGroup
			for _, p := range writers {
				wg.Go(func() {
					if _, err := p.serve(); err != nil {
						t.Errorf("writer: %v", err)
					}
				})
			}
			lf, pf := ListerFlags{PollInterval: time.Minute, Recent: 48 * time.Hour}, ParserFlags{Parsers: 2, MaxRecordSize: 16 << 20, BatchRows: 200}
			sf := SourceFlags{Source: src}
			s, err := openSource(ctx, sf)
			if err != nil {
				t.Fatal(err)
			}
			pp, err := begin(env, processConfig{name: "parser", nats: url, queue: q, logType: LogTypeFlags{LogType: "Azure.Audit"},
				src: s, sourceFlags: sf, lister: &lf, parser: &pf})
			if err != nil {
				t.Fatal(err)
			}
			pp.runStages()
			if err := pp.lister.Pass(ctx, time.Time{}, time.Time{}); err != nil {
				t.Fatal(err)
			}
			waitEmpty(t, url)
			parsed, quarantined := pp.parser.Totals.Rows.Load(), pp.parser.Totals.Quarantined.Load()
			pp.close()
			cancel()
			wg.Wait()
			var files [2]int64
			for i, p := range writers {
				files[i] = p.writer.Totals.Files.Load()
				p.close()
			}
			main, qt := readTables(t, lake, cat)
			if int64(main.n) != parsed || int64(qt.n) != quarantined {
				t.Errorf("tables hold %d rows, %d quarantined; the parser made %d, %d", main.n, qt.n, parsed, quarantined)
			}
			if files[0] == 0 || files[1] == 0 {
				t.Errorf("files committed per writer: %v: both should have written", files)
			}
			t.Logf("%d rows, files per writer %v", main.n, files)
		})
	}
}

// TestIcebergAzure runs `run --once --table-format iceberg` into a lake
// in Azurite (the file catalog in the container, commits under the NATS
// lock) and reads the tables back.
func TestIcebergAzure(t *testing.T) {
	az := azurite.Start(t)
	t.Setenv("AZURE_STORAGE_CONNECTION_STRING", az.ConnectionString)
	parquetRows, parquetQ, _ := runOnceCounts(t, t.TempDir(), "--source", "../../testdata/export", "--data-dir", t.TempDir())
	lake := az.URL("lake") + "/entra"
	args := []string{"run", "--source", "../../testdata/export", "--lake", lake, "--once", "--log-level", "warn", "--table-format", "iceberg"}
	state := t.TempDir()
	runMain(t, append(args, "--data-dir", state)...)
	main, q := readTables(t, lake, "")
	if main.n != parquetRows || q.n != parquetQ {
		t.Fatalf("Azure iceberg tables hold %d rows, %d quarantined; parquet mode wrote %d, %d", main.n, q.n, parquetRows, parquetQ)
	}
	runMain(t, append(args, "--data-dir", state)...)
	if again, _ := readTables(t, lake, ""); again.snapshot != main.snapshot || again.n != main.n {
		t.Errorf("second run changed the table: snapshot %d -> %d, rows %d -> %d", main.snapshot, again.snapshot, main.n, again.n)
	}
}

// The locker is JetStream's (workers.Locker): a file catalog on object
// storage commits under it.
var _ iceberglake.Locker = (*workers.Locker)(nil)
