package e2e

import (
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// s3Server is a versitygw (the S3 gateway scripts/test.sh installs into
// .tools/bin) on a loopback port, with bucket "lake"; its posix backend
// keeps object k of the bucket as the file <dir>/lake/k, which DuckDB
// reads directly.
type s3Server struct {
	endpoint, dir string
}

// S3 test credentials (not secrets).
var s3Env = []string{"AWS_ACCESS_KEY_ID=e2e", "AWS_SECRET_ACCESS_KEY=e2e-secret", "AWS_REGION=us-east-1",
	"AWS_CONFIG_FILE=" + os.DevNull, "AWS_SHARED_CREDENTIALS_FILE=" + os.DevNull, "AWS_EC2_METADATA_DISABLED=true"}

func startS3(t *testing.T) *s3Server {
	t.Helper()
	bin := os.Getenv("ENTRALAKE_VERSITYGW_BIN")
	if bin == "" {
		_, file, _, _ := runtime.Caller(0)
		bin = filepath.Join(filepath.Dir(file), "..", ".tools", "bin", "versitygw")
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("versitygw: %v (scripts/test.sh installs it)", err)
	}
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "lake"), 0o755); err != nil { // the bucket
		t.Fatal(err)
	}
	port := freePort(t)
	cmd := exec.Command(bin, "--port", "127.0.0.1:"+strconv.Itoa(port), "--health", "/health", "--quiet", "posix", dir)
	cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY_ID=e2e", "ROOT_SECRET_ACCESS_KEY=e2e-secret")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	ep := "http://127.0.0.1:" + strconv.Itoa(port)
	for deadline := time.Now().Add(60 * time.Second); ; {
		if resp, err := http.Get(ep + "/health"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("versitygw did not answer within 60s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	return &s3Server{endpoint: ep, dir: dir}
}

// lake returns the lake URL of folder in bucket "lake", and the local
// folder that holds its objects.
func (s *s3Server) lake(folder string) (string, string) {
	return "s3://lake/" + folder + "?endpoint=" + s.endpoint + "&use_path_style=true&region=us-east-1",
		filepath.Join(s.dir, "lake", filepath.FromSlash(folder))
}

// TestCrashS3 is the crash test's subset on an S3 lake (versitygw): a
// lister, a parser and a writer as separate processes on a replay of
// E2E_S3_RECORDS (20000) records, the writer SIGKILLed E2E_S3_KILLS (4)
// times mid-run and restarted; then every record must be in the lake
// exactly once (DuckDB), nothing but finished Parquet files under the
// tables; then compact merges the files on S3 and every record is still
// there once.
func TestCrashS3(t *testing.T) {
	records := envInt(t, "E2E_S3_RECORDS", 20000)
	kills := envInt(t, "E2E_S3_KILLS", 4)
	srv := startS3(t)
	dir := t.TempDir()
	src, natsDir := filepath.Join(dir, "export"), filepath.Join(dir, "nats")
	runEntralake(t, "gen", "--records", strconv.Itoa(records), "--out", src, "--seed", "20251205", "--hours", "6")
	lakeURL, lake := srv.lake("entra")
	port := freePort(t)
	natsURL := fmt.Sprintf("nats://127.0.0.1:%d", port)
	queue := append([]string{"ENTRALAKE_SHUTDOWN_TIMEOUT=20s", "ENTRALAKE_LOG_FORMAT=text", "ENTRALAKE_LOG_LEVEL=warn"}, s3Env...)
	server := &proc{name: "nats-server", args: []string{"nats-server", "--listen", fmt.Sprintf("127.0.0.1:%d", port), "--data-dir", natsDir}}
	lister := &proc{name: "lister", args: []string{"lister", "--nats", natsURL, "--source", src, "--once", "--task-size", "262144"}, env: queue}
	parser := &proc{name: "parser", args: []string{"parser", "--nats", natsURL, "--source", src, "--parsers", "2"}, env: queue}
	writer := &proc{name: "writer", args: []string{"writer", "--nats", natsURL, "--lake", lakeURL, "--roll-age", "1s", "--roll-rows", "500"}, env: queue}
	all := []*proc{server, writer, parser, lister}
	for _, p := range all {
		p.start(t)
	}
	defer func() {
		for _, p := range all {
			if ok, _ := p.exited(); !ok {
				p.signal(syscall.SIGKILL, 5*time.Second)
			}
			if t.Failed() {
				t.Logf("%s output:\n%s", p.name, p.logTail())
			}
		}
	}()
	// Kill the writer once files are appearing, then again at random.
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 11))
	deadline := time.Now().Add(2 * time.Minute)
	for n := 0; n < kills; {
		if time.Now().After(deadline) {
			t.Fatalf("%d kills of %d within 2 minutes", n, kills)
		}
		time.Sleep(time.Duration(200+rng.IntN(600)) * time.Millisecond)
		if len(parquetFiles(t, filepath.Join(lake, tableDir))) == 0 {
			continue
		}
		if exited, _ := writer.signal(syscall.SIGKILL, 10*time.Second); !exited {
			t.Fatal("writer survived SIGKILL")
		}
		n++
		writer.start(t)
	}
	if !waitDrained(t, natsURL, 3*time.Minute) {
		t.FailNow()
	}
	if exited, err := writer.signal(syscall.SIGTERM, 30*time.Second); !exited || err != nil {
		t.Errorf("writer after SIGTERM: exited=%v err=%v", exited, err)
	}
	check := func(when string) int {
		db := openDuckDB(t)
		defer db.Close()
		rows := countTable(t, db, lake, tableDir)
		t.Logf("%s: %d rows, %d distinct ids, %d files", when, rows.Rows, rows.RowIDs, rows.Files)
		if rows.Rows != int64(records) || rows.RowIDs != rows.Rows {
			t.Fatalf("%s: rows=%d distinct=%d, want %d once each", when, rows.Rows, rows.RowIDs, records)
		}
		_ = filepath.WalkDir(lake, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				if d != nil && d.IsDir() && strings.HasPrefix(d.Name(), ".") && p != lake {
					return fs.SkipDir // the compaction's journal folder (checked below)
				}
				return nil
			}
			rel, _ := filepath.Rel(lake, p)
			if rel != lakeMarker && !strings.Contains(rel, ".empty"+string(filepath.Separator)) &&
				(!strings.HasSuffix(rel, ".parquet") || strings.HasPrefix(d.Name(), ".")) {
				t.Errorf("%s: stray object in the lake: %s", when, rel)
			}
			return nil
		})
		return rows.Files
	}
	before := check("after the kills")
	comp := &proc{name: "compact", args: []string{"compact", "--lake", lakeURL, "--nats", natsURL, "--log-level", "warn"}, env: s3Env}
	comp.start(t)
	for end := time.Now().Add(2 * time.Minute); ; time.Sleep(100 * time.Millisecond) {
		if ok, err := comp.exited(); ok {
			if err != nil {
				t.Fatalf("compact: %v\n%s", err, comp.logTail())
			}
			break
		}
		if time.Now().After(end) {
			t.Fatal("compact did not end within 2 minutes")
		}
	}
	t.Log(comp.logTail())
	if after := check("after compaction"); after >= before {
		t.Errorf("compaction left %d files of %d", after, before)
	}
	if _, err := os.Stat(filepath.Join(lake, ".compact")); err == nil {
		if ents, _ := os.ReadDir(filepath.Join(lake, ".compact")); len(ents) > 0 {
			t.Errorf("compaction left %d objects in .compact", len(ents))
		}
	}
}
