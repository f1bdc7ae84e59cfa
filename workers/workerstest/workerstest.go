// Package workerstest holds helpers for tests of code that uses the
// workers' key-value state.
package workerstest

import (
	"context"
	"sync"

	"github.com/nats-io/nats.go/jetstream"
)

// RaceKV is a key-value bucket where another process writes right after
// the first Get: that Get's answer is then stale, as when two processes
// read and write the same key at once. Change runs once, after the first
// Get returned from the bucket and before it returns to the caller.
type RaceKV struct {
	jetstream.KeyValue
	Change func()
	once   sync.Once
}

// Get implements jetstream.KeyValue.
func (r *RaceKV) Get(ctx context.Context, key string) (jetstream.KeyValueEntry, error) {
	e, err := r.KeyValue.Get(ctx, key)
	r.once.Do(r.Change)
	return e, err
}
