package workers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

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
type Handler interface {
	Handle(ctx context.Context, msg jetstream.Msg) error
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, msg jetstream.Msg) error

// Handle calls f.
func (f HandlerFunc) Handle(ctx context.Context, msg jetstream.Msg) error { return f(ctx, msg) }

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
}

// NewPool returns a Pool; js is used to publish dead letters.
func NewPool(js jetstream.JetStream, cons jetstream.Consumer, h Handler, opts ...Option) (*Pool, error) {
	p := &Pool{js: js, cons: cons, h: h, log: slog.Default(), concurrency: 1, maxDeliver: 5, inProgress: 15 * time.Second, drain: 30 * time.Second}
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

// pullWait bounds one pull request: a dead process's request is gone
// from the server this soon, and a worker notices the end of Run as soon.
const pullWait = time.Second

// Run pulls and handles messages until ctx ends, then stops pulling, lets
// running handlers finish (within the drain timeout) and returns.
//
// Each of the concurrency workers asks the server for one message only
// when it is free to start it: nothing waits in a client buffer, where it
// would get no in-progress acks and be delivered again to another process
// once the ack wait ran out, and a process that dies holds only the
// messages it had started.
func (p *Pool) Run(ctx context.Context) error {
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
		msg, err := p.cons.Next(jetstream.FetchMaxWait(pullWait))
		switch {
		case err == nil:
		case errors.Is(err, nats.ErrTimeout):
			continue // nothing to do for now
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
			case <-time.After(pullWait):
			}
			continue
		}
		if ctx.Err() != nil {
			// Taken as Run was ending: another process may start it now.
			_ = msg.Nak()
			return nil
		}
		p.handle(hctx, msg)
	}
	return nil
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
	err := p.h.Handle(ctx, msg)
	close(done)
	attrs := metric.WithAttributes(attribute.String("consumer", p.name))
	mHandleTime.Record(ctx, time.Since(start).Seconds(), attrs)
	outcome := p.settle(ctx, msg, err)
	mOutcomes.Add(ctx, 1, metric.WithAttributes(attribute.String("consumer", p.name), attribute.String("outcome", outcome)))
	if outcome == "retry" || outcome == "dead_letter" {
		span.SetStatus(codes.Error, err.Error())
	}
}

// settle acks, naks or terminates msg after its handler returned err, and
// says which.
func (p *Pool) settle(ctx context.Context, msg jetstream.Msg, err error) string {
	var deferred interface{ Deferred() bool }
	var permanent interface{ Permanent() bool }
	switch {
	case err == nil:
		start := time.Now()
		if aerr := msg.DoubleAck(ctx); aerr != nil {
			p.log.LogAttrs(ctx, slog.LevelWarn, "ack failed; the message will be redelivered", slog.String("subject", msg.Subject()), slog.Any("err", aerr))
		}
		mAckTime.Record(ctx, time.Since(start).Seconds(), metric.WithAttributes(attribute.String("consumer", p.name)))
		return "ack"
	case errors.As(err, &deferred) && deferred.Deferred():
		return "deferred"
	}
	md, _ := msg.Metadata()
	var delivered uint64 = 1
	if md != nil {
		delivered = md.NumDelivered
	}
	if (errors.As(err, &permanent) && permanent.Permanent()) || delivered >= uint64(p.maxDeliver) {
		p.deadLetter(ctx, msg, err, delivered)
		return "dead_letter"
	}
	delay := backoff(delivered)
	p.log.LogAttrs(ctx, slog.LevelWarn, "message failed; retrying", slog.String("subject", msg.Subject()), slog.Uint64("delivered", delivered), slog.Duration("delay", delay), slog.Any("err", err))
	_ = msg.NakWithDelay(delay)
	return "retry"
}

// Headers of a dead letter, besides the original message's headers.
const (
	HeaderDLQError     = "Entralake-Error"
	HeaderDLQStream    = "Entralake-Stream"
	HeaderDLQSubject   = "Entralake-Subject"
	HeaderDLQDelivered = "Entralake-Delivered"
)

func (p *Pool) deadLetter(ctx context.Context, msg jetstream.Msg, cause error, delivered uint64) {
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
		_ = msg.NakWithDelay(backoff(delivered))
		return
	}
	p.log.LogAttrs(ctx, slog.LevelError, "message dead-lettered", slog.String("subject", msg.Subject()), slog.Uint64("delivered", delivered), slog.Any("err", cause))
	_ = msg.TermWithReason(truncate(cause.Error(), 200))
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
