package workers

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Names of the streams, subjects, consumers and buckets.
const (
	StreamTasks      = "ENTRALAKE_TASKS"
	SubjectTasks     = "entralake.tasks"
	StreamBatches    = "ENTRALAKE_BATCHES"
	SubjectBatches   = "entralake.batches" // + "." + table
	StreamDLQ        = "ENTRALAKE_DLQ"
	SubjectDLQ       = "entralake.dlq" // + "." + stream
	ConsumerParsers  = "parsers"
	ConsumerWriters  = "writers"
	BucketOffsets    = "entralake_offsets"
	BucketFiles      = "entralake_files"
	BucketTasks      = "entralake_tasks"
	BucketHealth     = "entralake_health"
	defaultFilesTTL  = 7 * 24 * time.Hour
	defaultDupWindow = 10 * time.Minute
)

// Topology holds the settings of the streams and consumers.
type Topology struct {
	// AckWait is how long a message may go without an ack or an
	// in-progress ack before it is redelivered. A process sends in-progress
	// acks for what it holds (InProgressEvery), so the ack wait only bounds
	// how long the messages of a process that died wait for another.
	ParserAckWait time.Duration
	WriterAckWait time.Duration
	// MaxDeliver is how often a message is tried before it is dead-lettered.
	MaxDeliver int
	// MaxAckPending bounds unacknowledged messages per consumer. A parser
	// process holds at most its concurrency (Pool takes no message ahead);
	// a writer holds the batches of its open files, and a fused worker
	// the tasks whose batches are in its open files.
	ParserMaxAckPending int
	WriterMaxAckPending int
	// DuplicateWindow is how long JetStream remembers Nats-Msg-Ids.
	DuplicateWindow time.Duration
	// FilesTTL is how long the batch-to-file ledger keeps an entry.
	FilesTTL time.Duration
	// Replicas of every stream and bucket (1 for a single server).
	Replicas int
}

// DefaultAckWait is the default ack wait of both consumers: the messages of
// a process killed mid-work go to another process this long after its last
// in-progress ack.
const DefaultAckWait = 10 * time.Second

// DefaultTopology returns the defaults.
func DefaultTopology() Topology {
	return Topology{
		ParserAckWait:       DefaultAckWait,
		WriterAckWait:       DefaultAckWait,
		MaxDeliver:          5,
		ParserMaxAckPending: 4096,
		WriterMaxAckPending: 4096,
		DuplicateWindow:     defaultDupWindow,
		FilesTTL:            defaultFilesTTL,
		Replicas:            1,
	}
}

// Setup creates or updates every stream, consumer and bucket; it is safe to
// call from every process at start-up. Processes that only read state
// (status, dead letters) call Ensure instead, so they never change the
// settings the stages run with.
func Setup(ctx context.Context, js jetstream.JetStream, t Topology) error {
	return setup(ctx, js, t, true)
}

// Ensure creates what is missing with t's settings and leaves what exists
// as it is.
func Ensure(ctx context.Context, js jetstream.JetStream, t Topology) error {
	return setup(ctx, js, t, false)
}

