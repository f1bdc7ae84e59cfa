// Package schematest holds fakes of the schema package's interfaces for
// the tests of stages: a Message in memory, so that a stage's Handle is
// tested without a JetStream server.
package schematest

import (
	"context"
	"sync"
	"time"

	"github.com/entralake/entralake/schema"
)

// Message is a schema.Message in memory that records how it was settled.
// It is safe for concurrent use: a writer settles its messages from the
// goroutines that write files.
type Message struct {
	// Body is what Data returns.
	Body []byte
	// Headers are what Header returns.
	Headers map[string]string
	// Deliveries is what Delivered returns (0: 1, the first delivery).
	Deliveries uint64

	mu      sync.Mutex
	acks    int
	naks    []time.Duration
	terms   []string
	touches int
	settled []error
	done    chan struct{}
}

var _ schema.Message = (*Message)(nil)

// Data implements schema.Message.
func (m *Message) Data() []byte { return m.Body }

// Header implements schema.Message.
func (m *Message) Header(key string) string { return m.Headers[key] }

// Ack implements schema.Message.
func (m *Message) Ack(context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.acks++
	m.close()
	return nil
}

// Nak implements schema.Message.
func (m *Message) Nak(delay time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.naks = append(m.naks, delay)
	m.close()
	return nil
}

// InProgress implements schema.Message.
func (m *Message) InProgress() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.touches++
	return nil
}

// Term implements schema.Message.
func (m *Message) Term(reason string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.terms = append(m.terms, reason)
	m.close()
	return nil
}

// Delivered implements schema.Message.
func (m *Message) Delivered() uint64 { return max(m.Deliveries, 1) }

// Settle implements schema.Message: nil counts as an ack, an error is
// recorded (Settled).
func (m *Message) Settle(_ context.Context, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err == nil {
		m.acks++
	} else {
		m.settled = append(m.settled, err)
	}
	m.close()
}

// Acks returns how often the message was acked (Ack, or Settle(nil)).
func (m *Message) Acks() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.acks
}

// Naks returns the delays of its naks, in order.
func (m *Message) Naks() []time.Duration {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]time.Duration(nil), m.naks...)
}

// Terms returns the reasons it was terminated with.
func (m *Message) Terms() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.terms...)
}

// Touches returns how often InProgress was called.
func (m *Message) Touches() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.touches
}

// Settled returns the errors it was settled with (Settle with an error).
func (m *Message) Settled() []error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]error(nil), m.settled...)
}

// Done returns a channel closed once the message is first settled: acked,
// nak'ed, terminated or Settle'd.
func (m *Message) Done() <-chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.done == nil {
		m.done = make(chan struct{})
	}
	return m.done
}

// close closes done, once (m.mu held).
func (m *Message) close() {
	if m.done == nil {
		m.done = make(chan struct{})
	}
	select {
	case <-m.done:
	default:
		close(m.done)
	}
}
