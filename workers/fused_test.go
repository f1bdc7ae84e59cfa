package workers_test

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/entralake/entralake/schema"
	"github.com/entralake/entralake/schema/schematest"
	"github.com/entralake/entralake/workers"
)

// taskMessage is a task message for blob name.
func taskMessage(t *testing.T, name string) *schematest.Message {
	t.Helper()
	data, err := json.Marshal(schema.Task{Container: "insights-logs-signinlogs", Blob: name, ETag: "e", Start: 0, End: 100, Size: 100})
	if err != nil {
		t.Fatal(err)
	}
	return &schematest.Message{Body: data}
}

// batchMaker is a task handler that makes n batch messages of its task
// with f and keeps them, as a parser handing batches to a writer does.
type batchMaker struct {
	f       *workers.Fused
	n       int
	err     error
	calls   atomic.Int64
	batches []schema.Message
}

func (b *batchMaker) Handle(_ context.Context, msg schema.Message) error {
	b.calls.Add(1)
	var task schema.Task
	if err := json.Unmarshal(msg.Data(), &task); err != nil {
		return err
	}
	for i := range b.n {
		m, err := b.f.Batch(schema.Outgoing{ID: "b" + strconv.Itoa(i), Header: map[string]string{schema.HeaderTask: task.ID(), schema.HeaderBatch: "b" + strconv.Itoa(i)}})
		if err != nil {
			return err
		}
		b.batches = append(b.batches, m)
	}
	return b.err
}

func isDeferred(err error) bool {
	var d interface{ Deferred() bool }
	return errors.As(err, &d) && d.Deferred()
}

// TestFusedAcksAfterEveryBatch: the task is held while any of its batches
// is not in the lake, gets their in-progress acks meanwhile, and is acked
// once the last one is.
func TestFusedAcksAfterEveryBatch(t *testing.T) {
	h := &batchMaker{n: 3}
	f := workers.NewFused(h, time.Hour)
	h.f = f
	msg := taskMessage(t, "a/PT1H.json")
	if err := f.Handle(t.Context(), msg); !isDeferred(err) {
		t.Fatalf("Handle = %v, want the task held", err)
	}
	if got := f.Held(); got != 1 {
		t.Fatalf("held %d tasks, want 1", got)
	}
	if got := h.batches[0].Header(schema.HeaderBatch); got != "b0" {
		t.Errorf("batch header %q, want b0", got)
	}
	for range 2 {
		_ = h.batches[1].InProgress()
	}
	if got := msg.Touches(); got != 1 {
		t.Errorf("task touched %d times for two touches within half an interval, want 1", got)
	}
	_ = h.batches[0].Ack(t.Context())
	_ = h.batches[0].Ack(t.Context()) // settled once
	_ = h.batches[2].Ack(t.Context())
	if msg.Acks() != 0 {
		t.Fatal("task acked while one of its batches waits for its file")
	}
	_ = h.batches[1].Ack(t.Context())
	if msg.Acks() != 1 || len(msg.Naks()) != 0 || len(msg.Settled()) != 0 {
		t.Fatalf("task acks=%d naks=%v settled=%v, want one ack", msg.Acks(), msg.Naks(), msg.Settled())
	}
	if got := f.Held(); got != 0 {
		t.Errorf("held %d tasks after the ack, want 0", got)
	}
}

// TestFusedNoBatches: a task that gave no batch (or whose batches were all
// in the lake already, acked during its Handle) is settled by the pool at
// once, as its handler said.
func TestFusedNoBatches(t *testing.T) {
	h := &batchMaker{}
	f := workers.NewFused(h, time.Hour)
	h.f = f
	if err := f.Handle(t.Context(), taskMessage(t, "a/PT1H.json")); err != nil {
		t.Fatalf("Handle = %v, want nil", err)
	}
	h.err = errors.New("read failed")
	if err := f.Handle(t.Context(), taskMessage(t, "b/PT1H.json")); !errors.Is(err, h.err) {
		t.Fatalf("Handle = %v, want the handler's error", err)
	}
	if got := f.Held(); got != 0 {
		t.Errorf("held %d tasks, want 0", got)
	}
}

