package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/entralake/entralake/workers"
)

// TestReplicasSingleServer: --replicas 3 against a NATS server that runs
// alone fails at start, exit 1, with one line that says why; the streams
// keep their one replica.
func TestReplicasSingleServer(t *testing.T) {
	url, js := startJetStream(t, QueueFlags{TaskAckWait: workers.DefaultAckWait, BatchAckWait: workers.DefaultAckWait, MaxDeliver: 5})
	for _, args := range [][]string{
		{"parser", "--nats", url, "--source", t.TempDir(), "--replicas", "3"},
		{"writer", "--nats", url, "--lake", t.TempDir(), "--replicas", "3"},
	} {
		var stdout, stderr bytes.Buffer
		code := Main(append(args, "--log-level", "error"), &stdout, &stderr)
		lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
		if code != ExitFailure || len(lines) != 1 || !strings.Contains(lines[0], "3 replicas: replicas above 1 need a JetStream cluster") {
			t.Errorf("%s --replicas 3 on a single server: exit %d, stderr %q; want exit 1 and one line naming the cause", args[0], code, stderr.String())
		}
	}
	st, err := js.Stream(t.Context(), workers.StreamTasks)
	if err != nil {
		t.Fatal(err)
	}
	if r := st.CachedInfo().Config.Replicas; r != 1 {
		t.Errorf("task stream has %d replicas, want 1", r)
	}
}

// TestRedactURLs: a list of cluster URLs keeps no password.
func TestRedactURLs(t *testing.T) {
	got := redactURL("nats://u:secret@n1:4222,nats://u:secret@n2:4222, nats://n3:4222")
	if strings.Contains(got, "secret") || !strings.Contains(got, "n1:4222") || !strings.Contains(got, "n3:4222") {
		t.Errorf("redactURL = %q", got)
	}
}
