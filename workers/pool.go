package workers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/entralake/entralake/schema"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/sync/errgroup"
)

// Metrics of every pool, labelled by consumer.
var (
	meter       = otel.Meter("github.com/entralake/entralake/workers")
	mHandleTime metric.Float64Histogram
	mOutcomes   metric.Int64Counter
	mAckTime    metric.Float64Histogram
)

func init() {
	mHandleTime, _ = meter.Float64Histogram("entralake_message_processing_seconds",
		metric.WithDescription("Time a handler spent on one message."), metric.WithUnit("s"))
	mOutcomes, _ = meter.Int64Counter("entralake_messages_total",
		metric.WithDescription("Messages handled, by consumer and outcome (ack, deferred, retry, dead_letter)."))
	mAckTime, _ = meter.Float64Histogram("entralake_ack_seconds",
		metric.WithDescription("Time to get an ack confirmed by the server."), metric.WithUnit("s"))
}

// Handler does the work of one message. A nil error acks it.
//
// The message is a schema.Message, which stages handle without knowing
// JetStream: a handler that keeps the message (its error has Deferred()
// true) settles it later through its Settle, with the same retry
// accounting as a returned error.
type Handler interface {
	Handle(ctx context.Context, msg schema.Message) error
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, msg schema.Message) error

// Handle calls f.
func (f HandlerFunc) Handle(ctx context.Context, msg schema.Message) error { return f(ctx, msg) }

// ErrInvalidOption reports a bad option value.
var ErrInvalidOption = errors.New("invalid option")

// Option configures a Pool.
type Option func(*Pool) error

// WithConcurrency bounds the messages handled at once (default 1).
func WithConcurrency(n int) Option {
	return func(p *Pool) error {
		if n < 1 {
			return fmt.Errorf("%w: concurrency %d", ErrInvalidOption, n)
		}
		p.concurrency = n
		return nil
	}
}

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return func(p *Pool) error { p.log = l; return nil }
}

// WithMaxDeliver sets how often a message is tried before it goes to the
// dead-letter stream (default 5).
func WithMaxDeliver(n int) Option {
	return func(p *Pool) error {
		if n < 1 {
			return fmt.Errorf("%w: max deliver %d", ErrInvalidOption, n)
		}
		p.maxDeliver = n
		return nil
	}
}

// WithInProgressEvery sets how often a running handler's message gets an
// in-progress ack, which keeps it from being redelivered (default:
// InProgressEvery of the consumer's AckWait).
func WithInProgressEvery(d time.Duration) Option {
	return func(p *Pool) error {
		if d <= 0 {
			return fmt.Errorf("%w: in-progress interval %s", ErrInvalidOption, d)
		}
		p.inProgress = d
		return nil
	}
}

// InProgressEvery is how often a held message gets an in-progress ack for
// a consumer whose AckWait is ackWait: four times per ack wait, so that
// three in a row may be late or lost before the message is redelivered.
func InProgressEvery(ackWait time.Duration) time.Duration {
	return max(ackWait/4, 10*time.Millisecond)
}

// Outcome is what became of a message.
type Outcome string

// Outcomes of a message, as counted by entralake_messages_total.
const (
	// OutcomeAck: handled and acknowledged.
	OutcomeAck Outcome = "ack"
	// OutcomeDeferred: the handler keeps it and settles it later.
	OutcomeDeferred Outcome = "deferred"
	// OutcomeRetry: failed; delivered again after a growing delay.
	OutcomeRetry Outcome = "retry"
	// OutcomeDeadLetter: failed for good; sent to the dead-letter stream.
	OutcomeDeadLetter Outcome = "dead_letter"
	// OutcomeReleased: given back unfinished at shutdown, for another
	// process (or the next run) at once.
	OutcomeReleased Outcome = "released"
)

// WithReport sets a function called with the outcome of every message and
// the error its handler returned (nil on success). A deferred message is
// reported again when it is settled. It must be quick.
func WithReport(f func(Outcome, error)) Option {
	return func(p *Pool) error { p.report = f; return nil }
}

// WithDrainTimeout bounds how long Run waits for running handlers after its
// context ends (default 30s).
func WithDrainTimeout(d time.Duration) Option {
	return func(p *Pool) error { p.drain = d; return nil }
}

