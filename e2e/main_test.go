package e2e

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	_ "github.com/duckdb/duckdb-go/v2" // registers the "duckdb" database/sql driver
)

// runTimeout bounds every run of the binary.
const runTimeout = 5 * time.Minute

// binPath is the entralake binary under test, set by TestMain.
var binPath string

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	if p := os.Getenv("E2E_ENTRALAKE_BIN"); p != "" {
		abs, err := filepath.Abs(p)
		if err != nil {
			fmt.Fprintf(os.Stderr, "e2e: E2E_ENTRALAKE_BIN: %v\n", err)
			return 1
		}
		binPath = abs
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "entralake-e2e-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		return 1
	}
	defer os.RemoveAll(dir)
	binPath = filepath.Join(dir, "entralake")
	if runtime.GOOS == "windows" {
		binPath += ".exe"
	}
	if err := buildBinary(binPath); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		return 1
	}
	return m.Run()
}

// buildBinary builds ../cmd/entralake into out. The build runs in the main
// module's directory: from inside this module the go command would refuse
// a package of another module.
func buildBinary(out string) error {
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./cmd/entralake")
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "GOWORK=off")
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build ./cmd/entralake: %w\n%s", err, buf.Bytes())
	}
	return nil
}

// childEnv is the environment of the binary: ours without any ENTRALAKE_*
// variable, so that every setting of a test comes from its flags.
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ENTRALAKE_") {
			env = append(env, kv)
		}
	}
	return env
}

// runEntralake runs the binary with args and returns its stdout and stderr.
// It fails the test, showing both, when the binary exits non-zero or runs
// longer than runTimeout.
func runEntralake(t *testing.T, args ...string) (stdout, stderr string) {
	t.Helper()
	stdout, stderr, code := runEntralakeCode(t, args...)
	if code != 0 {
		t.Fatalf("entralake %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, stdout, stderr)
	}
	return stdout, stderr
}

// runEntralakeCode runs the binary with args and returns its stdout,
// stderr and exit code; it fails the test only when the binary cannot run
// or runs longer than runTimeout.
func runEntralakeCode(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), runTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, args...)
	cmd.Env = childEnv()
	cmd.WaitDelay = 10 * time.Second
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	start := time.Now()
	err := cmd.Run()
	elapsed := time.Since(start).Round(time.Millisecond)
	name := "entralake " + strings.Join(args, " ")
	var exit *exec.ExitError
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		t.Fatalf("%s: still running after %s\nstdout:\n%s\nstderr:\n%s", name, runTimeout, out.Bytes(), errOut.Bytes())
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatalf("%s: %v", name, err)
	}
	t.Logf("%s: exit %d after %s\nstdout:\n%s\nstderr (%d bytes):\n%s", name, code, elapsed, out.Bytes(), errOut.Len(), tail(errOut.Bytes(), 4<<10))
	return out.String(), errOut.String(), code
}

// runOnce runs "entralake run --once" from source into lake with dataDir.
func runOnce(t *testing.T, source, lake, dataDir string) {
	t.Helper()
	runEntralake(t, "run", "--source", source, "--lake", lake, "--data-dir", dataDir, "--once")
}

// tail returns the last n bytes of b.
func tail(b []byte, n int) []byte {
	if len(b) <= n {
		return b
	}
	return append([]byte("…"), b[len(b)-n:]...)
}

// absPath resolves a path relative to this package's directory.
func absPath(t *testing.T, rel string) string {
	t.Helper()
	p, err := filepath.Abs(rel)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// openDuckDB opens an in-memory DuckDB for reading a lake. It keeps one
// connection so that session settings (the UTC time zone) hold for every query.
func openDuckDB(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatalf("open duckdb: %v", err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	if _, err := db.ExecContext(t.Context(), "SET TimeZone = 'UTC'"); err != nil {
		t.Fatalf("duckdb: set time zone: %v", err)
	}
	return db
}

// sqlString quotes s as an SQL string literal.
func sqlString(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// Lake tables, as paths under the lake root.
const (
	tableDir      = "azure_audit"
	quarantineDir = "azure_audit_quarantine"
)

// readParquet is the FROM clause that reads one lake table with its hive
// partition columns, all of them as VARCHAR.
func readParquet(lake, table string) string {
	glob := filepath.ToSlash(filepath.Join(lake, table)) + "/**/*.parquet"
	return fmt.Sprintf("read_parquet(%s, hive_partitioning = true, hive_types_autocast = false)", sqlString(glob))
}

// parquetFiles lists the .parquet files under dir; none when dir is absent.
func parquetFiles(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() && strings.HasSuffix(d.Name(), ".parquet") {
			files = append(files, p)
		}
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("list %s: %v", dir, err)
	}
	return files
}

// queryInt runs a query that returns one integer.
func queryInt(t *testing.T, db *sql.DB, query string) int64 {
	t.Helper()
	var n int64
	if err := db.QueryRowContext(t.Context(), query).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// tableCounts are the row counts of a lake table.
type tableCounts struct {
	Rows     int64 // rows
	RowIDs   int64 // distinct non-empty p_row_id values
	Files    int   // parquet files
	Present  bool  // the table has at least one parquet file
	FromGlob string
}

// countTable counts the rows and the distinct p_row_id of one lake table.
// A table without any parquet file has no rows.
func countTable(t *testing.T, db *sql.DB, lake, table string) tableCounts {
	t.Helper()
	files := parquetFiles(t, filepath.Join(lake, table))
	c := tableCounts{Files: len(files), Present: len(files) > 0, FromGlob: readParquet(lake, table)}
	if !c.Present {
		return c
	}
	q := "SELECT count(*), count(DISTINCT nullif(p_row_id, '')) FROM " + c.FromGlob
	if err := db.QueryRowContext(t.Context(), q).Scan(&c.Rows, &c.RowIDs); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return c
}
