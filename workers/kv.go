package workers

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/entralake/entralake/schema"
	"github.com/nats-io/nats.go/jetstream"
)

// Ledger keeps, in a key-value bucket, which lake file holds each batch.
type Ledger struct{ KV jetstream.KeyValue }

// NewLedger opens the files bucket.
func NewLedger(ctx context.Context, js jetstream.JetStream) (*Ledger, error) {
	kv, err := openKV(ctx, js, BucketFiles)
	if err != nil {
		return nil, err
	}
	return &Ledger{KV: kv}, nil
}

// Lookup returns the file recorded for a batch.
func (l *Ledger) Lookup(ctx context.Context, batchID string) (string, bool, error) {
	e, err := l.KV.Get(ctx, "b."+batchID)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return string(e.Value()), true, nil
}

// Done marks batches whose file is in the lake.
func (l *Ledger) Done(ctx context.Context, ids []string) error {
	for _, id := range ids {
		if _, err := l.KV.Put(ctx, "d."+id, []byte{'1'}); err != nil {
			return err
		}
	}
	return nil
}

// Record records file as the holder of every batch in ids.
func (l *Ledger) Record(ctx context.Context, file string, ids []string) error {
	for _, id := range ids {
		if _, err := l.KV.Put(ctx, "b."+id, []byte(file)); err != nil {
			return err
		}
	}
	return nil
}

// Offsets keeps schema.BlobState values in a key-value bucket. Stages
// change a blob's state with Update, a compare-and-set on the key's
// revision: two listers, or a lister and a writer settling offsets, never
// overwrite each other's changes.
type Offsets struct {
	KV jetstream.KeyValue

	// last is the state this Offsets stored last, with its revision: the
	// next Update of that blob (a lister completing its claim) starts
	// from it instead of reading it again.
	mu   sync.Mutex
	last struct {
		key string
		st  schema.BlobState
		rev uint64
	}
}

// NewOffsets opens the offsets bucket.
func NewOffsets(ctx context.Context, js jetstream.JetStream) (*Offsets, error) {
	kv, err := openKV(ctx, js, BucketOffsets)
	if err != nil {
		return nil, err
	}
	return &Offsets{KV: kv}, nil
}

// offsetPrefix starts the key of every blob's state.
const offsetPrefix = "o."

func offsetKey(container, blob string) string {
	sum := sha256.Sum256([]byte(container + "/" + blob))
	return offsetPrefix + hex.EncodeToString(sum[:16])
}

// Get returns the offset of a blob.
func (o *Offsets) Get(ctx context.Context, container, blob string) (schema.BlobState, bool, error) {
	b, rev, err := o.get(ctx, container, blob)
	return b, rev > 0, err
}

// get returns the state of a blob and its revision (0: none stored).
func (o *Offsets) get(ctx context.Context, container, blob string) (schema.BlobState, uint64, error) {
	e, err := o.KV.Get(ctx, offsetKey(container, blob))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return schema.BlobState{Container: container, Blob: blob}, 0, nil
	}
	if err != nil {
		return schema.BlobState{}, 0, err
	}
	var b schema.BlobState
	if err := json.Unmarshal(e.Value(), &b); err != nil {
		return schema.BlobState{}, 0, fmt.Errorf("decode offset of %s/%s: %w", container, blob, err)
	}
	return b, e.Revision(), nil
}

// Put stores the offset of a blob over whatever is there. Stages use
// Update; Put is for tools and tests.
func (o *Offsets) Put(ctx context.Context, b schema.BlobState) error {
	data, err := json.Marshal(b)
	if err != nil {
		return err
	}
	_, err = o.KV.Put(ctx, offsetKey(b.Container, b.Blob), data)
	return err
}

// Update reads the state of a blob, lets fn change it and stores the
// result only if no other process stored the blob's state since it was
// read (compare-and-set on the key's revision). On such a conflict it
// reads the state again and calls fn again, so fn must start from what it
// is given every time. fn returns false to store nothing. Update returns
// the state as stored, or as read when fn stored nothing.
func (o *Offsets) Update(ctx context.Context, container, blob string, fn func(st *schema.BlobState) bool) (schema.BlobState, error) {
	key := offsetKey(container, blob)
	st, rev, cached := o.remembered(key)
	var failing time.Time
	for {
		if !cached {
			var err error
			if st, rev, err = o.get(ctx, container, blob); err != nil {
				return schema.BlobState{}, err
			}
		}
		if !fn(&st) {
			if cached {
				cached = false // the remembered state may be old: decide on the stored one
				continue
			}
			return st, nil
		}
		cached = false
		data, err := json.Marshal(st)
		if err != nil {
			return schema.BlobState{}, err
		}
		var stored uint64
		if rev == 0 {
			stored, err = o.KV.Create(ctx, key, data)
		} else {
			stored, err = o.KV.Update(ctx, key, data, rev)
		}
		if err == nil {
			o.remember(key, st, stored)
			return st, nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) && !errors.Is(err, jetstream.ErrKeyRevisionMismatch) && !Transient(err) {
			return schema.BlobState{}, fmt.Errorf("store offset of %s/%s: %w", container, blob, err)
		}
		if err := ctx.Err(); err != nil {
			return schema.BlobState{}, err
		}
		if Transient(err) {
			// A leader election: the write may or may not have landed.
			// Read the state again (get retries) and decide afresh, as
			// after a conflict; give up once the cluster stays away.
			if failing.IsZero() {
				failing = time.Now()
			} else if time.Since(failing) > RetryFor {
				return schema.BlobState{}, fmt.Errorf("store offset of %s/%s: %w", container, blob, err)
			}
			select {
			case <-ctx.Done():
				return schema.BlobState{}, ctx.Err()
			case <-time.After(250 * time.Millisecond):
			}
		}
		// Another process stored the blob's state first: start again from it.
	}
}

