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
