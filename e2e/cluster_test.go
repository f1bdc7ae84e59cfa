package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestClusterNodeLoss runs the pipeline on a three-node JetStream cluster
// (three `entralake nats-server` processes on loopback, every stream and
// bucket with three replicas): a writer, two parsers and `lister --once`
// as separate processes on a 100,000-record export. Once the first file
// is in the lake it SIGKILLs the node that leads the task stream, then a
// parser and the writer, then another node once every replica is current
// again, restarting each one. Then DuckDB counts: every record once in the
// lake. It prints how long the lake went without a new file after each
// kill (printed, not asserted: the machine's load decides them).
//
// Knobs (environment): E2E_CLUSTER_RECORDS (100000), E2E_CLUSTER_DOWN
// (5s: how long a killed node stays down).
func TestClusterNodeLoss(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a three-node cluster and 100,000 records")
	}
	records := envInt(t, "E2E_CLUSTER_RECORDS", 100000)
	down := envDuration(t, "E2E_CLUSTER_DOWN", 5*time.Second)
	dir := t.TempDir()
	src, lake := filepath.Join(dir, "export"), filepath.Join(dir, "lake")
	runEntralake(t, "gen", "--records", strconv.Itoa(records), "--out", src, "--seed", "20251205", "--hours", "24")

	// Three nodes, each with its client, cluster and monitoring port.
	type node struct {
		*proc
		http string
	}
	nodes := make([]*node, 3)
	var routes, urls []string
	ports := make([][3]int, 3)
	for i := range nodes {
		ports[i] = [3]int{freePort(t), freePort(t), freePort(t)}
		routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", ports[i][1]))
		urls = append(urls, fmt.Sprintf("nats://127.0.0.1:%d", ports[i][0]))
	}
	for i := range nodes {
		name := fmt.Sprintf("n%d", i+1)
		nodes[i] = &node{proc: &proc{name: name, args: []string{"nats-server", "--name", name,
			"--listen", fmt.Sprintf("127.0.0.1:%d", ports[i][0]), "--cluster", fmt.Sprintf("127.0.0.1:%d", ports[i][1]),
			"--routes", strings.Join(routes, ","), "--http", fmt.Sprintf("127.0.0.1:%d", ports[i][2]),
			"--data-dir", filepath.Join(dir, name), "--log-level", "warn"}},
			http: fmt.Sprintf("http://127.0.0.1:%d/healthz?js-meta-only=true", ports[i][2])}
	}
	natsURL := strings.Join(urls, ",")
	env := []string{"ENTRALAKE_REPLICAS=3", "ENTRALAKE_SHUTDOWN_TIMEOUT=20s", "ENTRALAKE_LOG_FORMAT=text", "ENTRALAKE_LOG_LEVEL=warn"}
	lister := &proc{name: "lister", args: []string{"lister", "--once", "--nats", natsURL, "--source", src, "--task-size", "1048576"}, env: env}
	parser1 := &proc{name: "parser-1", args: []string{"parser", "--nats", natsURL, "--source", src, "--parsers", "1"}, env: env}
	parser2 := &proc{name: "parser-2", args: []string{"parser", "--nats", natsURL, "--source", src, "--parsers", "1"}, env: env}
	writer := &proc{name: "writer", args: []string{"writer", "--nats", natsURL, "--lake", lake, "--roll-age", "1s"}, env: env}
	stages := []*proc{writer, parser1, parser2, lister}
	all := []*proc{nodes[0].proc, nodes[1].proc, nodes[2].proc, writer, parser1, parser2, lister}
	defer func() {
		for _, p := range all {
			if p.cmd != nil {
				if ok, _ := p.exited(); !ok {
					p.signal(syscall.SIGKILL, 5*time.Second)
				}
			}
		}
		if t.Failed() {
			for _, p := range all {
				if p.output != nil {
					t.Logf("%s output:\n%s", p.name, p.logTail())
				}
			}
		}
	}()
	// JetStream answers once the nodes elected a meta leader.
	ready := func(n *node, within time.Duration) {
		t.Helper()
		deadline := time.Now().Add(within)
		for {
			resp, err := http.Get(n.http)
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					return
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("node %s: JetStream not ready within %s", n.name, within)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	start := time.Now()
	for _, n := range nodes {
		n.start(t)
	}
	for _, n := range nodes {
		ready(n, time.Minute)
	}
	t.Logf("cluster ready in %s", time.Since(start).Round(time.Millisecond))
	for _, p := range stages {
		p.start(t)
	}
	prog := watchLake(t, lake)
	for !prog.started() {
		if time.Since(prog.start) > 3*time.Minute {
			t.Fatal("no lake file within 3 minutes of the start")
		}
		time.Sleep(100 * time.Millisecond)
	}

	var events []chaosEvent
	// The lister lists once; a lister killed by a node's loss would be
	// started again (it exits 0 once all is published).
	listerDone := false
	checkLister := func() {
		if ok, err := lister.exited(); ok && !listerDone {
			if err != nil {
				t.Fatalf("lister --once failed: %v\n%s", err, lister.logTail())
			}
			listerDone = true
		}
	}
	killNode := func(n *node, why string) {
		t.Helper()
		events = append(events, chaosEvent{at: time.Now(), what: "node " + n.name + " (" + why + ")"})
		if exited, _ := n.signal(syscall.SIGKILL, 10*time.Second); !exited {
			t.Fatalf("node %s survived SIGKILL", n.name)
		}
		time.Sleep(down)
		checkLister()
		n.start(t)
	}
	killStage := func(p *proc) {
		t.Helper()
		if ok, _ := p.exited(); ok {
			return
		}
		events = append(events, chaosEvent{at: time.Now(), what: p.name})
		if exited, _ := p.signal(syscall.SIGKILL, 10*time.Second); !exited {
			t.Fatalf("%s survived SIGKILL", p.name)
		}
		p.start(t)
	}
	byName := map[string]*node{}
	for _, n := range nodes {
		byName[n.name] = n
	}

	// 1. The task stream's leader.
	leader := clusterStatus(t, natsURL, time.Minute).Queue.Replicas["ENTRALAKE_TASKS"].Leader
	first := byName[leader]
	if first == nil {
		t.Fatalf("task stream leader %q is none of the nodes", leader)
	}
	killNode(first, "task stream leader")
	time.Sleep(2 * time.Second)
	// 2. Stages, as the crash test kills them.
	killStage(parser1)
	time.Sleep(time.Second)
	killStage(writer)
	// 3. Another node, once the first one caught up (every replica current).
	deadline := time.Now().Add(2 * time.Minute)
	for {
		st := clusterStatus(t, natsURL, time.Minute)
		current := true
		for _, rs := range st.Queue.Replicas {
			current = current && rs.Current
		}
		if current {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("replicas not all current 2 minutes after %s came back: %+v", first.name, st.Queue.Replicas)
		}
		time.Sleep(500 * time.Millisecond)
	}
	var second *node
	for _, n := range nodes {
		if n != first {
			second = n
			break
		}
	}
	killNode(second, "another node")
	killStage(parser2)

	for deadline := time.Now().Add(3 * time.Minute); !listerDone; time.Sleep(200 * time.Millisecond) {
		checkLister()
		if time.Now().After(deadline) {
			t.Fatal("lister --once did not finish")
		}
	}
	if !waitDrained(t, natsURL, 4*time.Minute) {
		t.FailNow()
	}
	report := strings.ReplaceAll(prog.stop().report(events), "crash test", "cluster test")
	t.Log(report)
	fmt.Print(report)
	for _, p := range []*proc{parser1, parser2, writer} {
		if exited, err := p.signal(syscall.SIGTERM, 30*time.Second); !exited || err != nil {
			t.Errorf("%s after SIGTERM: exited=%v err=%v", p.name, exited, err)
		}
	}
	db := openDuckDB(t)
	rows := countTable(t, db, lake, tableDir)
	msg := fmt.Sprintf("cluster test: records=%d rows=%d distinct_ids=%d node_kills=2 stage_kills=3 in %s", records, rows.Rows, rows.RowIDs, time.Since(start).Round(time.Second))
	t.Log(msg)
	fmt.Println(msg)
	if rows.Rows != int64(records) {
		t.Errorf("rows=%d, want %d: records lost", rows.Rows, records)
	}
	if rows.RowIDs != rows.Rows {
		t.Errorf("distinct p_row_id=%d, rows=%d: some record is in the lake twice", rows.RowIDs, rows.Rows)
	}
}

// clusterState is what the cluster test reads of `entralake status --json`.
type clusterState struct {
	Queue struct {
		Replicas map[string]struct {
			Replicas int    `json:"replicas"`
			Leader   string `json:"leader"`
			Current  bool   `json:"current"`
		} `json:"replicas"`
	} `json:"queue"`
}

// clusterStatus runs `entralake status --json` until it answers with
// every stream's replicas.
func clusterStatus(t *testing.T, natsURL string, within time.Duration) clusterState {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		cmd := exec.Command(binPath, "status", "--nats", natsURL, "--json")
		cmd.Env = childEnv()
		out, err := cmd.Output()
		var st clusterState
		if err == nil && json.Unmarshal(out, &st) == nil && len(st.Queue.Replicas) > 0 {
			for name, rs := range st.Queue.Replicas {
				if rs.Replicas != 3 {
					t.Fatalf("%s has %d replicas, want 3", name, rs.Replicas)
				}
			}
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("status did not answer within %s: %v\n%s", within, err, out)
		}
		time.Sleep(500 * time.Millisecond)
	}
}