// remembered returns the state stored last under key, if it was the last
// one this Offsets stored, and forgets it.
func (o *Offsets) remembered(key string) (schema.BlobState, uint64, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.last.key != key {
		return schema.BlobState{}, 0, false
	}
	o.last.key = ""
	return o.last.st, o.last.rev, true
}

func (o *Offsets) remember(key string, st schema.BlobState, rev uint64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.last.key, o.last.st, o.last.rev = key, st, rev
}

// listKeys returns every key of kv. It reads nats.go's key lister to its
// end: a lister left with keys unread keeps a goroutine blocked forever.
func listKeys(ctx context.Context, kv jetstream.KeyValue) ([]string, error) {
	kl, err := kv.ListKeys(ctx)
	if err != nil {
		return nil, err
	}
	var keys []string
	for k := range kl.Keys() {
		keys = append(keys, k)
	}
	return keys, ctx.Err()
}

// Tasks keeps finished tasks until their rows are in the lake, then moves
// the blob's committed offset.
type Tasks struct {
	KV    jetstream.KeyValue
	Files jetstream.KeyValue
}

// NewTasks opens the tasks and files buckets.
func NewTasks(ctx context.Context, js jetstream.JetStream) (*Tasks, error) {
	kv, err := openKV(ctx, js, BucketTasks)
	if err != nil {
		return nil, err
	}
	files, err := openKV(ctx, js, BucketFiles)
	if err != nil {
		return nil, err
	}
	return &Tasks{KV: kv, Files: files}, nil
}

// Done records a finished task (a parser calls it before acking the task).
func (t *Tasks) Done(ctx context.Context, id string, d schema.TaskDone) error {
	data, err := json.Marshal(d)
	if err != nil {
		return err
	}
	_, err = t.KV.Put(ctx, "t."+id, data)
	return err
}

// Count returns the finished tasks not yet settled: their rows are not
// all in the lake, or an earlier range of their blob is not.
func (t *Tasks) Count(ctx context.Context) (int, error) {
	keys, err := listKeys(ctx, t.KV)
	return len(keys), err
}

// finished is a finished task as read from the bucket.
type finished struct {
	key string
	d   schema.TaskDone
}

// Settle moves the committed offset of every blob whose finished tasks have
// all their batches in the lake, in blob order (a task settles only when
// the committed offset has reached its start), and deletes the tasks it
// settled. It reads each blob's offsets once per call and changes them
// with a compare-and-set (Offsets.Update): a lister or another writer may
// settle or publish at the same time, and no offset goes back. It returns
// how many tasks it settled. A task it cannot decode is left in place and
// reported in the error, after the others are settled.
func (t *Tasks) Settle(ctx context.Context, offsets *Offsets) (int, error) {
	keys, err := listKeys(ctx, t.KV)
	if err != nil {
		return 0, err
	}
	byBlob := map[[2]string][]finished{}
	var bad []error
	for _, k := range keys {
		e, err := t.KV.Get(ctx, k)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue // settled meanwhile by another process
		}
		if err != nil {
			return 0, err
		}
		var d schema.TaskDone
		if err := json.Unmarshal(e.Value(), &d); err != nil {
			bad = append(bad, fmt.Errorf("decode finished task %s: %w", k, err))
			continue
		}
		in, err := t.inLake(ctx, d.Batches)
		if err != nil {
			return 0, err
		}
		if in {
			blob := [2]string{d.Container, d.Blob}
			byBlob[blob] = append(byBlob[blob], finished{k, d})
		}
	}
	blobs := slices.SortedFunc(maps.Keys(byBlob), func(a, b [2]string) int { return cmp.Compare(a[0]+"/"+a[1], b[0]+"/"+b[1]) })
	settled := 0
	for _, blob := range blobs {
		n, err := t.settleBlob(ctx, offsets, blob[0], blob[1], byBlob[blob])
		settled += n
		if err != nil {
			return settled, err
		}
	}
	return settled, errors.Join(bad...)
}

