package workers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/entralake/entralake/schema"
	"github.com/entralake/entralake/workers/workerstest"
	"github.com/nats-io/nats.go/jetstream"
)

// countingKV counts Get calls and fails them past limit, so that a Settle
// that reads the offsets once per task per round stops at once instead of
// running for minutes.
type countingKV struct {
	jetstream.KeyValue
	gets  atomic.Int64
	limit int64
}

var errTooManyGets = errors.New("too many offsets gets")

func (c *countingKV) Get(ctx context.Context, key string) (jetstream.KeyValueEntry, error) {
	if c.gets.Add(1) > c.limit {
		return nil, errTooManyGets
	}
	return c.KeyValue.Get(ctx, key)
}

// stateBuckets opens, on a new server, the buckets Settle works with:
// finished tasks, the batch ledger and the offsets.
func stateBuckets(t *testing.T) (*Tasks, *Ledger, jetstream.KeyValue) {
	t.Helper()
	js := testJS(t)
	tasks, err := NewTasks(t.Context(), js)
	if err != nil {
		t.Fatal(err)
	}
	ledger, err := NewLedger(t.Context(), js)
	if err != nil {
		t.Fatal(err)
	}
	kv, err := js.KeyValue(t.Context(), BucketOffsets)
	if err != nil {
		t.Fatal(err)
	}
	return tasks, ledger, kv
}

// putState stores a blob's state as the lister would.
func putState(t *testing.T, kv jetstream.KeyValue, st schema.BlobState) {
	t.Helper()
	data, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(t.Context(), offsetKey(st.Container, st.Blob), data); err != nil {
		t.Fatal(err)
	}
}

