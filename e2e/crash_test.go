package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// proc is one entralake process of the crash test.
type proc struct {
	name string
	args []string
	env  []string

	mu     sync.Mutex
	cmd    *exec.Cmd
	done   chan struct{}
	err    error
	output *bytes.Buffer
	runs   int
}

func (p *proc) start(t *testing.T) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	cmd := exec.Command(binPath, p.args...)
	cmd.Env = append(childEnv(), p.env...)
	if p.output == nil {
		p.output = new(bytes.Buffer)
	}
	fmt.Fprintf(p.output, "--- start %d\n", p.runs+1)
	cmd.Stdout, cmd.Stderr = p.output, p.output
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", p.name, err)
	}
	p.cmd, p.done, p.err = cmd, make(chan struct{}), nil
	p.runs++
	done := p.done
	go func() {
		err := cmd.Wait()
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		close(done)
	}()
}

// exited reports whether the current run ended, and how.
func (p *proc) exited() (bool, error) {
	p.mu.Lock()
	done := p.done
	p.mu.Unlock()
	select {
	case <-done:
		p.mu.Lock()
		defer p.mu.Unlock()
		return true, p.err
	default:
		return false, nil
	}
}

func (p *proc) signal(sig syscall.Signal, wait time.Duration) (bool, error) {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	_ = cmd.Process.Signal(sig)
	select {
	case <-done:
		p.mu.Lock()
		defer p.mu.Unlock()
		return true, p.err
	case <-time.After(wait):
		return false, nil
	}
}

func (p *proc) logTail() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return string(tail(p.output.Bytes(), 3000))
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestCrashRecovery runs, on each topology, nats-server, a lister and the
// workers as separate processes on a replay of >= 100,000 records: split,
// two parsers and a writer; fused, two workers (each parses and writes).
// It SIGKILLs a random worker at random moments at least 20 times
// (restarting it each time) and restarts the NATS server once; then it
// checks with DuckDB that every record is in the lake exactly once or in
// quarantine exactly once. The stages run with the default queue settings
// (ack waits, in-progress acks), so the stalls it prints after each kill
// are what a user gets; they are printed, not asserted.
//
// Knobs (environment): E2E_CRASH_TOPOLOGY (both; split or fused for one),
// E2E_CRASH_RECORDS (100000), E2E_CRASH_KILLS (20), E2E_CRASH_NATS_RESTART
// (1; 0 for none), E2E_CRASH_WATCH (1: the lister watches and may be
// killed throughout, instead of listing once), E2E_CRASH_TASK_SIZE
// (1048576; 0: one task per blob), E2E_CRASH_DRAIN (3m: how long the
// pipeline may take to finish after the chaos).
func TestCrashRecovery(t *testing.T) {
	for _, topology := range []string{"split", "fused"} {
		if only := os.Getenv("E2E_CRASH_TOPOLOGY"); only != "" && only != topology {
			continue
		}
		t.Run(topology, func(t *testing.T) { crashRecovery(t, topology, false) })
	}
}

// TestCrashRecoveryIceberg is TestCrashRecovery with the writer in
// Iceberg mode (the file catalog in the lake), smaller by default
// (E2E_CRASH_ICEBERG_RECORDS, 30000; E2E_CRASH_ICEBERG_KILLS, 10): the
// current snapshot, read by DuckDB over exactly the files iceberg-go's
// scan plans, holds every record once. Files a killed writer wrote but
// did not commit stay out of the table (orphans).
func TestCrashRecoveryIceberg(t *testing.T) { crashRecovery(t, "split", true) }

