package workers

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/entralake/entralake/schema"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// TestSetupReplicasSingleServer: replicas above 1 on a server that is not
// in a cluster fail at once, with an error that says so.
func TestSetupReplicasSingleServer(t *testing.T) {
	js := testJS(t) // streams and buckets with one replica
	topo := DefaultTopology()
	topo.Replicas = 3
	start := time.Now()
	err := Setup(t.Context(), js, topo)
	if !errors.Is(err, ErrNotClustered) {
		t.Fatalf("Setup R3 on a single server = %v, want ErrNotClustered", err)
	}
	if strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "3 replicas") {
		t.Errorf("error %q: want one line naming the replica count", err)
	}
	// Not retried as an election would be.
	if d := time.Since(start); d > AttemptTimeout {
		t.Errorf("Setup took %s to fail", d)
	}
}

// node is a cluster node in its own process (this test binary, running
// TestClusterNode), so that a test can SIGKILL it.
type node struct {
	name string
	cmd  *exec.Cmd
	args []string
}

// start starts the node; the channel says when its JetStream answers
// (true) or that it exited first (false).
func (n *node) start(t *testing.T) <-chan bool {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestClusterNode$")
	cmd.Env = append(os.Environ(), "WORKERS_TEST_NODE="+strings.Join(n.args, " "))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	n.cmd = cmd
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if sc.Text() == "READY" {
				ready <- true
			}
		}
		ready <- false
	}()
	return ready
}

// kill SIGKILLs the node.
func (n *node) kill() { _ = n.cmd.Process.Kill(); _ = n.cmd.Wait() }

// TestClusterNode is a node of testCluster when WORKERS_TEST_NODE holds
// its settings ("name dir client-port cluster-port route,route,..."); a
// test of its own otherwise skips.
func TestClusterNode(t *testing.T) {
	f := strings.Fields(os.Getenv("WORKERS_TEST_NODE"))
	if len(f) != 5 {
		t.Skip("a cluster node of other tests")
	}
	port, _ := strconv.Atoi(f[2])
	cport, _ := strconv.Atoi(f[3])
	s, err := StartServer(ServerConfig{Name: f[0], Dir: f[1], Port: port, ClusterPort: cport, Routes: strings.Split(f[4], ",")})
	if err != nil {
		t.Fatal(err)
	}
	for !JetStreamReady(s) {
		time.Sleep(20 * time.Millisecond)
	}
	fmt.Println("READY")
	s.WaitForShutdown()
}

// testCluster starts n JetStream servers in a cluster, each in its own
// process on its own loopback ports and folder, and waits until their
// JetStream answers. It returns the nodes and their client URLs.
func testCluster(t *testing.T, n int) ([]*node, string) {
	t.Helper()
	routes := make([]string, n)
	nodes := make([]*node, n)
	var urls []string
	for i := range nodes {
		port, cport := freeTCPPort(t), freeTCPPort(t)
		routes[i] = fmt.Sprintf("nats://127.0.0.1:%d", cport)
		urls = append(urls, fmt.Sprintf("nats://127.0.0.1:%d", port))
		nodes[i] = &node{name: fmt.Sprintf("n%d", i+1)}
		nodes[i].args = []string{nodes[i].name, t.TempDir(), strconv.Itoa(port), strconv.Itoa(cport)}
	}
	for _, nd := range nodes {
		nd.args = append(nd.args, strings.Join(routes, ","))
	}
	ready := make([]<-chan bool, n)
	for i, nd := range nodes {
		ready[i] = nd.start(t)
	}
	for i, nd := range nodes {
		select {
		case ok := <-ready[i]:
			if !ok {
				t.Fatalf("node %s exited before it was ready", nd.name)
			}
		case <-time.After(time.Minute):
			t.Fatalf("node %s not ready after a minute", nd.name)
		}
	}
	return nodes, strings.Join(urls, ",")
}

func freeTCPPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func connectJS(t *testing.T, urls string) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(urls, nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// TestClusterReplicas runs the set-up on a three-node cluster: R1, then
// R3 in place; Status names each stream's leader; with the task stream's
// leader SIGKILLed, publishes and key-value writes go on through the
// election, and nothing published is lost or doubled.
func TestClusterReplicas(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a three-node cluster")
	}
	nodes, urls := testCluster(t, 3)
	js := connectJS(t, urls)
	ctx := t.Context()
	topo := DefaultTopology()
	if err := Setup(ctx, js, topo); err != nil {
		t.Fatal(err)
	}
	topo.Replicas = 3
	if err := Setup(ctx, js, topo); err != nil {
		t.Fatalf("Setup R1 -> R3: %v", err)
	}
	for _, name := range ReplicatedStreams {
		st, err := js.Stream(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if r := st.CachedInfo().Config.Replicas; r != 3 {
			t.Errorf("%s: %d replicas after Setup R3, want 3", name, r)
		}
	}
	// Every replica current: the scale-up runs in the background.
	var qs *QueueStatus
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var err error
		if qs, err = Status(ctx, js); err != nil {
			t.Fatal(err)
		}
		current := 0
		for _, rs := range qs.Replicas {
			if rs.Current {
				current++
			}
		}
		if current == len(ReplicatedStreams) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("replicas not current after 2 minutes: %+v", qs.Replicas)
		}
		time.Sleep(500 * time.Millisecond)
	}
	// The locks bucket, made on demand, takes the deployment's count.
	if _, err := NewLocker(ctx, js); err != nil {
		t.Fatal(err)
	}
	if st, err := streamInfo(t, js, "KV_"+BucketLocks); err != nil || st.Config.Replicas != 3 {
		t.Errorf("locks bucket: %v replicas (%v), want 3", st, err)
	}
	// More replicas than nodes: a clear error, nothing changed.
	topo5 := topo
	topo5.Replicas = 5
	if err := Setup(ctx, js, topo5); !errors.Is(err, ErrTooFewPeers) {
		t.Errorf("Setup R5 on three nodes = %v, want ErrTooFewPeers", err)
	}
	leader := qs.Replicas[StreamTasks].Leader
	var victim *node
	for _, nd := range nodes {
		if nd.name == leader {
			victim = nd
		}
	}
	if victim == nil {
		t.Fatalf("task stream leader %q is no node of the cluster", leader)
	}

	// Publish 300 tasks with ids (some twice) while the leader goes away.
	pub := Publisher{JS: js}
	off, err := NewOffsets(ctx, js)
	if err != nil {
		t.Fatal(err)
	}
	const n = 300
	for i := range n {
		if i == n/3 {
			victim.kill()
		}
		id := fmt.Sprintf("task-%d", i)
		for range 1 + i%2 {
			if err := pub.Publish(ctx, schema.Outgoing{Subject: SubjectTasks, ID: id, Data: []byte(id)}); err != nil {
				t.Fatalf("publish %s with the leader %s down: %v", id, leader, err)
			}
		}
		if i%10 == 0 {
			if _, err := off.Update(ctx, "c", fmt.Sprint(i), func(st *schema.BlobState) bool { st.Published = int64(i); return true }); err != nil {
				t.Fatalf("offset update %d: %v", i, err)
			}
		}
	}
	st, err := streamInfo(t, js, StreamTasks)
	if err != nil {
		t.Fatal(err)
	}
	if got := st.State.Msgs; got != n {
		t.Errorf("task stream holds %d messages, want %d", got, n)
	}
	if qs, err = Status(ctx, js); err != nil {
		t.Fatal(err)
	}
	rs := qs.Replicas[StreamTasks]
	if rs.Leader == "" || rs.Leader == leader || rs.Current {
		t.Errorf("after %s went away: %+v, want another leader, not every replica current", leader, rs)
	}
}

// streamInfo reads a stream's info through an election.
func streamInfo(t *testing.T, js jetstream.JetStream, name string) (*jetstream.StreamInfo, error) {
	t.Helper()
	return retry1(t.Context(), func(ctx context.Context) (*jetstream.StreamInfo, error) {
		s, err := js.Stream(ctx, name)
		if err != nil {
			return nil, err
		}
		return s.CachedInfo(), nil
	})
}