// settleBlob settles the tasks of one blob whose rows are in the lake, in
// offset order, so that consecutive ranges chain.
func (t *Tasks) settleBlob(ctx context.Context, offsets *Offsets, container, blob string, tasks []finished) (int, error) {
	slices.SortFunc(tasks, func(a, b finished) int {
		return cmp.Or(cmp.Compare(a.d.Start, b.d.Start), cmp.Compare(a.d.Consumed, b.d.Consumed))
	})
	var done []string
	_, err := offsets.Update(ctx, container, blob, func(st *schema.BlobState) bool {
		done = done[:0]
		changed := false
		for _, f := range tasks {
			if f.d.Start > st.Committed {
				break // an earlier range of the blob is not in the lake yet
			}
			if f.d.Consumed > st.Committed {
				st.Committed, changed = f.d.Consumed, true
			}
			if f.d.End > st.Settled {
				st.Settled, changed = f.d.End, true
			}
			done = append(done, f.key)
		}
		return changed
	})
	if err != nil {
		return 0, err
	}
	for i, k := range done {
		if err := t.KV.Delete(ctx, k); err != nil {
			return i, err
		}
	}
	return len(done), nil
}

// inLake reports whether every batch is marked as in a lake file.
func (t *Tasks) inLake(ctx context.Context, batches []string) (bool, error) {
	for _, b := range batches {
		if _, err := t.Files.Get(ctx, "d."+b); err != nil {
			if errors.Is(err, jetstream.ErrKeyNotFound) {
				return false, nil
			}
			return false, err
		}
	}
	return true, nil
}

// OffsetSummary totals the blob offsets.
type OffsetSummary struct {
	Blobs          int   `json:"blobs"`
	PublishedBytes int64 `json:"published_bytes"`
	CommittedBytes int64 `json:"committed_bytes"`
	// PendingBytes are published and neither in the lake nor waiting:
	// tasks to parse, batches to write, tasks to settle.
	PendingBytes int64 `json:"pending_bytes"`
	// WaitingBytes are the unfinished last lines of WaitingBlobs blobs
	// that may still grow (schema.BlobState.Waiting): they are read once
	// the rest of the line comes, or once the blob is final.
	WaitingBytes int64 `json:"waiting_bytes"`
	WaitingBlobs int   `json:"waiting_blobs"`
}

// Summary adds up every blob's published and committed offsets.
func (o *Offsets) Summary(ctx context.Context) (OffsetSummary, error) {
	var s OffsetSummary
	keys, err := listKeys(ctx, o.KV)
	if err != nil {
		return s, err
	}
	for _, k := range keys {
		if !strings.HasPrefix(k, offsetPrefix) {
			continue
		}
		e, err := o.KV.Get(ctx, k)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue
		}
		if err != nil {
			return s, err
		}
		var b schema.BlobState
		if err := json.Unmarshal(e.Value(), &b); err != nil {
			return s, fmt.Errorf("decode %s: %w", k, err)
		}
		s.Blobs++
		s.PublishedBytes += b.Published
		s.CommittedBytes += b.Committed
		if w := b.Waiting(); w > 0 {
			s.WaitingBytes += w
			s.WaitingBlobs++
		}
		s.PendingBytes += max(b.Published-b.Committed-b.Waiting(), 0)
	}
	return s, nil
}

// lakeKey is the key of the lake mark in the offsets bucket.
const lakeKey = "lake"

// LakeMark is what a JetStream state knows of the lake its writers write:
// the lake's id, and whether the lake holds it (its marker file was
// written). A state with a mark writes that lake only.
type LakeMark struct {
	ID     string `json:"id"`
	Marked bool   `json:"marked,omitempty"`
}

// Lake returns the state's lake mark and its revision (0: none yet).
func (o *Offsets) Lake(ctx context.Context) (LakeMark, uint64, error) {
	e, err := o.KV.Get(ctx, lakeKey)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return LakeMark{}, 0, nil
	}
	if err != nil {
		return LakeMark{}, 0, fmt.Errorf("read the lake mark: %w", err)
	}
	var m LakeMark
	if err := json.Unmarshal(e.Value(), &m); err != nil {
		return LakeMark{}, 0, fmt.Errorf("decode the lake mark: %w", err)
	}
	return m, e.Revision(), nil
}

// SetLake stores m if the mark's revision is still rev (0: no mark yet).
// It reports false, storing nothing, when another process stored a mark
// since.
func (o *Offsets) SetLake(ctx context.Context, m LakeMark, rev uint64) (bool, error) {
	data, err := json.Marshal(m)
	if err != nil {
		return false, err
	}
	if rev == 0 {
		_, err = o.KV.Create(ctx, lakeKey, data)
	} else {
		_, err = o.KV.Update(ctx, lakeKey, data, rev)
	}
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, jetstream.ErrKeyExists), errors.Is(err, jetstream.ErrKeyRevisionMismatch):
		return false, nil
	case Transient(err) && ctx.Err() == nil:
		// It may have landed: the caller reads the mark again.
		return false, nil
	}
	return false, fmt.Errorf("store the lake mark: %w", err)
}

// Empty reports that the ledger records no batch: a new state (a new data
// dir, --reset-state), or one whose records all expired.
func (l *Ledger) Empty(ctx context.Context) (bool, error) {
	st, err := l.KV.Status(ctx)
	if err != nil {
		return false, fmt.Errorf("bucket %s: %w", BucketFiles, err)
	}
	return st.Values() == 0, nil
}