func crashRecovery(t *testing.T, topology string, iceberg bool) {
	records := envInt(t, "E2E_CRASH_RECORDS", 100000)
	minKills := envInt(t, "E2E_CRASH_KILLS", 20)
	if iceberg {
		records = envInt(t, "E2E_CRASH_ICEBERG_RECORDS", 30000)
		minKills = envInt(t, "E2E_CRASH_ICEBERG_KILLS", 10)
	}
	wantNatsRestarts := envInt(t, "E2E_CRASH_NATS_RESTART", 1)
	watch := envInt(t, "E2E_CRASH_WATCH", 0) == 1
	taskSize := envInt(t, "E2E_CRASH_TASK_SIZE", 1<<20)
	drain := envDuration(t, "E2E_CRASH_DRAIN", 3*time.Minute)
	dir := t.TempDir()
	src, lake, natsDir := filepath.Join(dir, "export"), filepath.Join(dir, "lake"), filepath.Join(dir, "nats")
	runEntralake(t, "gen", "--records", strconv.Itoa(records), "--out", src, "--seed", "20251127", "--hours", "24")
	// Bad lines in some blobs: they must end in quarantine, once each.
	badLines := 0
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || badLines >= 12 {
			return err
		}
		f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		defer f.Close()
		badLines += 2
		_, err = f.WriteString("this line is not JSON\r\n{\"time\":\"2025-04-11T00:00:00Z\",\"truncated\r\n")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	total := int64(records + badLines)

	port := freePort(t)
	natsURL := fmt.Sprintf("nats://127.0.0.1:%d", port)
	// The default ack waits and in-progress intervals: the stalls printed
	// below are what a user gets.
	queue := []string{"ENTRALAKE_SHUTDOWN_TIMEOUT=20s", "ENTRALAKE_LOG_FORMAT=text", "ENTRALAKE_LOG_LEVEL=warn"}
	server := &proc{name: "nats-server", args: []string{"nats-server", "--listen", fmt.Sprintf("127.0.0.1:%d", port), "--data-dir", natsDir}}
	// Blobs over 2 MiB (the big categories' hours) are cut into tasks of
	// about 1 MiB, so cut tasks are killed mid-way too.
	listerArgs := []string{"lister", "--nats", natsURL, "--source", src, "--task-size", strconv.Itoa(taskSize)}
	if !watch {
		listerArgs = append(listerArgs, "--once")
	}
	lister := &proc{name: "lister", args: listerArgs, env: queue}
	writes := []string{"--lake", lake, "--roll-age", "1s"}
	if iceberg {
		writes = append(writes, "--table-format", "iceberg")
	}
	// The processes that parse and write, killed at random.
	var workers []*proc
	if topology == "fused" {
		for _, name := range []string{"worker-1", "worker-2"} {
			args := append([]string{"worker", "--nats", natsURL, "--source", src, "--parsers", "1"}, writes...)
			workers = append(workers, &proc{name: name, args: args, env: append(queue, os.Getenv("E2E_WRITER_ENV"))})
		}
	} else {
		workers = []*proc{
			{name: "writer", args: append([]string{"writer", "--nats", natsURL}, writes...), env: append(queue, os.Getenv("E2E_WRITER_ENV"))},
			{name: "parser-1", args: []string{"parser", "--nats", natsURL, "--source", src, "--parsers", "1"}, env: queue},
			{name: "parser-2", args: []string{"parser", "--nats", natsURL, "--source", src, "--parsers", "1"}, env: queue},
		}
	}
	server.start(t)
	stages := append(slices.Clone(workers), lister)
	for _, p := range stages {
		p.start(t)
	}
	all := append([]*proc{server}, stages...)
	defer func() {
		for _, p := range all {
			if ok, _ := p.exited(); !ok {
				p.signal(syscall.SIGKILL, 5*time.Second)
			}
		}
		if t.Failed() {
			for _, p := range all {
				full := filepath.Join(os.TempDir(), "entralake-crash-"+p.name+".log")
				p.mu.Lock()
				_ = os.WriteFile(full, p.output.Bytes(), 0o644)
				p.mu.Unlock()
				t.Logf("%s output (whole log in %s):\n%s", p.name, full, p.logTail())
			}
		}
	}()
	prog := watchLake(t, lake)
	// The kills begin once the pipeline has written its first file, so that
	// each stall below is the kill's, not the start-up's.
	for !prog.started() {
		if time.Since(prog.start) > 2*time.Minute {
			t.Fatal("no lake file within 2 minutes of the start")
		}
		time.Sleep(100 * time.Millisecond)
	}

	// Chaos: kill a random stage, restart it; once, kill and restart NATS.
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	kills, restarts, natsRestarts := 0, 0, 0
	var events []chaosEvent
	listerDone := watch // a watching lister never finishes: it is only killed
	deadline := time.Now().Add(6 * time.Minute)
	for kills < minKills || !listerDone {
		if time.Now().After(deadline) {
			t.Fatalf("chaos did not finish: %d kills, lister done %v", kills, listerDone)
		}
		time.Sleep(time.Duration(300+rng.IntN(900)) * time.Millisecond)
		if ok, err := lister.exited(); ok && !listerDone {
			if err == nil {
				listerDone = true
			} else {
				lister.start(t) // it was killed: list again
				restarts++
			}
		}
		if kills == minKills/2 && natsRestarts < wantNatsRestarts {
			events = append(events, chaosEvent{at: time.Now(), what: "nats-server"})
			server.signal(syscall.SIGKILL, 10*time.Second)
			time.Sleep(500 * time.Millisecond)
			server.start(t)
			natsRestarts++
			continue
		}
		if kills >= minKills {
			continue
		}
		candidates := slices.Clone(workers)
		if watch || !listerDone {
			candidates = append(candidates, lister)
		}
		p := candidates[rng.IntN(len(candidates))]
		if ok, _ := p.exited(); ok {
			continue
		}
		at := time.Now()
		if exited, _ := p.signal(syscall.SIGKILL, 10*time.Second); !exited {
			t.Fatalf("%s survived SIGKILL", p.name)
		}
		kills++
		events = append(events, chaosEvent{at: at, what: p.name})
		if p == lister && !watch {
			if ok, err := lister.exited(); ok && err == nil {
				listerDone = true
				continue
			}
		}
		p.start(t)
		restarts++
	}

	// Wait until everything published is in the lake.
	if !waitDrained(t, natsURL, drain) {
		for _, p := range stages {
			if ok, _ := p.exited(); !ok {
				p.signal(syscall.SIGQUIT, 5*time.Second) // goroutine dump into its log
			}
		}
		t.FailNow()
	}
	report := prog.stop().report(events)
	t.Log(report)
	fmt.Print(report)
	// Graceful shutdown: SIGTERM, each stage exits 0.
	graceful := slices.Clone(workers)
	slices.Reverse(graceful) // the parsers before the writer
	if watch {
		graceful = append(graceful, lister)
	}
	for _, p := range graceful {
		exited, err := p.signal(syscall.SIGTERM, 30*time.Second)
		if !exited || err != nil {
			t.Errorf("%s after SIGTERM: exited=%v err=%v", p.name, exited, err)
		}
	}

	db := openDuckDB(t)
	count := countTable
	if iceberg {
		count = countIceberg
	}
	rows := count(t, db, lake, tableDir)
	quar := count(t, db, lake, quarantineDir)
	if iceberg {
		if n, err := icebergScan(t, db, lake, tableDir); err != nil {
			t.Logf("DuckDB iceberg_scan not checked: %v", err)
		} else if n != rows.Rows {
			t.Errorf("DuckDB iceberg_scan counts %d rows, the snapshot's files %d", n, rows.Rows)
		}
	}
	t.Logf("crash test: records=%d rows=%d distinct_ids=%d quarantined=%d kills=%d restarts=%d nats_restarts=%d",
		total, rows.Rows, rows.RowIDs, quar.Rows, kills, restarts, natsRestarts)
	fmt.Printf("crash test: records=%d rows=%d distinct_ids=%d quarantined=%d kills=%d restarts=%d nats_restarts=%d\n",
		total, rows.Rows, rows.RowIDs, quar.Rows, kills, restarts, natsRestarts)
	if got, want := quar.Rows, int64(badLines); got != want {
		t.Errorf("quarantined=%d, want %d", got, want)
	}
	if got, want := rows.Rows, total-int64(badLines); got != want {
		t.Errorf("rows=%d, want records-quarantined=%d", got, want)
	}
	if rows.RowIDs != rows.Rows {
		t.Errorf("distinct p_row_id=%d, rows=%d: some record is in the lake twice", rows.RowIDs, rows.Rows)
	}
	if quar.RowIDs != quar.Rows {
		t.Errorf("distinct quarantine ids=%d, records=%d", quar.RowIDs, quar.Rows)
	}
	if kills < minKills || natsRestarts != wantNatsRestarts {
		t.Errorf("kills=%d nats restarts=%d, want >= %d and %d", kills, natsRestarts, minKills, wantNatsRestarts)
	}
	_ = filepath.WalkDir(lake, func(p string, d fs.DirEntry, err error) error {
		if iceberg && err == nil && d.IsDir() && d.Name() == "metadata" {
			return filepath.SkipDir // the tables' metadata
		}
		if err == nil && !d.IsDir() && !strings.HasPrefix(d.Name(), ".") && !strings.HasSuffix(d.Name(), ".parquet") && p != filepath.Join(lake, lakeMarker) {
			t.Errorf("stray file in the lake: %s", p)
		}
		if err == nil && !d.IsDir() && strings.HasPrefix(d.Name(), ".") && strings.HasSuffix(d.Name(), ".parquet") {
			t.Errorf("temporary file looks like a lake file: %s", p)
		}
		return nil
	})
}

