package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"
	"github.com/entralake/entralake/internal/azurite"
	"github.com/entralake/entralake/lake/dir"
	"github.com/entralake/entralake/schema"
	"github.com/entralake/entralake/source/local"
	"github.com/entralake/entralake/stages/lister"
	"github.com/entralake/entralake/workers"
	"github.com/entralake/entralake/workers/workerstest"
	"github.com/nats-io/nats.go/jetstream"
)

// signInLine is one export line (without its line end) with id n.
func signInLine(n int) string {
	return fmt.Sprintf(`{"time":"2025-04-11T16:%02d:%02dZ","resourceId":"/tenants/t/providers/Microsoft.aadiam","operationName":"Sign-in activity","category":"SignInLogs","tenantId":"t","resultType":"0","correlationId":"00000000-0000-4000-8000-%012d","properties":{"id":"%d","userPrincipalName":"user%d@fabrikam.example"}}`,
		n/60%60, n%60, n, n, n)
}

// lakeCounts runs `entralake run --once` with args and returns the rows and
// quarantined records in the lake, and what the run printed.
func runOnceCounts(t *testing.T, lake string, args ...string) (rows, quarantined int, stdout string) {
	t.Helper()
	var out, errb bytes.Buffer
	args = append([]string{"run", "--lake", lake, "--once", "--log-level", "warn"}, args...)
	if code := Main(args, &out, &errb); code != 0 {
		t.Fatalf("entralake %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out.String(), errb.String())
	}
	ids := map[string]bool{}
	for _, r := range readLake(t, filepath.Join(lake, "azure_audit")) {
		id, _ := r[schema.ColRowID].(string)
		if ids[id] {
			t.Fatalf("row %s is in the lake twice", id)
		}
		ids[id] = true
	}
	return len(ids), len(readLake(t, filepath.Join(lake, "azure_audit_quarantine"))), out.String()
}

// TestHeldTailAzure appends to an append blob in Azurite a line in two
// halves, as Azure may (a record over the 4 MiB block size always is):
// `run --once` between the halves must hold the unfinished line back and
// count it as waiting, not quarantine it, and the next run must read it
// once, whole. The blob's hour is long past: only its last change, a
// moment ago, says it may still grow. A line left unfinished is read as a
// final record once the blob is final (--final-after 0: at once).
func TestHeldTailAzure(t *testing.T) {
	srv := azurite.Start(t)
	t.Setenv("AZURE_STORAGE_CONNECTION_STRING", srv.ConnectionString)
	svc, err := service.NewClientFromConnectionString(srv.ConnectionString, nil)
	if err != nil {
		t.Fatal(err)
	}
	const cont = "insights-logs-signinlogs"
	cc := svc.NewContainerClient(cont)
	if _, err := cc.Create(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	ab := cc.NewAppendBlobClient("tenantId=t/y=2025/m=04/d=11/h=16/m=00/PT1H.json")
	if _, err := ab.Create(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	appendBlock := func(s string) {
		t.Helper()
		if _, err := ab.AppendBlock(t.Context(), streaming.NopCloser(strings.NewReader(s)), nil); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	lake := filepath.Join(dir, "lake")
	args := []string{"--source", srv.URL(cont), "--data-dir", filepath.Join(dir, "data")}

	cut := signInLine(1) + "\r\n"
	appendBlock(signInLine(0) + "\r\n" + cut[:len(cut)/2])
	rows, quar, out := runOnceCounts(t, lake, args...)
	if rows != 1 || quar != 0 {
		t.Fatalf("first run: %d rows, %d quarantined; want 1 row, the half line held back", rows, quar)
	}
	if want := fmt.Sprintf("%d B waiting", len(cut)/2); !strings.Contains(out, want) {
		t.Fatalf("first run's summary does not say %q:\n%s", want, out)
	}

	appendBlock(cut[len(cut)/2:] + signInLine(2) + "\r\n")
	rows, quar, out = runOnceCounts(t, lake, args...)
	if rows != 3 || quar != 0 {
		t.Fatalf("second run: %d rows, %d quarantined; want 3 rows (2 new), none quarantined", rows, quar)
	}
	if strings.Contains(out, "waiting") {
		t.Fatalf("second run: nothing waits any more, but the summary says:\n%s", out)
	}

	last := signInLine(3)
	appendBlock(last) // no line end, ever
	if rows, quar, _ = runOnceCounts(t, lake, args...); rows != 3 || quar != 0 {
		t.Fatalf("third run: %d rows, %d quarantined; want 3 rows, the last line held back", rows, quar)
	}
	rows, quar, out = runOnceCounts(t, lake, append(args, "--final-after", "0s")...)
	if rows != 4 || quar != 0 {
		t.Fatalf("run with the blob final: %d rows, %d quarantined; want 4 rows: the unfinished line read as a record\n%s", rows, quar, out)
	}
}

// testQueue is the queue set-up of the tests that need no short ack wait.
var testQueue = QueueFlags{TaskAckWait: 2 * time.Minute, BatchAckWait: 5 * time.Minute, MaxDeliver: 5}

// startJetStream starts an embedded JetStream server, connects as a stage
// does (the topology set up with q) and returns the server's URL and the
// client.
func startJetStream(t *testing.T, q QueueFlags) (string, jetstream.JetStream) {
	t.Helper()
	s, err := workers.StartServer(workers.ServerConfig{Dir: t.TempDir(), Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Shutdown)
	c, err := connect(t.Context(), s.ClientURL(), "test", q, slog.New(slog.NewTextHandler(t.Output(), nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.close)
	return s.ClientURL(), c.js
}

// writeBlob writes an export blob of n lines under src and dates it an
// hour back (a complete export, downloaded a while ago); it returns the
// blob's size and the end of each line.
func writeBlob(t *testing.T, src, cont, name string, n int) (int64, []int64) {
	t.Helper()
	var b bytes.Buffer
	var ends []int64
	for i := range n {
		b.WriteString(signInLine(i) + "\n")
		ends = append(ends, int64(b.Len()))
	}
	p := filepath.Join(src, cont, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(p, old, old); err != nil {
		t.Fatal(err)
	}
	return int64(b.Len()), ends
}

// shorterSource lists every blob at most max bytes long: what a lister
// saw before the rest was appended.
type shorterSource struct {
	local.Dir
	max int64
}

func (s shorterSource) ListDir(ctx context.Context, container, prefix string) ([]string, []schema.Blob, error) {
	dirs, blobs, err := s.Dir.ListDir(ctx, container, prefix)
	for i := range blobs {
		if blobs[i].Size > s.max {
			blobs[i].Size, blobs[i].ETag = s.max, "short"
		}
	}
	return dirs, blobs, err
}

// meetingPublisher holds the first publish of each of two listers until
// both are publishing: both have read the blob's offsets by then.
type meetingPublisher struct {
	lister.Publisher
	t     *testing.T
	first sync.Once
	meet  *sync.WaitGroup
	done  chan struct{}
}

func (p *meetingPublisher) Publish(ctx context.Context, m schema.Outgoing) error {
	p.first.Do(func() {
		p.meet.Done()
		go func() { p.meet.Wait(); close(p.done) }()
		select {
		case <-p.done:
		case <-time.After(30 * time.Second):
			p.t.Error("the other lister never published")
		}
	})
	return p.Publisher.Publish(ctx, m)
}

// TestTwoListers runs two listers at once on one export (a rolling update:
// the old pod lists while the new one starts). The first saw the blob
// before its last lines were appended, the second after; both read the
// offsets before either publishes. Then parsers and a writer (`run --once`
// on the same JetStream) write the lake: every record must be in it once.
func TestTwoListers(t *testing.T) {
	url, js := startJetStream(t, testQueue)
	src, lake := filepath.Join(t.TempDir(), "export"), filepath.Join(t.TempDir(), "lake")
	const cont, name = "insights-logs-signinlogs", "tenantId=t/y=2025/m=04/d=11/h=16/m=00/PT1H.json"
	const lines = 40
	_, ends := writeBlob(t, src, cont, name, lines)
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	var meet sync.WaitGroup
	meet.Add(2)
	var wg sync.WaitGroup
	for _, s := range []lister.Source{shorterSource{Dir: local.Dir{Root: src}, max: ends[24]}, local.Dir{Root: src}} {
		off, err := workers.NewOffsets(t.Context(), js)
		if err != nil {
			t.Fatal(err)
		}
		pub := &meetingPublisher{Publisher: workers.Publisher{JS: js}, t: t, meet: &meet, done: make(chan struct{})}
		l := lister.New(lister.Config{SourceID: "test", Subject: workers.SubjectTasks}, s, off, pub, log)
		wg.Go(func() {
			if err := l.Pass(t.Context(), time.Time{}, time.Time{}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	rows, quar, out := runOnceCounts(t, lake, "--nats", url, "--source", src)
	if rows != lines || quar != 0 {
		t.Fatalf("%d rows, %d quarantined; want each of the %d lines once\n%s", rows, quar, lines, out)
	}
}

// TestListerKeepsConcurrentSettle has a writer settle a blob (committed
// moves up) between the lister's read of the blob's offsets and its write
// of the published offset: the committed offset must not go back.
func TestListerKeepsConcurrentSettle(t *testing.T) {
	_, js := startJetStream(t, testQueue)
	src := filepath.Join(t.TempDir(), "export")
	const cont, name = "insights-logs-signinlogs", "tenantId=t/y=2025/m=04/d=11/h=16/m=00/PT1H.json"
	size, ends := writeBlob(t, src, cont, name, 10)
	off, err := workers.NewOffsets(t.Context(), js)
	if err != nil {
		t.Fatal(err)
	}
	half := ends[4]
	if err := off.Put(t.Context(), schema.BlobState{Container: cont, Blob: name, Published: half}); err != nil {
		t.Fatal(err)
	}
	racy := &workerstest.RaceKV{KeyValue: off.KV, Change: func() {
		// A writer settles the first range, meanwhile.
		if err := off.Put(t.Context(), schema.BlobState{Container: cont, Blob: name, Published: half, Committed: half}); err != nil {
			t.Error(err)
		}
	}}
	l := lister.New(lister.Config{SourceID: "test", Subject: workers.SubjectTasks}, local.Dir{Root: src}, &workers.Offsets{KV: racy}, workers.Publisher{JS: js}, nil)
	if err := l.Pass(t.Context(), time.Time{}, time.Time{}); err != nil {
		t.Fatal(err)
	}
	st, _, err := off.Get(t.Context(), cont, name)
	if err != nil {
		t.Fatal(err)
	}
	if st.Published != size || st.Committed != half {
		t.Fatalf("state %+v, want published %d and committed %d (the writer's)", st, size, half)
	}
}

// TestLakeCheck covers what the e2e test does not: a new state meeting a
// lake another state wrote (refused, unless --join-lake), writers of one
// state starting together on a new lake (one id), and a marker that is
// not ours.
func TestLakeCheck(t *testing.T) {
	ctx := t.Context()
	log := slog.New(slog.NewTextHandler(t.Output(), nil))
	offsets := func() *workers.Offsets {
		_, js := startJetStream(t, testQueue)
		off, err := workers.NewOffsets(ctx, js)
		if err != nil {
			t.Fatal(err)
		}
		return off
	}
	tmp := t.TempDir()
	lakeA := dir.Lake{Root: filepath.Join(tmp, "a")}
	c := lakeCheck{state: "data dir test", lake: lakeA.Root}

	// Writers of one new state, on a new lake, all at once: one id.
	first := offsets()
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if err := c.check(ctx, first, lakeA, log); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	mark, _, err := first.Lake(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if id, err := readMarker(ctx, lakeA); err != nil || id != mark.ID || !mark.Marked {
		t.Fatalf("lake marker %q (%v), state's mark %+v: want the same id, marked", id, err, mark)
	}

	// Another, new state on that lake: refused; with join, it takes the lake's id.
	second := offsets()
	if err := c.check(ctx, second, lakeA, log); !errors.Is(err, errStateMismatch) || !strings.Contains(err.Error(), "--join-lake") {
		t.Fatalf("a new state on a written lake: err=%v, want a refusal naming --join-lake", err)
	}
	c.join = true
	if err := c.check(ctx, second, lakeA, log); err != nil {
		t.Fatal(err)
	}
	if m, _, _ := second.Lake(ctx); m != mark {
		t.Fatalf("joined state's mark %+v, want %+v", m, mark)
	}

	// A lake with a file of that name that is not ours.
	lakeB := dir.Lake{Root: filepath.Join(tmp, "b")}
	if err := os.MkdirAll(lakeB.Root, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(lakeB.Root, lakeMarker), []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := c.check(ctx, offsets(), lakeB, log); err == nil || !strings.Contains(err.Error(), "not an entralake lake marker") {
		t.Fatalf("a foreign %s: err=%v", lakeMarker, err)
	}
}