func setup(ctx context.Context, js jetstream.JetStream, t Topology, update bool) error {
	if t.Replicas < 1 {
		t.Replicas = 1
	}
	streams := []jetstream.StreamConfig{
		{Name: StreamTasks, Subjects: []string{SubjectTasks}, Retention: jetstream.WorkQueuePolicy, Storage: jetstream.FileStorage, Duplicates: t.DuplicateWindow, Replicas: t.Replicas},
		{Name: StreamBatches, Subjects: []string{SubjectBatches + ".>"}, Retention: jetstream.WorkQueuePolicy, Storage: jetstream.FileStorage, Duplicates: t.DuplicateWindow, Replicas: t.Replicas},
		{Name: StreamDLQ, Subjects: []string{SubjectDLQ + ".>"}, Retention: jetstream.LimitsPolicy, Storage: jetstream.FileStorage, Replicas: t.Replicas},
	}
	// Each call is retried through a leader election (Retry); a replica
	// count the server cannot give fails at once (setupError).
	exists := func(get func(ctx context.Context) error) bool {
		return !update && Retry(ctx, get) == nil
	}
	for _, sc := range streams {
		if exists(func(ctx context.Context) error { _, err := js.Stream(ctx, sc.Name); return err }) {
			continue
		}
		if err := Retry(ctx, func(ctx context.Context) error { _, err := js.CreateOrUpdateStream(ctx, sc); return err }); err != nil {
			return setupError("stream "+sc.Name, t.Replicas, err)
		}
	}
	consumers := []struct {
		stream string
		cfg    jetstream.ConsumerConfig
	}{
		{StreamTasks, jetstream.ConsumerConfig{Durable: ConsumerParsers, AckPolicy: jetstream.AckExplicitPolicy, AckWait: t.ParserAckWait, MaxDeliver: -1, MaxAckPending: t.ParserMaxAckPending}},
		{StreamBatches, jetstream.ConsumerConfig{Durable: ConsumerWriters, AckPolicy: jetstream.AckExplicitPolicy, AckWait: t.WriterAckWait, MaxDeliver: -1, MaxAckPending: t.WriterMaxAckPending}},
	}
	for _, c := range consumers {
		if exists(func(ctx context.Context) error { _, err := js.Consumer(ctx, c.stream, c.cfg.Durable); return err }) {
			continue
		}
		if err := Retry(ctx, func(ctx context.Context) error { _, err := js.CreateOrUpdateConsumer(ctx, c.stream, c.cfg); return err }); err != nil {
			return setupError(fmt.Sprintf("consumer %s on %s", c.cfg.Durable, c.stream), t.Replicas, err)
		}
	}
	buckets := []jetstream.KeyValueConfig{
		{Bucket: BucketOffsets, Description: "how far each source blob was published", History: 1, Storage: jetstream.FileStorage, Replicas: t.Replicas},
		{Bucket: BucketFiles, Description: "which lake file holds each batch", History: 1, TTL: t.FilesTTL, Storage: jetstream.FileStorage, Replicas: t.Replicas},
		{Bucket: BucketTasks, Description: "finished tasks whose rows may not all be in the lake yet", History: 1, TTL: t.FilesTTL, Storage: jetstream.FileStorage, Replicas: t.Replicas},
		{Bucket: BucketHealth, Description: "each running process: ready, or what it cannot use", History: 1, TTL: HealthTTL, Storage: jetstream.MemoryStorage, Replicas: t.Replicas},
	}
	for _, kc := range buckets {
		if exists(func(ctx context.Context) error { _, err := js.KeyValue(ctx, kc.Bucket); return err }) {
			continue
		}
		if err := Retry(ctx, func(ctx context.Context) error { _, err := js.CreateOrUpdateKeyValue(ctx, kc); return err }); err != nil {
			return setupError("bucket "+kc.Bucket, t.Replicas, err)
		}
	}
	return nil
}

// Reset deletes the streams (their messages and consumers: queued tasks
// and batches, dead letters) and the buckets (offsets, finished tasks, the
// batch ledger and the lake mark), then sets everything up again with t's
// settings: a state that has read nothing. Stop every stage using the
// server first.
func Reset(ctx context.Context, js jetstream.JetStream, t Topology) error {
	for _, s := range []string{StreamTasks, StreamBatches, StreamDLQ} {
		if err := js.DeleteStream(ctx, s); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
			return fmt.Errorf("delete stream %s: %w", s, err)
		}
	}
	for _, b := range []string{BucketOffsets, BucketFiles, BucketTasks} {
		if err := js.DeleteKeyValue(ctx, b); err != nil && !errors.Is(err, jetstream.ErrBucketNotFound) {
			return fmt.Errorf("delete bucket %s: %w", b, err)
		}
	}
	return Setup(ctx, js, t)
}

