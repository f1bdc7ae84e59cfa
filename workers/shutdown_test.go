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

// longAckWait is the writers' AckWait in these tests: a message left in
// flight comes back only after it, long after a test gave up on it.
const longAckWait = time.Hour

// longAckTopology is the default topology with longAckWait for writers.
func longAckTopology() Topology {
	topo := DefaultTopology()
	topo.WriterAckWait = longAckWait
	return topo
}

// publishBatches publishes n messages to the batch stream, whose consumer
// is set to wait longAckWait before it redelivers: a message left in
// flight stays in flight for the whole test.
func publishBatches(t *testing.T, js jetstream.JetStream, n int) jetstream.Consumer {
	t.Helper()
	if err := Setup(t.Context(), js, longAckTopology()); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		m := nats.NewMsg(SubjectBatches + ".t")
		m.Data = []byte(strconv.Itoa(i))
		if _, err := js.PublishMsg(t.Context(), m); err != nil {
			t.Fatal(err)
		}
	}
	cons, err := js.Consumer(t.Context(), StreamBatches, ConsumerWriters)
	if err != nil {
		t.Fatal(err)
	}
	return cons
}

// takeAll fetches every message the consumer can deliver now, waiting for
// want of them well within its AckWait: a message left in flight by a
// stopped pool would come back only after AckWait, and is missed.
func takeAll(t *testing.T, cons jetstream.Consumer, want int) int {
	t.Helper()
	got := 0
	for deadline := time.Now().Add(20 * time.Second); got < want && time.Now().Before(deadline); {
		batch, err := cons.Fetch(want-got, jetstream.FetchMaxWait(time.Second))
		if err != nil {
			t.Fatal(err)
		}
		for msg := range batch.Messages() {
			got++
			_ = msg.Ack()
		}
	}
	return got
}

// TestShutdownReleasesPulled stops a pool while its handlers are busy and
// more messages wait: the running handlers finish and ack, and nothing
// else stays in flight (a pool that pulled ahead into a client buffer and
// dropped it at shutdown left those messages in flight until AckWait).
func TestShutdownReleasesPulled(t *testing.T) {
	js := testJS(t)
	cons := publishBatches(t, js, 20)
	var running atomic.Int32
	unblock := make(chan struct{})
	var outcomes sync.Map
	h := HandlerFunc(func(ctx context.Context, msg schema.Message) error {
		running.Add(1)
		<-unblock
		return nil
	})
	pool, err := NewPool(js, cons, h, WithConcurrency(3), WithReport(func(o Outcome, _ error) {
		n, _ := outcomes.LoadOrStore(o, new(atomic.Int32))
		n.(*atomic.Int32).Add(1)
	}))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- pool.Run(ctx) }()
	for running.Load() < 3 {
		time.Sleep(5 * time.Millisecond)
	}
	// Three messages are in handlers; a pool that pulls ahead holds more
	// in its buffer.
	time.Sleep(100 * time.Millisecond)
	cancel()
	close(unblock)
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	acked := 0
	if n, ok := outcomes.Load(OutcomeAck); ok {
		acked = int(n.(*atomic.Int32).Load())
	}
	if got, want := takeAll(t, cons, 20-acked), 20-acked; got != want {
		t.Errorf("messages delivered again after shutdown=%d, want %d (20 published, %d acked)", got, want, acked)
	}
}

// TestShutdownReleasesCut checks that a handler cut by the drain timeout
// gives its message back without counting a failure: with MaxDeliver 1 it
// would otherwise be dead-lettered.
func TestShutdownReleasesCut(t *testing.T) {
	js := testJS(t)
	cons := publishBatches(t, js, 1)
	var outcome atomic.Value
	runCut(t, js, cons, WithMaxDeliver(1), WithReport(func(o Outcome, _ error) { outcome.Store(o) }))
	if got, want := outcome.Load(), OutcomeReleased; got != want {
		t.Errorf("outcome=%v, want %v", got, want)
	}
	if got, want := takeAll(t, cons, 1), 1; got != want {
		t.Errorf("messages delivered again=%d, want %d (the cut message back in the queue)", got, want)
	}
	if dls, err := DeadLetters(t.Context(), js); err != nil || len(dls) != 0 {
		t.Errorf("dead letters=%d (err %v), want 0", len(dls), err)
	}
}

// runCut runs a pool whose handler holds its message until the drain
// timeout (10ms) cuts it, stops the pool and waits for it.
func runCut(t *testing.T, js jetstream.JetStream, cons jetstream.Consumer, opts ...Option) {
	t.Helper()
	started := make(chan struct{})
	h := HandlerFunc(func(ctx context.Context, msg schema.Message) error {
		close(started)
		<-ctx.Done()
		return ctx.Err()
	})
	pool, err := NewPool(js, cons, h, append(opts, WithDrainTimeout(10*time.Millisecond))...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- pool.Run(ctx) }()
	<-started
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
}

