package workers

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// HealthTTL is how long a process's health record lives unless it is
// written again: a process that stops without a word drops out of
// `status` after it.
const HealthTTL = time.Minute

// HealthEvery is how often a process writes its health record.
const HealthEvery = 15 * time.Second

// Health is a process's record in the health bucket, shown by `status`.
type Health struct {
	Stage   string    `json:"stage"`
	Host    string    `json:"host"`
	PID     int       `json:"pid"`
	Ready   bool      `json:"ready"`
	Problem string    `json:"problem,omitempty"`
	Started time.Time `json:"started"`
	Updated time.Time `json:"updated"`
}

var keyUnsafe = regexp.MustCompile(`[^-_A-Za-z0-9]+`)

// Key is the record's key: stage, host and pid.
func (h Health) Key() string {
	return "p." + keyUnsafe.ReplaceAllString(h.Stage, "_") + "." + keyUnsafe.ReplaceAllString(h.Host, "_") + "." + strconv.Itoa(h.PID)
}

// HealthRecords keeps the processes' health records in a key-value
// bucket whose entries expire after HealthTTL.
type HealthRecords struct{ KV jetstream.KeyValue }

// NewHealthRecords opens the health bucket.
func NewHealthRecords(ctx context.Context, js jetstream.JetStream) (*HealthRecords, error) {
	kv, err := openKV(ctx, js, BucketHealth)
	if err != nil {
		return nil, err
	}
	return &HealthRecords{KV: kv}, nil
}

// Put writes h.
func (r *HealthRecords) Put(ctx context.Context, h Health) error {
	b, err := json.Marshal(h)
	if err != nil {
		return err
	}
	_, err = r.KV.Put(ctx, h.Key(), b)
	return err
}

// Delete removes h's record (a process that stops cleanly).
func (r *HealthRecords) Delete(ctx context.Context, h Health) error {
	return r.KV.Purge(ctx, h.Key())
}

// List returns the live records, by stage, host and pid.
func (r *HealthRecords) List(ctx context.Context) ([]Health, error) {
	lister, err := r.KV.ListKeys(ctx)
	if err != nil {
		return nil, err
	}
	defer lister.Stop()
	var out []Health
	for key := range lister.Keys() {
		e, err := r.KV.Get(ctx, key)
		if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
			continue
		}
		if err != nil {
			return nil, err
		}
		var h Health
		if json.Unmarshal(e.Value(), &h) == nil {
			out = append(out, h)
		}
	}
	slices.SortFunc(out, func(a, b Health) int {
		if c := strings.Compare(a.Stage, b.Stage); c != 0 {
			return c
		}
		if c := strings.Compare(a.Host, b.Host); c != 0 {
			return c
		}
		return a.PID - b.PID
	})
	return out, nil
}