func envInt(t *testing.T, name string, def int) int {
	t.Helper()
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return n
}

func envDuration(t *testing.T, name string, def time.Duration) time.Duration {
	t.Helper()
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return d
}

// chaosEvent is a kill of the crash test.
type chaosEvent struct {
	at   time.Time
	what string
}

// lakeProgress records when the lake gained a file: progress is rows
// written, the pipeline's output.
type lakeProgress struct {
	start time.Time
	stopc chan struct{}
	done  chan struct{}
	mu    sync.Mutex
	grew  []time.Time // times the count of lake files went up
}

// started reports whether the first file is in the lake.
func (p *lakeProgress) started() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.grew) > 0
}

// watchLake polls the lake every 100 ms for new Parquet files until stop.
func watchLake(t *testing.T, lake string) *lakeProgress {
	t.Helper()
	p := &lakeProgress{start: time.Now(), stopc: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		files := 0
		for {
			select {
			case <-p.stopc:
				return
			case <-tick.C:
			}
			n := 0
			_ = filepath.WalkDir(lake, func(path string, d fs.DirEntry, err error) error {
				if err == nil && d.Type().IsRegular() && !strings.HasPrefix(d.Name(), ".") && strings.HasSuffix(d.Name(), ".parquet") {
					n++
				}
				return nil
			})
			if n > files {
				p.mu.Lock()
				p.grew = append(p.grew, time.Now())
				p.mu.Unlock()
			}
			files = max(files, n)
		}
	}()
	return p
}

