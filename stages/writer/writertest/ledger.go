// Package writertest holds fakes and helpers for tests of code that uses
// the writer: a Ledger in memory, and batch message bodies.
package writertest

import (
	"context"
	"maps"
	"sync"
)

// Ledger is a writer.Ledger in memory.
type Ledger struct {
	mu sync.Mutex
	m  map[string]string
}

// NewLedger returns an empty Ledger.
func NewLedger() *Ledger { return &Ledger{m: map[string]string{}} }

// Lookup implements writer.Ledger.
func (l *Ledger) Lookup(_ context.Context, id string) (string, bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f, ok := l.m[id]
	return f, ok, nil
}

// Record implements writer.Ledger.
func (l *Ledger) Record(_ context.Context, file string, ids []string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, id := range ids {
		l.m[id] = file
	}
	return nil
}

// Files returns a copy of the batch-to-file map.
func (l *Ledger) Files() map[string]string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return maps.Clone(l.m)
}
