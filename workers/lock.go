package workers

import (
	"context"
	crand "crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// BucketLocks holds the locks of Locker.
const BucketLocks = "entralake_locks"

// LockTTL is how long a lock outlives its holder: a holder refreshes it
// every LockTTL/3, so a lock whose process died is free after at most
// LockTTL. A commit holds its table's lock for well under a second.
const LockTTL = 30 * time.Second

// Locker is a lock per key shared by every process of a deployment, in a
// JetStream key-value bucket: a key is held by whoever created it (a
// create fails while it exists), released by deleting it, and freed by
// the bucket's TTL when its holder died. It serialises the commits of an
// Iceberg table whose catalog cannot (the file catalog on object storage).
type Locker struct {
	kv    jetstream.KeyValue
	owner string
}

// NewLocker opens (creating it if missing) the locks bucket, with as many
// replicas as the deployment's offsets bucket (Topology.Replicas), retried
// through a leader election.
func NewLocker(ctx context.Context, js jetstream.JetStream) (*Locker, error) {
	replicas := 1
	if st, err := retry1(ctx, func(ctx context.Context) (jetstream.Stream, error) { return js.Stream(ctx, "KV_"+BucketOffsets) }); err == nil {
		replicas = max(st.CachedInfo().Config.Replicas, 1)
	}
	cfg := jetstream.KeyValueConfig{Bucket: BucketLocks,
		Description: "locks of table commits (Iceberg file catalog on object storage)", History: 1, TTL: LockTTL, Storage: jetstream.FileStorage, Replicas: replicas}
	kv, err := retry1(ctx, func(ctx context.Context) (jetstream.KeyValue, error) { return js.CreateOrUpdateKeyValue(ctx, cfg) })
	if err != nil {
		return nil, setupError("bucket "+BucketLocks, replicas, err)
	}
	return &Locker{kv: kv, owner: crand.Text()}, nil
}

// Lock blocks until it holds the lock of key, or ctx ends. The returned
// unlock releases it; until then the lock is refreshed.
func (l *Locker) Lock(ctx context.Context, key string) (unlock func(), err error) {
	sum := sha256.Sum256([]byte(key))
	k := "t." + hex.EncodeToString(sum[:16])
	wait := 10 * time.Millisecond
	for {
		rev, err := l.kv.Create(ctx, k, []byte(l.owner))
		if err == nil {
			return l.hold(k, rev), nil
		}
		if Transient(err) && ctx.Err() == nil {
			// A leader election: the create may have landed. Ours if the
			// key holds our name; else wait as for a held lock.
			if e, gerr := retry1(ctx, func(ctx context.Context) (jetstream.KeyValueEntry, error) { return l.kv.Get(ctx, k) }); gerr == nil && string(e.Value()) == l.owner {
				return l.hold(k, e.Revision()), nil
			}
		} else if !errors.Is(err, jetstream.ErrKeyExists) {
			return nil, fmt.Errorf("lock %s: %w", key, err)
		}
		select {
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		case <-time.After(time.Duration(rand.Int64N(int64(wait))) + time.Millisecond):
		}
		wait = min(2*wait, time.Second)
	}
}

// hold refreshes the held lock k until unlock, which deletes it.
func (l *Locker) hold(k string, rev uint64) func() {
	done := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	wg.Go(func() {
		t := time.NewTicker(LockTTL / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				ctx, cancel := context.WithTimeout(context.Background(), LockTTL/3)
				mu.Lock()
				if r, err := l.kv.Update(ctx, k, []byte(l.owner), rev); err == nil {
					rev = r
				}
				mu.Unlock()
				cancel()
			}
		}
	})
	return sync.OnceFunc(func() {
		close(done)
		wg.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		mu.Lock()
		defer mu.Unlock()
		// Only our own revision: a lock that expired and was taken by
		// another holder is not ours to delete.
		_ = l.kv.Delete(ctx, k, jetstream.LastRevision(rev))
	})
}