// TestSettleManyTasks records 10,000 finished tasks of 10 blobs, in random
// order, every batch in the lake: one Settle settles them all, moves every
// blob's committed offset to its end, reads the offsets once per blob (not
// once per task per round) and empties the tasks bucket.
func TestSettleManyTasks(t *testing.T) {
	ctx := t.Context()
	tasks, ledger, kv := stateBuckets(t)
	const blobs, perBlob, size = 10, 1000, 100
	type rec struct {
		id string
		d  schema.TaskDone
	}
	var all []rec
	for b := range blobs {
		name := fmt.Sprintf("tenantId=t/y=2025/m=04/d=11/h=%02d/m=00/PT1H.json", b)
		putState(t, kv, schema.BlobState{Container: "insights-logs-signinlogs", Blob: name, Published: perBlob * size})
		for i := range perBlob {
			all = append(all, rec{fmt.Sprintf("t%d-%d", b, i), schema.TaskDone{Container: "insights-logs-signinlogs", Blob: name,
				Start: int64(i * size), Consumed: int64(i*size + size), Batches: []string{fmt.Sprintf("b%d-%d", b, i)}}})
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	rng.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	for _, r := range all {
		if err := ledger.Done(ctx, r.d.Batches); err != nil {
			t.Fatal(err)
		}
		if err := tasks.Done(ctx, r.id, r.d); err != nil {
			t.Fatal(err)
		}
	}
	counting := &countingKV{KeyValue: kv, limit: 2 * blobs}
	n, err := tasks.Settle(ctx, &Offsets{KV: counting})
	if err != nil {
		t.Fatalf("Settle: %v (after %d offsets gets)", err, counting.gets.Load())
	}
	if got, want := n, blobs*perBlob; got != want {
		t.Fatalf("settled %d tasks, want %d", got, want)
	}
	if got, want := counting.gets.Load(), int64(blobs); got != want {
		t.Fatalf("offsets gets=%d, want %d (one per blob)", got, want)
	}
	off := &Offsets{KV: kv}
	for b := range blobs {
		name := fmt.Sprintf("tenantId=t/y=2025/m=04/d=11/h=%02d/m=00/PT1H.json", b)
		st, _, err := off.Get(ctx, "insights-logs-signinlogs", name)
		if err != nil {
			t.Fatal(err)
		}
		if st.Committed != perBlob*size || st.Published != perBlob*size {
			t.Fatalf("blob %d: %+v, want published and committed %d", b, st, perBlob*size)
		}
	}
	keys, err := tasks.KV.ListKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	left := 0
	for range keys.Keys() {
		left++
	}
	if left != 0 {
		t.Fatalf("%d task keys left after settling, want 0", left)
	}
}

// listerGoroutines counts goroutines of nats.go's key listers.
func listerGoroutines() int {
	buf := make([]byte, 1<<22)
	buf = buf[:runtime.Stack(buf, true)]
	return strings.Count(string(buf), "jetstream.(*kvs).ListKeys.func")
}

// TestSettleStopsLister makes Settle fail on a task it cannot decode while
// more than the key lister's buffer (256 keys) is still to come: the
// lister's goroutine must end, not stay blocked forever.
func TestSettleStopsLister(t *testing.T) {
	js := testJS(t)
	ctx := t.Context()
	tasks, err := NewTasks(ctx, js)
	if err != nil {
		t.Fatal(err)
	}
	off, err := NewOffsets(ctx, js)
	if err != nil {
		t.Fatal(err)
	}
	before := listerGoroutines()
	if _, err := tasks.KV.Put(ctx, "t.broken", []byte("{not json")); err != nil {
		t.Fatal(err)
	}
	for i := range 2000 {
		if err := tasks.Done(ctx, fmt.Sprintf("x%d", i), schema.TaskDone{Container: "c", Blob: fmt.Sprintf("b%d", i), Start: 10, Consumed: 20}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tasks.Settle(ctx, off); err == nil {
		t.Fatal("Settle of an undecodable task: no error")
	}
	// The goroutine ends as soon as nothing blocks it; give it 10 s.
	deadline := time.Now().Add(10 * time.Second)
	for listerGoroutines() > before {
		if time.Now().After(deadline) {
			t.Fatalf("%d key lister goroutines still running after Settle returned, want %d", listerGoroutines(), before)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestSettleKeepsConcurrentPublish has a lister publish a new range of a
// blob (Published moves from 100 to 250) between Settle's read of the blob
// and its write of the committed offset: the published offset must not go
// back, and the committed one must still advance.
func TestSettleKeepsConcurrentPublish(t *testing.T) {
	ctx := t.Context()
	tasks, ledger, kv := stateBuckets(t)
	const c, b = "insights-logs-signinlogs", "tenantId=t/y=2025/m=04/d=11/h=16/m=00/PT1H.json"
	putState(t, kv, schema.BlobState{Container: c, Blob: b, Published: 100})
	if err := ledger.Done(ctx, []string{"a"}); err != nil {
		t.Fatal(err)
	}
	if err := tasks.Done(ctx, "t1", schema.TaskDone{Container: c, Blob: b, Start: 0, Consumed: 100, Batches: []string{"a"}}); err != nil {
		t.Fatal(err)
	}
	racy := &workerstest.RaceKV{KeyValue: kv, Change: func() {
		putState(t, kv, schema.BlobState{Container: c, Blob: b, Published: 250}) // the lister, meanwhile
	}}
	if n, err := tasks.Settle(ctx, &Offsets{KV: racy}); err != nil || n != 1 {
		t.Fatalf("Settle = %d, %v; want 1 task settled", n, err)
	}
	st, _, err := (&Offsets{KV: kv}).Get(ctx, c, b)
	if err != nil {
		t.Fatal(err)
	}
	if st.Published != 250 || st.Committed != 100 {
		t.Fatalf("state %+v, want published 250 (the lister's) and committed 100", st)
	}
}

// TestUpdateRemembersLastWrite: a lister claims a range, publishes, then
// completes the claim; the completion starts from the state it just
// stored, without reading it again, unless another process wrote since.
func TestUpdateRemembersLastWrite(t *testing.T) {
	_, _, kv := stateBuckets(t)
	ctx := t.Context()
	counting := &countingKV{KeyValue: kv, limit: 100}
	off := &Offsets{KV: counting}
	const c, b = "insights-logs-signinlogs", "tenantId=t/y=2025/m=04/d=11/h=16/m=00/PT1H.json"
	add := func(n int64) schema.BlobState {
		t.Helper()
		st, err := off.Update(ctx, c, b, func(st *schema.BlobState) bool { st.Published += n; return true })
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	add(100)
	if st := add(50); st.Published != 150 || counting.gets.Load() != 1 {
		t.Fatalf("published %d after %d gets; want 150 after 1", st.Published, counting.gets.Load())
	}
	putState(t, kv, schema.BlobState{Container: c, Blob: b, Published: 1000}) // another process
	if st := add(1); st.Published != 1001 {
		t.Fatalf("published %d, want 1001: the other process's write counts", st.Published)
	}
}
