package workers

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// On a JetStream cluster a stream, a consumer or a bucket has a leader;
// when its node dies the others elect a new one, which took 4-9 s on a
// loaded 2-core machine. Meanwhile requests to it time out or find no
// responder. The calls stages make (set-up, publishes, acks, key-value
// reads and writes) are retried through such an election by Retry, each
// try bounded by AttemptTimeout, for at most RetryFor in all: long enough
// for elections and a node's restart, short enough that a cluster without
// quorum is reported rather than waited for in silence.
var (
	// AttemptTimeout bounds one try of a call that Retry repeats.
	AttemptTimeout = 5 * time.Second
	// RetryFor bounds all the tries of one call.
	RetryFor = time.Minute
)

// Error codes of the JetStream API that set-up maps to clear errors.
const (
	errCodeNotClustered   = 10074 // replicas > 1 not supported in non-clustered mode
	errCodeNoPeers        = 10005 // no suitable peers for placement
	errCodeTempUnavailabe = 10008 // JetStream system temporarily unavailable (no quorum)
)

// ErrNotClustered is returned by Setup for replicas > 1 on a NATS server
// that is not part of a JetStream cluster.
var ErrNotClustered = errors.New("replicas above 1 need a JetStream cluster, and this NATS server runs alone")

// ErrTooFewPeers is returned by Setup for more replicas than the cluster
// has JetStream servers.
var ErrTooFewPeers = errors.New("the JetStream cluster has fewer servers than replicas")

// Transient reports whether err is what a call gets while the leader of a
// stream, consumer or bucket is being elected, or while the connection
// moves to another node: a timeout, no responder, no response from the
// stream, JetStream temporarily unavailable. Such a call may succeed when
// tried again.
func Transient(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) ||
		errors.Is(err, nats.ErrNoResponders) || errors.Is(err, jetstream.ErrNoStreamResponse) ||
		errors.Is(err, jetstream.ErrNoHeartbeat) || errors.Is(err, nats.ErrDisconnected) ||
		errors.Is(err, nats.ErrConnectionReconnecting) {
		return true
	}
	var api *jetstream.APIError
	return errors.As(err, &api) && api.ErrorCode == errCodeTempUnavailabe
}

// Retry calls fn until it returns nil or an error that is not Transient,
// each call with a context bounded by AttemptTimeout, for at most
// RetryFor, with growing pauses (250 ms to 2 s) between calls. It returns
// fn's last error, or ctx's error once ctx ends.
func Retry(ctx context.Context, fn func(ctx context.Context) error) error {
	deadline := time.Now().Add(RetryFor)
	pause := 250 * time.Millisecond
	for {
		actx, cancel := context.WithTimeout(ctx, AttemptTimeout)
		err := fn(actx)
		cancel()
		if err == nil || !Transient(err) {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if time.Now().Add(pause).After(deadline) {
			return fmt.Errorf("%w (still failing after %s: is a NATS node down, or the cluster without quorum?)", err, RetryFor)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pause):
		}
		pause = min(2*pause, 2*time.Second)
	}
}

// retry1 is Retry for a call that returns a value.
func retry1[T any](ctx context.Context, fn func(ctx context.Context) (T, error)) (T, error) {
	var v T
	err := Retry(ctx, func(ctx context.Context) error {
		var err error
		v, err = fn(ctx)
		return err
	})
	return v, err
}

// setupError names what set-up could not do, with a clear reason for the
// errors a replica count gets.
func setupError(what string, replicas int, err error) error {
	var api *jetstream.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode {
		case errCodeNotClustered:
			return fmt.Errorf("set up %s with %d replicas: %w (give --replicas 1, or run a cluster: see 'entralake nats-server --help')", what, replicas, ErrNotClustered)
		case errCodeNoPeers:
			return fmt.Errorf("set up %s with %d replicas: %w (no suitable peers for placement)", what, replicas, ErrTooFewPeers)
		}
	}
	return fmt.Errorf("set up %s: %w", what, err)
}

// kvRetry is a key-value bucket whose reads and plain writes are retried
// through a leader election (Retry). Compare-and-set writes (Create,
// Update) are tried once: after a timeout nobody knows whether they
// landed, so their callers read the key again and decide afresh, as after
// a conflict.
type kvRetry struct{ jetstream.KeyValue }

// openKV opens a bucket, retrying through an election.
func openKV(ctx context.Context, js jetstream.JetStream, bucket string) (jetstream.KeyValue, error) {
	kv, err := retry1(ctx, func(ctx context.Context) (jetstream.KeyValue, error) { return js.KeyValue(ctx, bucket) })
	if err != nil {
		return nil, fmt.Errorf("open bucket %s: %w", bucket, err)
	}
	return kvRetry{kv}, nil
}

// Get implements jetstream.KeyValue.
func (r kvRetry) Get(ctx context.Context, key string) (jetstream.KeyValueEntry, error) {
	return retry1(ctx, func(ctx context.Context) (jetstream.KeyValueEntry, error) { return r.KeyValue.Get(ctx, key) })
}

// Put implements jetstream.KeyValue; a put is idempotent.
func (r kvRetry) Put(ctx context.Context, key string, value []byte) (uint64, error) {
	return retry1(ctx, func(ctx context.Context) (uint64, error) { return r.KeyValue.Put(ctx, key, value) })
}

// Delete implements jetstream.KeyValue.
func (r kvRetry) Delete(ctx context.Context, key string, opts ...jetstream.KVDeleteOpt) error {
	return Retry(ctx, func(ctx context.Context) error { return r.KeyValue.Delete(ctx, key, opts...) })
}

// Purge implements jetstream.KeyValue.
func (r kvRetry) Purge(ctx context.Context, key string, opts ...jetstream.KVDeleteOpt) error {
	return Retry(ctx, func(ctx context.Context) error { return r.KeyValue.Purge(ctx, key, opts...) })
}

// ReplicaStatus is the cluster state of one stream or bucket.
type ReplicaStatus struct {
	// Replicas is the configured count.
	Replicas int `json:"replicas"`
	// Leader is the node that leads it ("" while a leader is elected, or
	// without quorum; the server's name on a single server).
	Leader string `json:"leader"`
	// Current says every replica is up to date with the leader, and no
	// change of the replica count is under way.
	Current bool `json:"current"`
	// Lagging names the replicas that are not current.
	Lagging []string `json:"lagging,omitempty"`
}

// replicaStatus reads the cluster state from a stream's info.
func replicaStatus(info *jetstream.StreamInfo) ReplicaStatus {
	rs := ReplicaStatus{Replicas: info.Config.Replicas}
	c := info.Cluster
	if c == nil {
		// A single server: the stream is where it is.
		rs.Current = true
		return rs
	}
	rs.Leader = c.Leader
	for _, p := range c.Replicas {
		if !p.Current || p.Offline {
			rs.Lagging = append(rs.Lagging, p.Name)
		}
	}
	rs.Current = rs.Leader != "" && len(rs.Lagging) == 0 && len(c.Replicas)+1 == max(rs.Replicas, 1) && c.Desired == nil
	return rs
}

// Consumer looks a durable consumer up, retrying through an election.
func Consumer(ctx context.Context, js jetstream.JetStream, stream, name string) (jetstream.Consumer, error) {
	cons, err := retry1(ctx, func(ctx context.Context) (jetstream.Consumer, error) { return js.Consumer(ctx, stream, name) })
	if err != nil {
		return nil, fmt.Errorf("consumer %s: %w", name, err)
	}
	return cons, nil
}
