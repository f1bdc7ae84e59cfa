package workers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/entralake/entralake/schema"
	"github.com/nats-io/nats.go/jetstream"
)

// Ledger keeps, in a key-value bucket, which lake file holds each batch.
type Ledger struct{ KV jetstream.KeyValue }

// NewLedger opens the files bucket.
func NewLedger(ctx context.Context, js jetstream.JetStream) (*Ledger, error) {
	kv, err := js.KeyValue(ctx, BucketFiles)
	if err != nil {
		return nil, fmt.Errorf("open bucket %s: %w", BucketFiles, err)
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

// Offsets keeps schema.BlobState values in a key-value bucket.
type Offsets struct{ KV jetstream.KeyValue }

// NewOffsets opens the offsets bucket.
func NewOffsets(ctx context.Context, js jetstream.JetStream) (*Offsets, error) {
	kv, err := js.KeyValue(ctx, BucketOffsets)
	if err != nil {
		return nil, fmt.Errorf("open bucket %s: %w", BucketOffsets, err)
	}
	return &Offsets{KV: kv}, nil
}

func offsetKey(container, blob string) string {
	sum := sha256.Sum256([]byte(container + "/" + blob))
	return "o." + hex.EncodeToString(sum[:16])
}

// Get returns the offset of a blob.
func (o *Offsets) Get(ctx context.Context, container, blob string) (schema.BlobState, bool, error) {
	e, err := o.KV.Get(ctx, offsetKey(container, blob))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return schema.BlobState{Container: container, Blob: blob}, false, nil
	}
	if err != nil {
		return schema.BlobState{}, false, err
	}
	var b schema.BlobState
	if err := json.Unmarshal(e.Value(), &b); err != nil {
		return schema.BlobState{}, false, fmt.Errorf("decode offset of %s/%s: %w", container, blob, err)
	}
	return b, true, nil
}

// Put stores the offset of a blob.
func (o *Offsets) Put(ctx context.Context, b schema.BlobState) error {
	data, err := json.Marshal(b)
	if err != nil {
		return err
	}
	_, err = o.KV.Put(ctx, offsetKey(b.Container, b.Blob), data)
	return err
}

// Tasks keeps finished tasks until their rows are in the lake, then moves
// the blob's committed offset.
type Tasks struct {
	KV    jetstream.KeyValue
	Files jetstream.KeyValue
}

// NewTasks opens the tasks and files buckets.
func NewTasks(ctx context.Context, js jetstream.JetStream) (*Tasks, error) {
	kv, err := js.KeyValue(ctx, BucketTasks)
	if err != nil {
		return nil, fmt.Errorf("open bucket %s: %w", BucketTasks, err)
	}
	files, err := js.KeyValue(ctx, BucketFiles)
	if err != nil {
		return nil, fmt.Errorf("open bucket %s: %w", BucketFiles, err)
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

// Settle moves the committed offset of every blob whose finished tasks have
// all their batches in the lake, in blob order (a task settles only when
// the committed offset has reached its start). It returns how many tasks
// it settled.
func (t *Tasks) Settle(ctx context.Context, offsets *Offsets) (int, error) {
	keys, err := t.KV.ListKeys(ctx)
	if err != nil {
		return 0, err
	}
	var pending []schema.TaskDone
	var pendingKeys []string
	for k := range keys.Keys() {
		e, err := t.KV.Get(ctx, k)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue
		}
		if err != nil {
			return 0, err
		}
		var d schema.TaskDone
		if err := json.Unmarshal(e.Value(), &d); err != nil {
			return 0, fmt.Errorf("decode %s: %w", k, err)
		}
		inLake := true
		for _, b := range d.Batches {
			if _, err := t.Files.Get(ctx, "d."+b); err != nil {
				if !errors.Is(err, jetstream.ErrKeyNotFound) {
					return 0, err
				}
				inLake = false
				break
			}
		}
		if inLake {
			pending, pendingKeys = append(pending, d), append(pendingKeys, k)
		}
	}
	// Settle in offset order, repeatedly, so consecutive ranges chain.
	settled := 0
	for progress := true; progress; {
		progress = false
		for i, d := range pending {
			if pendingKeys[i] == "" {
				continue
			}
			st, _, err := offsets.Get(ctx, d.Container, d.Blob)
			if err != nil {
				return settled, err
			}
			if d.Start > st.Committed {
				continue // an earlier range of the blob is not in the lake yet
			}
			if d.Consumed > st.Committed {
				st.Committed = d.Consumed
				if err := offsets.Put(ctx, st); err != nil {
					return settled, err
				}
			}
			if err := t.KV.Delete(ctx, pendingKeys[i]); err != nil {
				return settled, err
			}
			pendingKeys[i] = ""
			settled++
			progress = true
		}
	}
	return settled, nil
}

// OffsetSummary totals the blob offsets.
type OffsetSummary struct {
	Blobs          int   `json:"blobs"`
	PublishedBytes int64 `json:"published_bytes"`
	CommittedBytes int64 `json:"committed_bytes"`
}

// Summary adds up every blob's published and committed offsets.
func (o *Offsets) Summary(ctx context.Context) (OffsetSummary, error) {
	var s OffsetSummary
	keys, err := o.KV.ListKeys(ctx)
	if err != nil {
		return s, err
	}
	for k := range keys.Keys() {
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
	}
	return s, nil
}