// TestFusedFailures: a failed file fails the task, with its error, but
// only once every other batch of it is settled; a batch given back
// unwritten gives the task back; a handler that fails after sending
// batches fails the task once they are settled.
func TestFusedFailures(t *testing.T) {
	writeErr := errors.New("disk full")
	t.Run("write", func(t *testing.T) {
		h := &batchMaker{n: 2}
		f := workers.NewFused(h, time.Hour)
		h.f = f
		msg := taskMessage(t, "a/PT1H.json")
		_ = f.Handle(t.Context(), msg)
		h.batches[0].Settle(t.Context(), writeErr)
		if len(msg.Settled()) != 0 {
			t.Fatal("task settled while a batch is still buffered")
		}
		_ = h.batches[1].Ack(t.Context())
		if got := msg.Settled(); len(got) != 1 || !errors.Is(got[0], writeErr) || msg.Acks() != 0 {
			t.Fatalf("task settled with %v (acks %d), want the write error", got, msg.Acks())
		}
	})
	t.Run("released", func(t *testing.T) {
		h := &batchMaker{n: 2}
		f := workers.NewFused(h, time.Hour)
		h.f = f
		msg := taskMessage(t, "a/PT1H.json")
		_ = f.Handle(t.Context(), msg)
		_ = h.batches[0].Ack(t.Context())
		_ = h.batches[1].Nak(0)
		if got := msg.Naks(); len(got) != 1 || msg.Acks() != 0 {
			t.Fatalf("task naks=%v acks=%d, want given back once", got, msg.Acks())
		}
		if got := f.Released.Load(); got != 1 {
			t.Errorf("Released=%d, want 1", got)
		}
	})
	t.Run("handler", func(t *testing.T) {
		h := &batchMaker{n: 1, err: errors.New("parse cut short")}
		f := workers.NewFused(h, time.Hour)
		h.f = f
		msg := taskMessage(t, "a/PT1H.json")
		if err := f.Handle(t.Context(), msg); !isDeferred(err) {
			t.Fatalf("Handle = %v, want the task held until its batch is settled", err)
		}
		_ = h.batches[0].Ack(t.Context())
		if got := msg.Settled(); len(got) != 1 || !errors.Is(got[0], h.err) {
			t.Fatalf("task settled with %v, want the handler's error", got)
		}
	})
}

// TestFusedRedeliveredWhileHeld: a task delivered again while its first
// delivery is held is not parsed again; both deliveries are acked with
// the first one's batches.
func TestFusedRedeliveredWhileHeld(t *testing.T) {
	h := &batchMaker{n: 1}
	f := workers.NewFused(h, time.Hour)
	h.f = f
	first, again := taskMessage(t, "a/PT1H.json"), taskMessage(t, "a/PT1H.json")
	_ = f.Handle(t.Context(), first)
	if err := f.Handle(t.Context(), again); !isDeferred(err) {
		t.Fatalf("Handle of the redelivery = %v, want it held", err)
	}
	if got := h.calls.Load(); got != 1 {
		t.Fatalf("the task was parsed %d times, want 1", got)
	}
	_ = h.batches[0].Ack(t.Context())
	if first.Acks() != 1 || again.Acks() != 1 {
		t.Fatalf("acks: first %d, redelivery %d; want 1 and 1", first.Acks(), again.Acks())
	}
}

// TestFusedBatchOfUnknownTask: a batch must belong to a held task.
func TestFusedBatchOfUnknownTask(t *testing.T) {
	f := workers.NewFused(workers.HandlerFunc(func(context.Context, schema.Message) error { return nil }), time.Second)
	if _, err := f.Batch(schema.Outgoing{ID: "x", Header: map[string]string{schema.HeaderTask: "nope"}}); !errors.Is(err, workers.ErrNotHeld) {
		t.Fatalf("Batch = %v, want ErrNotHeld", err)
	}
}