type unusable struct{}

func (unusable) Error() string  { return "lake /x: permission denied" }
func (unusable) Unusable() bool { return true }

type kept struct{}

func (kept) Error() string  { return "kept" }
func (kept) Deferred() bool { return true }

// TestDeferredSettle checks that a message its handler kept and later
// failed through Settle is retried with the pool's accounting and
// dead-lettered after MaxDeliver, and that an unusable lake is retried,
// not dead-lettered at once.
func TestDeferredSettle(t *testing.T) {
	js := testJS(t)
	cons := publishBatches(t, js, 1)
	var handled atomic.Int32
	var reported sync.Map
	h := HandlerFunc(func(ctx context.Context, msg schema.Message) error {
		handled.Add(1)
		go msg.Settle(context.WithoutCancel(ctx), unusable{})
		return kept{}
	})
	pool, err := NewPool(js, cons, h, WithMaxDeliver(2), WithReport(func(o Outcome, err error) {
		if IsUnusable(err) {
			reported.Store(o, true)
		}
	}))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go pool.Run(ctx)
	var dls []DeadLetter
	for deadline := time.Now().Add(30 * time.Second); len(dls) == 0; {
		if time.Now().After(deadline) {
			t.Fatalf("no dead letter after %d deliveries", handled.Load())
		}
		time.Sleep(50 * time.Millisecond)
		if dls, err = DeadLetters(t.Context(), js); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := handled.Load(), int32(2); got != want {
		t.Errorf("deliveries=%d, want %d (MaxDeliver)", got, want)
	}
	if got, want := dls[0].Error, (unusable{}).Error(); got != want {
		t.Errorf("dead letter error=%q, want %q", got, want)
	}
	for _, o := range []Outcome{OutcomeRetry, OutcomeDeadLetter} {
		if _, ok := reported.Load(o); !ok {
			t.Errorf("outcome %s of the unusable error not reported", o)
		}
	}
	if !IsUnusable(errors.Join(errors.New("x"), unusable{})) || IsUnusable(errors.New("x")) {
		t.Error("IsUnusable does not follow the error chain")
	}
}

// TestReleaseSurvivesRestart checks that a message given back at shutdown
// is delivered at once by a restarted server (the embedded server of the
// next `run`), not after AckWait: a nak without delay is kept only in the
// server's memory.
func TestReleaseSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	start := func() (jetstream.JetStream, func()) {
		s, err := StartServer(ServerConfig{Dir: dir, Port: -1})
		if err != nil {
			t.Fatal(err)
		}
		nc, err := nats.Connect(s.ClientURL())
		if err != nil {
			t.Fatal(err)
		}
		js, err := jetstream.New(nc)
		if err != nil {
			t.Fatal(err)
		}
		if err := Setup(t.Context(), js, longAckTopology()); err != nil {
			t.Fatal(err)
		}
		return js, func() { nc.Close(); s.Shutdown(); s.WaitForShutdown() }
	}
	js, stop := start()
	cons := publishBatches(t, js, 1)
	runCut(t, js, cons)
	stop()
	js, stop = start()
	defer stop()
	cons, err := js.Consumer(t.Context(), StreamBatches, ConsumerWriters)
	if err != nil {
		t.Fatal(err)
	}
	if got := takeAll(t, cons, 1); got != 1 {
		t.Fatalf("after a restart, the released message was delivered %d times, want 1 (AckWait is 1h)", got)
	}
}

// TestNoMoreWorkDropsPulls: a pool whose context ends with ErrNoMoreWork
// (run --once is done) drops its open pull requests and returns at once;
// without it Run waited for each of them to expire, a second at the end
// of every run --once.
func TestNoMoreWorkDropsPulls(t *testing.T) {
	js := testJS(t)
	cons, err := js.Consumer(t.Context(), StreamTasks, ConsumerParsers)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := NewPool(js, cons, HandlerFunc(func(context.Context, schema.Message) error { return nil }), WithConcurrency(2))
	if err != nil {
		t.Fatal(err)
	}
	pool.pullWait = time.Hour // expiry would not end Run within the test
	ctx, cancel := context.WithCancelCause(t.Context())
	done := make(chan error, 1)
	go func() { done <- pool.Run(ctx) }()
	for {
		info, err := cons.Info(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if info.NumWaiting >= 2 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel(ErrNoMoreWork)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run still waits for its pull requests to expire")
	}
}