// Backlog reports the work not yet finished: messages the parsers and
// writers have not yet received, plus those they hold unacknowledged. It
// asks the consumers rather than the streams: after a server crash a work
// queue can keep a message its consumer has already acknowledged, which is
// no work left.
func Backlog(ctx context.Context, js jetstream.JetStream) (tasks, batches uint64, err error) {
	for _, c := range []struct {
		stream, name string
		n            *uint64
	}{{StreamTasks, ConsumerParsers, &tasks}, {StreamBatches, ConsumerWriters, &batches}} {
		cons, err := js.Consumer(ctx, c.stream, c.name)
		if err != nil {
			return 0, 0, fmt.Errorf("consumer %s: %w", c.name, err)
		}
		info, err := cons.Info(ctx)
		if err != nil {
			return 0, 0, fmt.Errorf("consumer %s info: %w", c.name, err)
		}
		*c.n = info.NumPending + uint64(info.NumAckPending)
	}
	return tasks, batches, nil
}

// Queued reports the tasks not yet finished (waiting or held by a parser)
// and the batches not yet delivered to a writer that can still be (the
// writers hold fewer than MaxAckPending): in `run --once`, work that may
// still add to what the writer holds. Batches that wait for room do not
// count, or a writer holding MaxAckPending batches, none of them due,
// would wait for them forever.
func Queued(ctx context.Context, js jetstream.JetStream) (tasks, batches uint64, err error) {
	info := func(stream, name string) (*jetstream.ConsumerInfo, error) {
		cons, err := js.Consumer(ctx, stream, name)
		if err != nil {
			return nil, fmt.Errorf("consumer %s: %w", name, err)
		}
		ci, err := cons.Info(ctx)
		if err != nil {
			return nil, fmt.Errorf("consumer %s info: %w", name, err)
		}
		return ci, nil
	}
	ti, err := info(StreamTasks, ConsumerParsers)
	if err != nil {
		return 0, 0, err
	}
	bi, err := info(StreamBatches, ConsumerWriters)
	if err != nil {
		return 0, 0, err
	}
	batches = bi.NumPending
	if limit := bi.Config.MaxAckPending; limit > 0 && bi.NumAckPending >= limit {
		batches = 0
	}
	return ti.NumPending + uint64(ti.NumAckPending), batches, nil
}

// WaitIdle polls Backlog until both streams are empty for two polls in a
// row, calling progress after each poll. A poll that fails as during a
// leader election (Transient) is tried again at the next tick, for at most
// RetryFor in a row; then WaitIdle returns the error.
func WaitIdle(ctx context.Context, js jetstream.JetStream, every time.Duration, progress func(tasks, batches uint64)) error {
	empty := 0
	t := time.NewTicker(every)
	defer t.Stop()
	var failingSince time.Time
	for {
		actx, cancel := context.WithTimeout(ctx, AttemptTimeout)
		tasks, batches, err := Backlog(actx, js)
		cancel()
		switch {
		case err == nil || ctx.Err() != nil:
			failingSince = time.Time{}
		case !Transient(err):
			return err
		case failingSince.IsZero():
			failingSince = time.Now()
		case time.Since(failingSince) > RetryFor:
			return fmt.Errorf("%w (no answer for %s: is a NATS node down, or the cluster without quorum?)", err, RetryFor)
		}
		if progress != nil {
			progress(tasks, batches)
		}
		if err == nil && tasks == 0 && batches == 0 {
			empty++
			if empty >= 2 {
				return nil
			}
		} else {
			empty = 0
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// Undelivered reports the tasks not yet delivered to a parser that can
// still be (the parsers hold fewer than MaxAckPending): in `run --once`
// of the fused topology, work that may still add to what its writer
// holds. The tasks it holds do not count, or a writer holding batches of
// tasks it took would wait for itself; neither do tasks that wait for
// room, or a process holding MaxAckPending tasks, none of their files
// due, would wait for them forever.
func Undelivered(ctx context.Context, js jetstream.JetStream) (uint64, error) {
	cons, err := js.Consumer(ctx, StreamTasks, ConsumerParsers)
	if err != nil {
		return 0, fmt.Errorf("consumer %s: %w", ConsumerParsers, err)
	}
	ci, err := cons.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("consumer %s info: %w", ConsumerParsers, err)
	}
	if limit := ci.Config.MaxAckPending; limit > 0 && ci.NumAckPending >= limit {
		return 0, nil
	}
	return ci.NumPending, nil
}
