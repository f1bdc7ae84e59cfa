package workers

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// TestQueued checks what Queued counts: tasks waiting or held by a parser,
// and batches not yet delivered, but not batches a writer holds.
func TestQueued(t *testing.T) {
	js := testJS(t)
	ctx := t.Context()
	// The server updates a consumer's counts just after a publish: wait
	// up to 3 s for them.
	check := func(wantTasks, wantBatches uint64) {
		t.Helper()
		deadline := time.Now().Add(3 * time.Second)
		for {
			tasks, batches, err := Queued(ctx, js)
			if err != nil {
				t.Fatal(err)
			}
			if tasks == wantTasks && batches == wantBatches {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("Queued = %d tasks, %d batches; want %d, %d", tasks, batches, wantTasks, wantBatches)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	check(0, 0)
	if _, err := js.Publish(ctx, SubjectTasks, []byte("{}")); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, SubjectBatches+".azure_audit", []byte("x")); err != nil {
		t.Fatal(err)
	}
	check(1, 1)
	// Delivered but not acked: a task held by a parser still counts, a
	// batch held by a writer does not.
	for _, c := range []struct{ stream, name string }{{StreamTasks, ConsumerParsers}, {StreamBatches, ConsumerWriters}} {
		cons, err := js.Consumer(ctx, c.stream, c.name)
		if err != nil {
			t.Fatal(err)
		}
		b, err := cons.Fetch(1, jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		for range b.Messages() {
		}
	}
	check(1, 0)

	// A writer holding MaxAckPending batches gets no more: those waiting
	// do not count, or run --once would wait for them forever.
	topo := DefaultTopology()
	topo.ParserAckWait = 2 * time.Second
	topo.WriterMaxAckPending = 1
	if err := Setup(ctx, js, topo); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, SubjectBatches+".azure_audit", []byte("y")); err != nil {
		t.Fatal(err)
	}
	check(1, 0)
	topo.WriterMaxAckPending = 2
	if err := Setup(ctx, js, topo); err != nil {
		t.Fatal(err)
	}
	check(1, 1)
}

// TestReset checks that Reset leaves streams and buckets empty and usable.
func TestReset(t *testing.T) {
	js := testJS(t)
	ctx := t.Context()
	if _, err := js.Publish(ctx, SubjectTasks, []byte("{}")); err != nil {
		t.Fatal(err)
	}
	off, err := NewOffsets(ctx, js)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := off.SetLake(ctx, LakeMark{ID: "x", Marked: true}, 0); !ok || err != nil {
		t.Fatalf("SetLake = %v, %v", ok, err)
	}
	if err := Reset(ctx, js, DefaultTopology()); err != nil {
		t.Fatal(err)
	}
	tasks, batches, err := Backlog(ctx, js)
	if err != nil || tasks != 0 || batches != 0 {
		t.Fatalf("Backlog after Reset = %d, %d, %v; want 0, 0", tasks, batches, err)
	}
	off, err = NewOffsets(ctx, js)
	if err != nil {
		t.Fatal(err)
	}
	if m, rev, err := off.Lake(ctx); err != nil || rev != 0 {
		t.Fatalf("lake mark after Reset = %+v (revision %d), %v; want none", m, rev, err)
	}
}
