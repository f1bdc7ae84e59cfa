package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// failTimeout bounds a run that must fail fast: a run that retries a lake
// or source it can never use would go on forever.
const failTimeout = 2 * time.Minute

// exited is how a run of the binary ended.
type exited struct {
	code           int
	stdout, stderr string
}

// lastLine is the last line of stderr: the error line of a failed run.
func (e exited) lastLine() string {
	s := strings.TrimRight(e.stderr, "\n")
	return s[strings.LastIndexByte(s, '\n')+1:]
}

// started is a run of the binary in the background.
type started struct {
	cmd            *exec.Cmd
	stdout, stderr *syncBuffer
	done           chan struct{}
	err            error
}

// syncBuffer is a bytes.Buffer safe for a writer and readers at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// start runs the binary (prefixed by wrap, e.g. setpriv) in the background;
// the test's end kills it if it is still running.
func start(t *testing.T, wrap []string, args ...string) *started {
	t.Helper()
	argv := append(append([]string{}, wrap...), binPath)
	argv = append(argv, args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = childEnv()
	s := &started{cmd: cmd, stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = s.stdout, s.stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %v: %v", argv, err)
	}
	go func() {
		s.err = cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(func() {
		select {
		case <-s.done:
		default:
			_ = cmd.Process.Kill()
			<-s.done
		}
	})
	return s
}

// wait waits for the run to end, at most timeout, and returns how.
func (s *started) wait(t *testing.T, timeout time.Duration) exited {
	t.Helper()
	select {
	case <-s.done:
	case <-time.After(timeout):
		_ = s.cmd.Process.Signal(syscall.SIGQUIT) // a goroutine dump, for the log
		<-s.done
		t.Fatalf("%v: still running after %s\nstdout:\n%s\nstderr:\n%s", s.cmd.Args, timeout, s.stdout, tail([]byte(s.stderr.String()), 8<<10))
	}
	e := exited{code: 0, stdout: s.stdout.String(), stderr: s.stderr.String()}
	var ee *exec.ExitError
	if errors.As(s.err, &ee) {
		e.code = ee.ExitCode()
	} else if s.err != nil {
		t.Fatalf("%v: %v", s.cmd.Args, s.err)
	}
	t.Logf("%v: exit %d\nstdout:\n%s\nstderr (tail):\n%s", s.cmd.Args, e.code, e.stdout, tail([]byte(e.stderr), 2<<10))
	return e
}

// run runs the binary to its end, at most timeout.
func run(t *testing.T, timeout time.Duration, wrap []string, args ...string) exited {
	t.Helper()
	return start(t, wrap, args...).wait(t, timeout)
}

// TestStageFailureExitCode checks that a stage that fails while `run
// --once` runs (here the writer: a file stands where the table's folder
// should be, which the start-up probe of the lake cannot see) ends the run
// with exit 1 and one line that says what failed. `run` used to exit 0 when
// a stage failed, and this run used to retry forever.
func TestStageFailureExitCode(t *testing.T) {
	lake, data := t.TempDir(), t.TempDir()
	blocker := filepath.Join(lake, "azure_audit")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	e := run(t, failTimeout, nil, "run", "--source", absPath(t, testdataExport), "--lake", lake, "--data-dir", data, "--once")
	if e.code != 1 {
		t.Fatalf("exit code %d, want 1", e.code)
	}
	line := e.lastLine()
	for _, want := range []string{"entralake: ", blocker, "not a directory"} {
		if !strings.Contains(line, want) {
			t.Errorf("error line %q does not contain %q", line, want)
		}
	}
}

// TestUnusableStateFailsFast checks that a NATS URL that does not answer
// and a data dir that is a file fail with an error that names them.
func TestUnusableStateFailsFast(t *testing.T) {
	url := fmt.Sprintf("nats://127.0.0.1:%d", freePort(t))
	e := run(t, failTimeout, nil, "lister", "--nats", url, "--source", absPath(t, testdataExport), "--once")
	if e.code != 1 || !strings.Contains(e.lastLine(), url) || !strings.Contains(e.lastLine(), "no server answered within") {
		t.Errorf("unanswered NATS URL: exit %d, error %q; want 1 and an error naming %s", e.code, e.lastLine(), url)
	}
	file := filepath.Join(t.TempDir(), "state")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	e = run(t, failTimeout, nil, "run", "--source", absPath(t, testdataExport), "--lake", t.TempDir(), "--data-dir", file, "--once")
	if e.code != 1 || !strings.Contains(e.lastLine(), file) || !strings.Contains(e.lastLine(), "not a directory") {
		t.Errorf("data dir is a file: exit %d, error %q; want 1 and an error naming %s", e.code, e.lastLine(), file)
	}
}

// runStatus is the part of `status --json` these tests read.
type runStatus struct {
	Queue struct {
		Consumers map[string]struct {
			Pending  int `json:"pending"`
			InFlight int `json:"in_flight"`
		} `json:"consumers"`
		DeadLetters int `json:"dead_letters"`
	} `json:"queue"`
	Processes []struct {
		Stage   string `json:"stage"`
		PID     int    `json:"pid"`
		Ready   bool   `json:"ready"`
		Problem string `json:"problem"`
	} `json:"processes"`
}

// status runs `status --json` on a data dir.
func status(t *testing.T, dataDir string) (runStatus, exited) {
	t.Helper()
	e := run(t, failTimeout, nil, "status", "--data-dir", dataDir, "--json")
	var st runStatus
	if e.code == 0 {
		if err := json.Unmarshal([]byte(e.stdout), &st); err != nil {
			t.Fatalf("status --json: %v\n%s", err, e.stdout)
		}
	}
	return st, e
}

// waitForURL waits until the run s took the data dir and published its
// NATS URL. Before, status would open the data dir itself, and the run
// would find it in use.
func waitForURL(t *testing.T, s *started, data string) {
	t.Helper()
	for deadline := time.Now().Add(failTimeout); ; {
		if _, err := os.Stat(filepath.Join(data, "nats.url")); err == nil {
			return
		}
		select {
		case <-s.done:
			t.Fatalf("run ended: %s", tail([]byte(s.stderr.String()), 4<<10))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the run never published its NATS URL")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestDataDirInUse runs `run` in watch mode and checks that a second run
// on its data dir fails at once naming the first's pid, that `status`
// reads the running one (and lists it as a ready process), and that
// SIGTERM stops it with exit 0.
func TestDataDirInUse(t *testing.T) {
	src, lake, data := absPath(t, testdataExport), t.TempDir(), t.TempDir()
	first := start(t, nil, "run", "--source", src, "--lake", lake, "--data-dir", data, "--poll-interval", "1h")
	waitForURL(t, first, data)
	var st runStatus
	for deadline := time.Now().Add(failTimeout); ; {
		var e exited
		st, e = status(t, data)
		if e.code == 0 && len(st.Processes) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status never showed the running process: exit %d, %s", e.code, e.lastLine())
		}
		time.Sleep(200 * time.Millisecond)
	}
	pid := first.cmd.Process.Pid
	if p := st.Processes[0]; p.Stage != "run" || p.PID != pid || !p.Ready {
		t.Errorf("status lists %+v, want the ready run of pid %d", p, pid)
	}
	if !strings.Contains(first.stderr.String(), `"msg":"embedded NATS server","url":"nats://`) {
		t.Errorf("the embedded NATS server's URL is not logged:\n%s", first.stderr)
	}
	second := run(t, failTimeout, nil, "run", "--source", src, "--lake", t.TempDir(), "--data-dir", data, "--once")
	if want := fmt.Sprintf("entralake run (pid %d)", pid); second.code != 1 || !strings.Contains(second.lastLine(), want) {
		t.Errorf("second run: exit %d, error %q; want 1 and an error naming %q", second.code, second.lastLine(), want)
	}
	if err := first.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if e := first.wait(t, failTimeout); e.code != 0 {
		t.Errorf("watch mode after SIGTERM: exit %d, want 0", e.code)
	}
	// At rest, status opens the data dir itself.
	if _, e := status(t, data); e.code != 0 {
		t.Errorf("status on the data dir at rest: exit %d: %s", e.code, e.lastLine())
	}
}

// genExport writes a synthetic export big enough that a run of it can be
// interrupted midway.
func genExport(t *testing.T) string {
	t.Helper()
	src := filepath.Join(t.TempDir(), "export")
	runEntralake(t, "gen", "--records", "40000", "--hours", "4", "--seed", "18", "--out", src)
	return src
}

// waitForFile waits until the lake holds a Parquet file: the run is under
// way.
func waitForFile(t *testing.T, s *started, lake string) {
	t.Helper()
	// The main table's folder: not the empty files writers keep beside it
	// from the start (schema.EmptyFiles).
	for deadline := time.Now().Add(failTimeout); len(parquetFiles(t, filepath.Join(lake, tableDir))) == 0; {
		select {
		case <-s.done:
			t.Fatalf("the run ended before it wrote a file: %s", s.stderr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("no file in the lake")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestInterruptOnce interrupts `run --once` midway with SIGINT: it must exit
// 130 and say what it did and what is left; then the same command must
// finish the lake, each record once. Both runs hold messages for an hour
// before JetStream delivers them again (ack waits of 1h): a message left in
// flight by the interrupted run would stall the second one past the test's
// timeout (it took the 5-minute --batch-ack-wait before).
func TestInterruptOnce(t *testing.T) {
	src := genExport(t)
	ex := mustReadExport(t, src)
	for _, tc := range []struct{ name, shutdown string }{
		{"finish work in hand", "30s"},
		{"give back work in hand", "1ms"}, // parsers cut at once, nothing written
	} {
		t.Run(tc.name, func(t *testing.T) {
			lake, data := t.TempDir(), t.TempDir()
			args := []string{"run", "--source", src, "--lake", lake, "--data-dir", data, "--once", "--task-ack-wait", "1h", "--batch-ack-wait", "1h"}
			first := start(t, nil, append(args, "--shutdown-timeout", tc.shutdown)...)
			waitForFile(t, first, lake)
			if err := first.cmd.Process.Signal(syscall.SIGINT); err != nil {
				t.Fatal(err)
			}
			e := first.wait(t, failTimeout)
			if e.code != 130 {
				t.Fatalf("interrupted run: exit %d, want 130", e.code)
			}
			for _, want := range []string{"interrupted after", "left for the next run:"} {
				if !strings.Contains(e.stdout, want) {
					t.Errorf("interrupted run: stdout does not say %q:\n%s", want, e.stdout)
				}
			}
			if got, want := e.lastLine(), "entralake: interrupted by SIGINT"; got != want {
				t.Errorf("interrupted run: last line %q, want %q", got, want)
			}
			if e := run(t, runTimeout, nil, args...); e.code != 0 {
				t.Fatalf("second run: exit %d: %s", e.code, e.lastLine())
			}
			db := openDuckDB(t)
			rows := countTable(t, db, lake, tableDir)
			if rows.Rows != int64(ex.Good) || rows.RowIDs != rows.Rows {
				t.Errorf("lake: %d rows, %d distinct ids; want %d, each once", rows.Rows, rows.RowIDs, ex.Good)
			}
		})
	}
}

// TestSecondInterrupt checks that a second SIGINT during the shutdown
// ends the process at once, with 130.
func TestSecondInterrupt(t *testing.T) {
	src := genExport(t)
	lake := t.TempDir()
	s := start(t, nil, "run", "--source", src, "--lake", lake, "--data-dir", t.TempDir(), "--once", "--shutdown-timeout", "1h")
	waitForFile(t, s, lake)
	_ = s.cmd.Process.Signal(syscall.SIGINT)
	for !strings.Contains(s.stderr.String(), "SIGINT: shutting down") {
		// The first signal is not taken yet: two signals sent at once
		// may reach the process as one.
		select {
		case <-s.done:
			t.Fatalf("the run ended after one SIGINT: %s", s.stderr)
		case <-time.After(10 * time.Millisecond):
		}
	}
	_ = s.cmd.Process.Signal(syscall.SIGINT)
	e := s.wait(t, failTimeout)
	if e.code != 130 {
		t.Fatalf("exit %d, want 130", e.code)
	}
	if !strings.Contains(e.stderr, "SIGINT again: exiting now") {
		t.Errorf("stderr does not say why it exited at once:\n%s", tail([]byte(e.stderr), 2<<10))
	}
}

// asNobody returns the command prefix that runs the binary as an
// unprivileged user, and that user's uid and gid; it skips the test,
// saying why, when no such tool exists. The binary is copied where that
// user may run it.
func asNobody(t *testing.T) (wrap []string, uid, gid int) {
	t.Helper()
	if os.Geteuid() != 0 {
		return nil, os.Geteuid(), os.Getegid() // already unprivileged
	}
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Skip("running as root and setpriv (util-linux) is not installed: permission errors cannot be tested")
	}
	uid, gid = 65534, 65534 // nobody
	dir := openDir(t)
	bin := filepath.Join(dir, "entralake")
	data, err := os.ReadFile(binPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	old := binPath
	binPath = bin
	t.Cleanup(func() { binPath = old })
	return []string{setpriv, "--reuid=" + strconv.Itoa(uid), "--regid=" + strconv.Itoa(gid), "--clear-groups"}, uid, gid
}

// openDir returns a temporary folder every user may enter and read (a
// test's temporary folders are the owner's only).
func openDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for d := dir; d != os.TempDir() && d != "/" && d != "."; d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if filepath.Dir(d) == os.TempDir() {
			break
		}
	}
	return dir
}

// ownedDir returns a folder in parent owned by uid:gid.
func ownedDir(t *testing.T, parent, name string, uid, gid int) string {
	t.Helper()
	d := filepath.Join(parent, name)
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(d, uid, gid); err != nil {
		t.Fatal(err)
	}
	return d
}

// copyExport copies the testdata export into dir, readable by everyone.
func copyExport(t *testing.T, dir string) string {
	t.Helper()
	src := absPath(t, testdataExport)
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		dst := filepath.Join(dir, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
		if err != nil {
			return err
		}
		_, err = io.Copy(out, in)
		return errors.Join(err, out.Close())
	})
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestPermissionDenied runs as an unprivileged user, as a user would: a
// lake folder it may not write, an export blob it may not read, a table
// folder it may not write (which only the writer finds, midway). Each
// `run --once` must end within seconds with exit 1 and an error naming the
// path; it used to retry forever (21 error lines a second).
func TestPermissionDenied(t *testing.T) {
	wrap, uid, gid := asNobody(t)
	root := openDir(t)
	src := copyExport(t, filepath.Join(root, "export"))
	var blob string
	_ = filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err == nil && blob == "" && strings.HasSuffix(p, ".json") {
			blob = p
		}
		return err
	})
	cases := []struct {
		name    string
		setup   func(t *testing.T) (src, lake string)
		mention []string
	}{
		{"lake not writable", func(t *testing.T) (string, string) {
			return src, ownedDir(t, root, "lake-root", 0, 0) // root's, 0755
		}, []string{filepath.Join(root, "lake-root"), "permission denied"}},
		{"table folder not writable", func(t *testing.T) (string, string) {
			lake := ownedDir(t, root, "lake-table", uid, gid)
			ownedDir(t, lake, "azure_audit", 0, 0)
			return src, lake
		}, []string{filepath.Join(root, "lake-table", "azure_audit"), "permission denied"}},
		{"blob not readable", func(t *testing.T) (string, string) {
			s := copyExport(t, filepath.Join(root, "export-locked"))
			rel, _ := filepath.Rel(src, blob)
			if err := os.Chmod(filepath.Join(s, rel), 0o600); err != nil {
				t.Fatal(err)
			}
			return s, ownedDir(t, root, "lake-blob", uid, gid)
		}, []string{"permission denied", filepath.Base(filepath.Dir(blob))}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src, lake := tc.setup(t)
			data := ownedDir(t, root, "data-"+strings.ReplaceAll(tc.name, " ", "-"), uid, gid)
			e := run(t, failTimeout, wrap, "run", "--source", src, "--lake", lake, "--data-dir", data, "--once", "--max-deliver", "2")
			if e.code != 1 {
				t.Fatalf("exit %d, want 1", e.code)
			}
			for _, want := range tc.mention {
				if !strings.Contains(e.lastLine(), want) {
					t.Errorf("error %q does not mention %q", e.lastLine(), want)
				}
			}
		})
	}
}

// TestWatchLakeNotWritable runs watch mode, as an unprivileged user, on a
// lake whose table folder it may not write: the failed batches are retried
// with growing delays, counted against --max-deliver and end in the
// dead-letter stream; /readyz and status report the process not ready,
// naming the folder; SIGTERM stops it with exit 0.
func TestWatchLakeNotWritable(t *testing.T) {
	wrap, uid, gid := asNobody(t)
	root := openDir(t)
	src := copyExport(t, filepath.Join(root, "export"))
	lake := ownedDir(t, root, "lake", uid, gid)
	table := ownedDir(t, lake, "azure_audit", 0, 0)
	data := ownedDir(t, root, "data", uid, gid)
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	s := start(t, wrap, "run", "--source", src, "--lake", lake, "--data-dir", data, "--max-deliver", "2", "--metrics-addr", addr, "--poll-interval", "1h", "--roll-age", "1s")
	// status, as root, must not open the data dir at rest before the run
	// took it: it would create the server's store as root.
	waitForURL(t, s, data)
	var st runStatus
	for deadline := time.Now().Add(failTimeout); ; {
		var e exited
		st, e = status(t, data)
		if e.code == 0 && st.Queue.DeadLetters > 0 && len(st.Processes) > 0 && !st.Processes[0].Ready {
			break
		}
		select {
		case <-s.done:
			t.Fatalf("run ended: %s", tail([]byte(s.stderr.String()), 4<<10))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no dead letter, or the process still ready: %+v\nrun's stderr:\n%s", st, tail([]byte(s.stderr.String()), 4<<10))
		}
		time.Sleep(500 * time.Millisecond)
	}
	if p := st.Processes[0]; !strings.Contains(p.Problem, table) {
		t.Errorf("status: problem %q does not name %s", p.Problem, table)
	}
	resp, err := http.Get("http://" + addr + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), table) {
		t.Errorf("/readyz: %d %q, want 503 naming %s", resp.StatusCode, body, table)
	}
	retries := 0
	sc := bufio.NewScanner(strings.NewReader(s.stderr.String()))
	for sc.Scan() {
		if strings.Contains(sc.Text(), `"msg":"message failed; retrying"`) {
			retries++
		}
	}
	if retries == 0 {
		t.Errorf("no retry before the dead letter")
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	if e := s.wait(t, failTimeout); e.code != 0 {
		t.Errorf("after SIGTERM: exit %d, want 0", e.code)
	}
}