func (p *lakeProgress) stop() *lakeProgress {
	close(p.stopc)
	<-p.done
	return p
}

// report says, for each kill, how long the lake then went without a new
// file: the longest pause that began between this kill and the next one
// (a pause running past the next kill counts in full), or, for the last
// kill, before the last file came. The pipeline is done at its last file.
func (p *lakeProgress) report(events []chaosEvent) string {
	var b strings.Builder
	if len(p.grew) == 0 || len(events) == 0 {
		return "crash test: no progress or no kill to report\n"
	}
	end := p.grew[len(p.grew)-1]
	sec := func(d time.Duration) string { return fmt.Sprintf("%.1fs", d.Seconds()) }
	worst, worstAt := time.Duration(0), 0
	for i, e := range events {
		next := end
		if i+1 < len(events) {
			next = events[i+1].at
		}
		stall, from := time.Duration(0), e.at
		for _, g := range p.grew {
			if g.Before(e.at) {
				continue
			}
			if from.After(next) || !from.Before(end) {
				break
			}
			stall = max(stall, g.Sub(from))
			from = g
		}
		if stall > worst {
			worst, worstAt = stall, i
		}
		fmt.Fprintf(&b, "crash test: kill %d (%s) at +%s: no new lake file for %s\n", i+1, e.what, sec(e.at.Sub(p.start)), sec(stall))
	}
	last := events[len(events)-1].at
	fmt.Fprintf(&b, "crash test: first lake file at +%s; worst stall %s (kill %d, %s); last kill at +%s, all rows in the lake %s after it\n",
		sec(p.grew[0].Sub(p.start)), sec(worst), worstAt+1, events[worstAt].what, sec(last.Sub(p.start)), sec(max(end.Sub(last), 0)))
	return b.String()
}

// waitDrained polls `entralake status` until, three times in a row, the
// parsers' and writers' consumers have nothing pending and nothing in flight.
func waitDrained(t *testing.T, natsURL string, timeout time.Duration) bool {
	t.Helper()
	deadline := time.Now().Add(timeout)
	empty := 0
	var last string
	for empty < 3 {
		if time.Now().After(deadline) {
			t.Errorf("pipeline did not drain in %s; last status:\n%s", timeout, last)
			return false
		}
		time.Sleep(time.Second)
		cmd := exec.Command(binPath, "status", "--nats", natsURL, "--json")
		cmd.Env = childEnv()
		out, err := cmd.Output()
		last = string(out)
		if err != nil {
			empty = 0
			continue
		}
		var st struct {
			Queue struct {
				Consumers map[string]struct {
					Pending  uint64 `json:"pending"`
					InFlight int    `json:"in_flight"`
				} `json:"consumers"`
			} `json:"queue"`
		}
		if json.Unmarshal(out, &st) != nil || len(st.Queue.Consumers) != 2 {
			empty = 0
			continue
		}
		idle := true
		for _, c := range st.Queue.Consumers {
			idle = idle && c.Pending == 0 && c.InFlight == 0
		}
		if idle {
			empty++
		} else {
			empty = 0
		}
	}
	return true
}
