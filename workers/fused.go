package workers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/entralake/entralake/schema"
)

// Fused is the task handler of a process that parses and writes (the
// fused topology): its parsers hand their batches to its writer in memory,
// with no batch stream between them. It runs the parser's Handler on each
// task and holds the task's message until every batch the parser produced
// is settled by the writer. Each batch goes to the writer with a message
// from Batch, in memory, that stands for it; its Ack, Nak, Settle and
// InProgress roll up to the task's message:
//
//   - the task is acked once its handler returned nil and every batch was
//     acked (its file is committed, or the ledger found it in the lake);
//   - it is settled as failed (retried with growing delays, dead-lettered
//     after the last try: the pool's accounting, with the task's delivery
//     count) if its handler or any batch failed;
//   - it is given back at once (Nak) if a batch was given back unwritten
//     (the writer closed before its file was begun);
//   - while its batches wait for their file, it gets their in-progress
//     acks, at most one per half TouchEvery.
//
// A task is settled only once all its batches are, so no batch of an
// earlier delivery is still buffered when the task comes again: the writer
// then finds the written batches in the ledger (by their ids, derived from
// the task and the batch's position) and writes only the others. A task
// delivered again while this process holds it (its in-progress acks came
// late) is not parsed again: it settles with the delivery held.
type Fused struct {
	h     Handler
	touch time.Duration

	mu   sync.Mutex
	held map[string]*heldTask

	// Released counts task deliveries given back unwritten.
	Released atomic.Int64
}

// NewFused returns a Fused that parses tasks with h. touchEvery is how
// often the writer touches what it holds (writer.Config.TouchEvery).
func NewFused(h Handler, touchEvery time.Duration) *Fused {
	return &Fused{h: h, touch: touchEvery, held: map[string]*heldTask{}}
}

// Held returns the number of tasks held: being parsed, or with batches
// not yet in the lake.
func (f *Fused) Held() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.held)
}

// heldTask is a task whose message Fused holds.
type heldTask struct {
	f   *Fused
	id  string
	msg schema.Message

	mu sync.Mutex
	// extra are deliveries of the task that came while it was held.
	extra []schema.Message
	// open counts the handler, until it returns, and the batches not
	// yet settled.
	open     int
	err      error // the first failure
	released bool  // a batch was given back
	touched  time.Time
}

// fusedDeferred tells the pool that Fused settles the task itself.
type fusedDeferred struct{}

func (fusedDeferred) Error() string  { return "task held until its batches are in the lake" }
func (fusedDeferred) Deferred() bool { return true }

// Handle implements Handler.
func (f *Fused) Handle(ctx context.Context, msg schema.Message) error {
	var task schema.Task
	if json.Unmarshal(msg.Data(), &task) != nil {
		return f.h.Handle(ctx, msg) // the handler says what is wrong with it
	}
	id := task.ID()
	f.mu.Lock()
	if t := f.held[id]; t != nil {
		t.mu.Lock()
		t.extra = append(t.extra, msg)
		t.mu.Unlock()
		f.mu.Unlock()
		return fusedDeferred{}
	}
	t := &heldTask{f: f, id: id, msg: msg, open: 1}
	f.held[id] = t
	f.mu.Unlock()
	err := f.h.Handle(ctx, msg)
	t.mu.Lock()
	t.open--
	if err != nil && t.err == nil {
		t.err = err
	}
	if t.open > 0 || t.released {
		t.mu.Unlock()
		if t.open == 0 {
			t.settle(ctx)
		}
		return fusedDeferred{}
	}
	t.mu.Unlock()
	// Nothing left to wait for: the pool settles the task as the handler
	// said, and the deliveries that came meanwhile with it.
	extra := t.forget()
	for _, m := range extra {
		m.Settle(ctx, err)
	}
	return err
}

// ErrNotHeld reports a batch of a task this Fused does not hold.
var ErrNotHeld = errors.New("task not held")