// Pool pulls messages from a consumer and hands each to a Handler, with
// bounded concurrency.
type Pool struct {
	js          jetstream.JetStream
	cons        jetstream.Consumer
	name        string
	h           Handler
	log         *slog.Logger
	concurrency int
	maxDeliver  int
	inProgress  time.Duration
	drain       time.Duration
	report      func(Outcome, error)

	// mu guards stopping and pulls: naks wait, once Run's context ended,
	// until no pull request is open (quiet), or the server could hand the
	// message to one of them again.
	mu       sync.Mutex
	stopping bool
	pulls    int
	quiet    chan struct{}
	// pullCtx bounds every pull request; abort ends it (ErrNoMoreWork).
	pullCtx context.Context
	abort   context.CancelFunc
	// pullWait bounds one pull request (defaultPullWait; tests change it).
	pullWait time.Duration
}

// ErrNoMoreWork, as the cause of the context that ends Run (see
// context.WithCancelCause), says that no message can come any more (run
// --once is done: every queue is empty and nothing more is published).
// Run then drops its open pull requests at once, instead of waiting up
// to a second for each to expire so that no message is sent to a
// request nobody reads any more.
var ErrNoMoreWork = errors.New("no more work")

// NewPool returns a Pool; js is used to publish dead letters.
func NewPool(js jetstream.JetStream, cons jetstream.Consumer, h Handler, opts ...Option) (*Pool, error) {
	p := &Pool{js: js, cons: cons, h: h, log: slog.Default(), concurrency: 1, maxDeliver: 5, inProgress: 15 * time.Second, drain: 30 * time.Second,
		quiet: make(chan struct{}), pullWait: defaultPullWait}
	p.pullCtx, p.abort = context.WithCancel(context.Background())
	if cons != nil {
		info := cons.CachedInfo()
		p.name = info.Name
		if info.Config.AckWait > 0 {
			p.inProgress = InProgressEvery(info.Config.AckWait)
		}
	}
	for _, o := range opts {
		if err := o(p); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// defaultPullWait bounds one pull request: a dead process's request is
// gone from the server this soon, and a worker notices the end of Run as
// soon.
const defaultPullWait = time.Second

// Run pulls and handles messages until ctx ends, then stops pulling, lets
// running handlers finish (within the drain timeout) and returns. A
// message taken as ctx ends, and one whose handler the drain timeout cut,
// is given back (released) for another process at once, without counting
// as a failure: nothing stays in flight waiting for the consumer's AckWait.
//
// Each of the concurrency workers asks the server for one message only
// when it is free to start it: nothing waits in a client buffer, where it
// would get no in-progress acks and be delivered again to another process
// once the ack wait ran out, and a process that dies holds only the
// messages it had started.
func (p *Pool) Run(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() {
		p.stop()
		if errors.Is(context.Cause(ctx), ErrNoMoreWork) {
			p.abort()
		}
	})
	defer stop()
	defer p.abort()
	// Handlers outlive ctx by the drain timeout, so work in flight at
	// shutdown is finished and acked rather than redelivered.
	hctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	context.AfterFunc(ctx, func() {
		t := time.AfterFunc(p.drain, cancel)
		context.AfterFunc(hctx, func() { t.Stop() })
	})
	var g errgroup.Group
	for range p.concurrency {
		g.Go(func() error { return p.work(ctx, hctx) })
	}
	return g.Wait()
}

// work takes one message at a time and handles it, until ctx ends.
func (p *Pool) work(ctx, hctx context.Context) error {
	for ctx.Err() == nil {
		msg, err := p.next()
		switch {
		case errors.Is(err, errStopping):
			return nil
		case err == nil:
		case errors.Is(err, nats.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
			continue // nothing to do for now
		case p.pullCtx.Err() != nil:
			return nil // dropped: no more work
		case errors.Is(err, nats.ErrConnectionClosed), errors.Is(err, jetstream.ErrConsumerDeleted):
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("pull messages: %w", err)
		default:
			// NATS away or restarting: the connection reconnects on its own.
			p.log.LogAttrs(ctx, slog.LevelDebug, "pull failed; trying again", slog.String("consumer", p.name), slog.Any("err", err))
			select {
			case <-ctx.Done():
			case <-time.After(p.pullWait):
			}
			continue
		}
		if ctx.Err() != nil {
			// Taken as Run was ending: another process may start it now.
			p.release(hctx, msg)
			return nil
		}
		p.handle(hctx, msg)
	}
	return nil
}

var errStopping = errors.New("pool stopping")

// next asks for one message, unless the pool is stopping.
func (p *Pool) next() (jetstream.Msg, error) {
	p.mu.Lock()
	if p.stopping {
		p.mu.Unlock()
		return nil, errStopping
	}
	p.pulls++
	p.mu.Unlock()
	ctx, cancel := context.WithTimeout(p.pullCtx, p.pullWait)
	msg, err := p.cons.Next(jetstream.FetchContext(ctx))
	cancel()
	p.mu.Lock()
	p.pulls--
	if p.stopping && p.pulls == 0 {
		close(p.quiet)
	}
	p.mu.Unlock()
	return msg, err
}

// stop makes the pool open no more pull requests.
func (p *Pool) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopping {
		return
	}
	p.stopping = true
	if p.pulls == 0 {
		close(p.quiet)
	}
}

func (p *Pool) isStopping() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stopping
}

