package workers

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/entralake/entralake/schema"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func testJS(t *testing.T) jetstream.JetStream {
	t.Helper()
	s, err := StartServer(ServerConfig{Dir: t.TempDir(), Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Shutdown)
	js := connectJS(t, s.ClientURL())
	topo := DefaultTopology()
	topo.ParserAckWait = 2 * time.Second
	if err := Setup(t.Context(), js, topo); err != nil {
		t.Fatal(err)
	}
	// Setup is idempotent.
	if err := Setup(t.Context(), js, topo); err != nil {
		t.Fatalf("second Setup: %v", err)
	}
	return js
}

type permanent struct{}

func (permanent) Error() string   { return "bad task" }
func (permanent) Permanent() bool { return true }

// TestPool checks how each outcome of a handler settles its message.
func TestPool(t *testing.T) {
	js := testJS(t)
	ctx := t.Context()
	for i := 0; i < 4; i++ {
		m := nats.NewMsg(SubjectTasks)
		m.Data = []byte(strconv.Itoa(i))
		if _, err := js.PublishMsg(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	var calls [4]atomic.Int32
	h := HandlerFunc(func(ctx context.Context, msg schema.Message) error {
		i, _ := strconv.Atoi(string(msg.Data()))
		n := calls[i].Add(1)
		switch i {
		case 0: // succeeds
			return nil
		case 1: // fails once, then succeeds
			if n == 1 {
				return errors.New("transient")
			}
			return nil
		case 2: // can never succeed
			return permanent{}
		default: // always fails: dead-lettered after MaxDeliver
			return errors.New("still broken")
		}
	})
	cons, err := js.Consumer(ctx, StreamTasks, ConsumerParsers)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := NewPool(js, cons, h, WithConcurrency(2), WithMaxDeliver(2))
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- pool.Run(runCtx) }()
	wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
	defer wcancel()
	if err := WaitIdle(wctx, js, 100*time.Millisecond, nil); err != nil {
		t.Fatalf("tasks not settled: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	for i, want := range []int32{1, 2, 1, 2} {
		if got := calls[i].Load(); got != want {
			t.Errorf("message %d handled %d times, want %d", i, got, want)
		}
	}
	dlq, err := js.Stream(ctx, StreamDLQ)
	if err != nil {
		t.Fatal(err)
	}
	info, err := dlq.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := info.State.Msgs, uint64(2); got != want {
		t.Fatalf("dead letters=%d, want %d", got, want)
	}
	m, err := dlq.GetMsg(ctx, info.State.FirstSeq)
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Header.Get(HeaderDLQError); got != "bad task" {
		t.Errorf("dead letter error=%q, want %q", got, "bad task")
	}
}

func TestOptionsValidate(t *testing.T) {
	for _, o := range []Option{WithConcurrency(0), WithMaxDeliver(0), WithInProgressEvery(0)} {
		if _, err := NewPool(nil, nil, nil, o); !errors.Is(err, ErrInvalidOption) {
			t.Errorf("err=%v, want ErrInvalidOption", err)
		}
	}
}

func TestRetryDeadLetter(t *testing.T) {
	js := testJS(t)
	ctx := t.Context()
	m := nats.NewMsg(SubjectTasks)
	m.Data = []byte("task")
	if _, err := js.PublishMsg(ctx, m); err != nil {
		t.Fatal(err)
	}
	cons, err := js.Consumer(ctx, StreamTasks, ConsumerParsers)
	if err != nil {
		t.Fatal(err)
	}
	var fixed atomic.Bool
	var handled atomic.Int32
	pool, err := NewPool(js, cons, HandlerFunc(func(context.Context, schema.Message) error {
		handled.Add(1)
		if fixed.Load() {
			return nil
		}
		return permanent{}
	}))
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go pool.Run(runCtx)
	var dls []DeadLetter
	for deadline := time.Now().Add(20 * time.Second); len(dls) == 0; {
		if time.Now().After(deadline) {
			t.Fatal("no dead letter appeared")
		}
		time.Sleep(50 * time.Millisecond)
		if dls, err = DeadLetters(ctx, js); err != nil {
			t.Fatal(err)
		}
	}
	if got := dls[0]; got.Stream != StreamTasks || got.Subject != SubjectTasks || string(got.Data) != "task" || got.Error != "bad task" {
		t.Fatalf("dead letter %+v", got)
	}
	fixed.Store(true)
	if err := RetryDeadLetter(ctx, js, dls[0].Seq); err != nil {
		t.Fatal(err)
	}
	if err := RetryDeadLetter(ctx, js, dls[0].Seq); !errors.Is(err, ErrNoDeadLetter) {
		t.Fatalf("second retry err=%v, want ErrNoDeadLetter", err)
	}
	wctx, wcancel := context.WithTimeout(ctx, 20*time.Second)
	defer wcancel()
	if err := WaitIdle(wctx, js, 50*time.Millisecond, nil); err != nil {
		t.Fatal(err)
	}
	if got := handled.Load(); got != 2 {
		t.Fatalf("handled %d times, want 2", got)
	}
	if dls, _ := DeadLetters(ctx, js); len(dls) != 0 {
		t.Fatalf("dead letters left: %d", len(dls))
	}
}

// TestEnsureKeepsSettings checks that a read-only process (Ensure) does not
// change what the stages set up.
func TestEnsureKeepsSettings(t *testing.T) {
	js := testJS(t) // parsers' AckWait 2s
	if err := Ensure(t.Context(), js, DefaultTopology()); err != nil {
		t.Fatal(err)
	}
	cons, err := js.Consumer(t.Context(), StreamTasks, ConsumerParsers)
	if err != nil {
		t.Fatal(err)
	}
	info, err := cons.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := info.Config.AckWait, 2*time.Second; got != want {
		t.Fatalf("AckWait after Ensure=%s, want %s (unchanged)", got, want)
	}
}

// TestSettle checks that a blob's committed offset advances only when every
// batch of a task is in the lake, and only in blob order.
func TestSettle(t *testing.T) {
	ctx := t.Context()
	tasks, ledger, kv := stateBuckets(t)
	off := &Offsets{KV: kv}
	const c, b = "insights-logs-signinlogs", "y=2025/m=04/d=11/h=16/m=00/PT1H.json"
	if err := tasks.Done(ctx, "t1", schema.TaskDone{Container: c, Blob: b, Start: 0, Consumed: 100, Batches: []string{"a", "b"}}); err != nil {
		t.Fatal(err)
	}
	if err := tasks.Done(ctx, "t2", schema.TaskDone{Container: c, Blob: b, Start: 100, Consumed: 180, Batches: []string{"c"}}); err != nil {
		t.Fatal(err)
	}
	committed := func() int64 {
		st, _, err := off.Get(ctx, c, b)
		if err != nil {
			t.Fatal(err)
		}
		return st.Committed
	}
	steps := []struct {
		done []string
		want int64
	}{
		{[]string{"c"}, 0},   // the second range is in the lake, the first is not
		{[]string{"a"}, 0},   // half of the first
		{[]string{"b"}, 180}, // both ranges settle, in order
		{nil, 180},           // nothing more
	}
	for i, s := range steps {
		if err := ledger.Done(ctx, s.done); err != nil {
			t.Fatal(err)
		}
		if _, err := tasks.Settle(ctx, off); err != nil {
			t.Fatal(err)
		}
		if got := committed(); got != s.want {
			t.Fatalf("step %d: committed=%d, want %d", i, got, s.want)
		}
	}
}

// TestPoolTakesOnlyWhatItStarts checks that a pool takes a message only when
// a handler is free to start it. A message waiting in a busy process's own
// buffer gets no in-progress acks: once the ack wait runs out it goes to
// another process, and both handle it.
func TestPoolTakesOnlyWhatItStarts(t *testing.T) {
	js := testJS(t) // parsers' AckWait 2s
	ctx := t.Context()
	cons, err := js.Consumer(ctx, StreamTasks, ConsumerParsers)
	if err != nil {
		t.Fatal(err)
	}
	ackWait := cons.CachedInfo().Config.AckWait
	for i := range 2 {
		m := nats.NewMsg(SubjectTasks)
		m.Data = []byte(strconv.Itoa(i))
		if _, err := js.PublishMsg(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	var calls [2]atomic.Int32
	started := make(chan struct{})
	var once sync.Once
	h := HandlerFunc(func(ctx context.Context, msg schema.Message) error {
		i, _ := strconv.Atoi(string(msg.Data()))
		calls[i].Add(1)
		if i == 0 {
			once.Do(func() { close(started) })
			time.Sleep(3 * ackWait) // a long task, kept alive by in-progress acks
		}
		return nil
	})
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 2)
	run := func() {
		pool, err := NewPool(js, cons, h, WithConcurrency(1))
		if err != nil {
			t.Fatal(err)
		}
		go func() { done <- pool.Run(runCtx) }()
	}
	run() // the busy process: takes message 0
	<-started
	// Give it the time to take message 1 as well, if it would.
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if info, err := cons.Info(ctx); err == nil && info.NumAckPending == 2 {
			break
		}
	}
	run() // an idle process
	wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
	defer wcancel()
	if err := WaitIdle(wctx, js, 100*time.Millisecond, nil); err != nil {
		t.Fatalf("tasks not settled: %v", err)
	}
	cancel()
	for range 2 {
		if err := <-done; err != nil {
			t.Fatalf("Run: %v", err)
		}
	}
	for i := range calls {
		if got := calls[i].Load(); got != 1 {
			t.Errorf("message %d handled %d times, want 1", i, got)
		}
	}
	info, err := cons.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := info.Delivered.Consumer; got != 2 {
		t.Errorf("the server made %d deliveries of 2 messages, want 2", got)
	}
}
