package schema

import (
	"context"
	"time"
)

// Message is a message of a work stream (a task, a batch) as a stage's
// handler sees it: its body, its headers, and the ways to settle it.
// workers adapts JetStream's messages to it for its Pool; stage tests use
// fakes. A stage's Handle method and workers.Handler name this very type,
// and neither side may import the other: so it lives here, beside the
// header names and the task, which are the rest of what stages say to
// each other.
//
// A handler normally settles nothing itself: the pool acks the message
// when Handle returns nil, and retries or dead-letters it on an error. A
// handler that keeps the message past Handle (the writer, until the file
// holding its batch is in the lake) settles it later with Ack, Nak or
// Settle, and keeps it alive meanwhile with InProgress.
type Message interface {
	// Data returns the body.
	Data() []byte
	// Header returns the first value of the header key ("" if none).
	Header(key string) string
	// Ack acknowledges the message and waits until the server confirmed
	// it: it is not delivered again.
	Ack(ctx context.Context) error
	// Nak gives the message back, for delivery again after delay (0: at
	// once), without counting as a failure.
	Nak(delay time.Duration) error
	// InProgress says the message is still being worked on: its ack
	// wait starts again, and it is not given to another process.
	InProgress() error
	// Term ends the message for good, without a dead letter: it is not
	// delivered again. A handler that wants it dead-lettered returns (or
	// settles with) an error with Permanent() true instead.
	Term(reason string) error
	// Delivered is how many times the message has been delivered, 1 the
	// first time: what max-deliver accounting counts.
	Delivered() uint64
	// Settle settles a message its handler kept (its error said
	// Deferred() true) as if Handle had returned err: nil acks it; an
	// error retries it with a growing delay, or dead-letters it after
	// the last try or at once when permanent.
	Settle(ctx context.Context, err error)
}

// Outgoing is a message a stage publishes to a work stream (workers
// adapts it to a JetStream publish, adding the trace context of the ctx
// it is published with to its headers).
type Outgoing struct {
	// Subject is the stream subject.
	Subject string
	// ID is the message's stable id (Nats-Msg-Id): the stream drops a
	// message whose ID it stored within its duplicate window.
	ID string
	// Header holds the headers (the Header constants).
	Header map[string]string
	// Data is the body.
	Data []byte
}