// release gives msg back unhandled, for another process at once.
func (p *Pool) release(ctx context.Context, msg jetstream.Msg) {
	_ = p.nak(msg, 0)
	p.count(ctx, OutcomeReleased, nil)
}

func (p *Pool) count(ctx context.Context, o Outcome, err error) {
	mOutcomes.Add(ctx, 1, metric.WithAttributes(attribute.String("consumer", p.name), attribute.String("outcome", string(o))))
	if p.report != nil {
		p.report(o, err)
	}
}

// minNakDelay is the shortest delay of a nak. A nak without delay only
// queues the message for redelivery in the server's memory: if the server
// stops before a stage takes it (the embedded server of `run`, at the end
// of an interrupted run), the message is redelivered only after AckWait.
// A nak with a delay is recorded with the consumer's state.
const minNakDelay = time.Millisecond

// nak naks msg; once the pool is stopping it first waits until no pull
// request of the pool is open, or the server could hand the message to it
// again.
func (p *Pool) nak(msg jetstream.Msg, delay time.Duration) error {
	if p.isStopping() {
		<-p.quiet
	}
	return msg.NakWithDelay(max(delay, minNakDelay))
}

func (p *Pool) handle(ctx context.Context, msg jetstream.Msg) {
	// The trace started by the publisher goes on in this handler.
	ctx = otel.GetTextMapPropagator().Extract(ctx, propagation.HeaderCarrier(msg.Headers()))
	ctx, span := otel.Tracer("github.com/entralake/entralake/workers").Start(ctx, p.name+" handle",
		trace.WithSpanKind(trace.SpanKindConsumer), trace.WithAttributes(attribute.String("messaging.destination.name", msg.Subject())))
	defer span.End()
	start := time.Now()
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(p.inProgress)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				_ = msg.InProgress()
			}
		}
	}()
	m := &message{msg: msg, pool: p}
	err := p.h.Handle(ctx, m)
	close(done)
	attrs := metric.WithAttributes(attribute.String("consumer", p.name))
	mHandleTime.Record(ctx, time.Since(start).Seconds(), attrs)
	outcome := p.settle(ctx, m, err)
	p.count(ctx, outcome, err)
	if outcome == OutcomeRetry || outcome == OutcomeDeadLetter {
		span.SetStatus(codes.Error, err.Error())
	}
}

// message is a pulled JetStream message as a schema.Message: what a
// Handler gets.
type message struct {
	msg  jetstream.Msg
	pool *Pool
}

var _ schema.Message = (*message)(nil)

// Data implements schema.Message.
func (m *message) Data() []byte { return m.msg.Data() }

// Header implements schema.Message.
func (m *message) Header(key string) string { return m.msg.Headers().Get(key) }

// Ack implements schema.Message with a double ack: it returns once the
// server confirmed it. An ack lost in a leader election is sent again
// (Retry): otherwise the message would come back only after the ack wait.
func (m *message) Ack(ctx context.Context) error {
	return Retry(ctx, func(ctx context.Context) error { return m.msg.DoubleAck(ctx) })
}

// Nak implements schema.Message (see Pool.nak).
func (m *message) Nak(delay time.Duration) error { return m.pool.nak(m.msg, delay) }

// InProgress implements schema.Message.
func (m *message) InProgress() error { return m.msg.InProgress() }

// Term implements schema.Message.
func (m *message) Term(reason string) error { return m.msg.TermWithReason(reason) }

// Delivered implements schema.Message from the message's metadata (1
// when it has none).
func (m *message) Delivered() uint64 {
	if md, _ := m.msg.Metadata(); md != nil {
		return md.NumDelivered
	}
	return 1
}