// Batch returns the message that stands for batch m, produced by the
// handler of a task this Fused holds (m.Header[schema.HeaderTask]), and
// counts the batch as open until the message is settled: acked, given
// back (Nak), settled with an error, or terminated. Data returns nil.
func (f *Fused) Batch(m schema.Outgoing) (schema.Message, error) {
	id := m.Header[schema.HeaderTask]
	f.mu.Lock()
	t := f.held[id]
	f.mu.Unlock()
	if t == nil {
		return nil, fmt.Errorf("batch %s: %w: %q", m.ID, ErrNotHeld, id)
	}
	t.mu.Lock()
	t.open++
	t.mu.Unlock()
	return &batchMessage{t: t, header: m.Header}, nil
}

// forget stops holding t and returns the extra deliveries.
func (t *heldTask) forget() []schema.Message {
	t.f.mu.Lock()
	if t.f.held[t.id] == t {
		delete(t.f.held, t.id)
	}
	t.f.mu.Unlock()
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.extra
}

// settle settles the task's deliveries once nothing is open.
func (t *heldTask) settle(ctx context.Context) {
	extra := t.forget()
	t.mu.Lock()
	err, released := t.err, t.released
	t.mu.Unlock()
	for _, m := range append([]schema.Message{t.msg}, extra...) {
		switch {
		case err != nil:
			m.Settle(ctx, err)
		case released:
			_ = m.Nak(0)
			t.f.Released.Add(1)
		default:
			m.Settle(ctx, nil)
		}
	}
}

// batchDone settles one batch: err is its failure, released says it was
// given back unwritten.
func (t *heldTask) batchDone(ctx context.Context, err error, released bool) {
	t.mu.Lock()
	t.open--
	if err != nil && t.err == nil {
		t.err = err
	}
	t.released = t.released || released
	last := t.open == 0
	t.mu.Unlock()
	if last {
		t.settle(ctx)
	}
}

// touch passes an in-progress ack on to the task, at most once per half
// TouchEvery: the writer touches each batch it holds.
func (t *heldTask) touch() error {
	t.mu.Lock()
	now := time.Now()
	if now.Sub(t.touched) < t.f.touch/2 {
		t.mu.Unlock()
		return nil
	}
	t.touched = now
	t.mu.Unlock()
	return t.msg.InProgress()
}

// batchMessage is a batch handed to the writer in memory, as a
// schema.Message whose settling rolls up to its task.
type batchMessage struct {
	t       *heldTask
	header  map[string]string
	settled atomic.Bool
}

var _ schema.Message = (*batchMessage)(nil)

func (b *batchMessage) done(ctx context.Context, err error, released bool) {
	if b.settled.CompareAndSwap(false, true) {
		b.t.batchDone(ctx, err, released)
	}
}

// Data implements schema.Message: the batch was never encoded.
func (b *batchMessage) Data() []byte { return nil }

// Header implements schema.Message.
func (b *batchMessage) Header(key string) string { return b.header[key] }

// Ack implements schema.Message: the batch is in the lake. The task is
// acked (and the call returns) once all its batches are.
func (b *batchMessage) Ack(ctx context.Context) error {
	b.done(ctx, nil, false)
	return nil
}

// Nak implements schema.Message: the batch was given back unwritten, and
// so is its task once its other batches are settled.
func (b *batchMessage) Nak(time.Duration) error {
	b.done(context.Background(), nil, true)
	return nil
}

// InProgress implements schema.Message.
func (b *batchMessage) InProgress() error { return b.t.touch() }

// Term implements schema.Message as a failure of the batch.
func (b *batchMessage) Term(reason string) error {
	b.done(context.Background(), errors.New(reason), false)
	return nil
}

// Delivered implements schema.Message: the task's delivery count.
func (b *batchMessage) Delivered() uint64 { return b.t.msg.Delivered() }

// Settle implements schema.Message: nil is Ack, an error fails the task.
func (b *batchMessage) Settle(ctx context.Context, err error) { b.done(ctx, err, false) }