// Settle implements schema.Message with the pool's accounting.
func (m *message) Settle(ctx context.Context, err error) {
	m.pool.count(ctx, m.pool.settle(ctx, m, err), err)
}

// settle acks, naks or terminates m after its handler returned err, and
// says which.
func (p *Pool) settle(ctx context.Context, m *message, err error) Outcome {
	msg := m.msg
	var deferred interface{ Deferred() bool }
	switch {
	case err == nil:
		start := time.Now()
		if aerr := m.Ack(ctx); aerr != nil {
			p.log.LogAttrs(ctx, slog.LevelWarn, "ack failed; the message will be redelivered", slog.String("subject", msg.Subject()), slog.Any("err", aerr))
		}
		mAckTime.Record(ctx, time.Since(start).Seconds(), metric.WithAttributes(attribute.String("consumer", p.name)))
		return OutcomeAck
	case errors.As(err, &deferred) && deferred.Deferred():
		return OutcomeDeferred
	case p.isStopping() && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)):
		// Cut short by the shutdown: not a failure of the message.
		_ = p.nak(msg, 0)
		return OutcomeReleased
	}
	delivered := m.Delivered()
	if IsPermanent(err) || delivered >= uint64(p.maxDeliver) {
		p.deadLetter(ctx, m, err, delivered)
		return OutcomeDeadLetter
	}
	delay := backoff(delivered)
	p.log.LogAttrs(ctx, slog.LevelWarn, "message failed; retrying", slog.String("subject", msg.Subject()), slog.Uint64("delivered", delivered), slog.Duration("delay", delay), slog.Any("err", err))
	_ = p.nak(msg, delay)
	return OutcomeRetry
}

// IsPermanent reports whether err says that its message can never
// succeed (an error in its chain has Permanent() true).
func IsPermanent(err error) bool {
	var e interface{ Permanent() bool }
	return errors.As(err, &e) && e.Permanent()
}

// IsUnusable reports whether err says that what the stage works on (the
// lake, the source) cannot be used as configured: permission denied, a
// missing container, rejected credentials, a file where a folder should
// be (an error in its chain has Unusable() true). No message can succeed
// until someone fixes it, so such a message is retried with growing delays
// like any other failure; callers use it to fail fast (run --once) or to
// report not-ready.
func IsUnusable(err error) bool {
	var e interface{ Unusable() bool }
	return errors.As(err, &e) && e.Unusable()
}

// Headers of a dead letter, besides the original message's headers.
const (
	HeaderDLQError     = "Entralake-Error"
	HeaderDLQStream    = "Entralake-Stream"
	HeaderDLQSubject   = "Entralake-Subject"
	HeaderDLQDelivered = "Entralake-Delivered"
)

func (p *Pool) deadLetter(ctx context.Context, m *message, cause error, delivered uint64) {
	msg := m.msg
	md, _ := msg.Metadata()
	stream := "unknown"
	if md != nil {
		stream = md.Stream
	}
	dl := nats.NewMsg(SubjectDLQ + "." + stream)
	for k, v := range msg.Headers() {
		if k == "Nats-Msg-Id" {
			continue
		}
		dl.Header[k] = v
	}
	dl.Header.Set(HeaderDLQError, cause.Error())
	dl.Header.Set(HeaderDLQStream, stream)
	dl.Header.Set(HeaderDLQSubject, msg.Subject())
	dl.Header.Set(HeaderDLQDelivered, strconv.FormatUint(delivered, 10))
	dl.Data = msg.Data()
	if _, err := p.js.PublishMsg(ctx, dl); err != nil {
		// Keep the message: losing it is worse than retrying it.
		p.log.LogAttrs(ctx, slog.LevelError, "dead-letter publish failed; retrying the message", slog.String("subject", msg.Subject()), slog.Any("err", err), slog.Any("cause", cause))
		_ = m.Nak(backoff(delivered))
		return
	}
	p.log.LogAttrs(ctx, slog.LevelError, "message dead-lettered", slog.String("subject", msg.Subject()), slog.Uint64("delivered", delivered), slog.Any("err", cause))
	_ = m.Term(truncate(cause.Error(), 200))
}

// backoff grows from 1s to at most 2 minutes.
func backoff(delivered uint64) time.Duration {
	d := time.Second << min(delivered, 7)
	return min(d, 2*time.Minute)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
