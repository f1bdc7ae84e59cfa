package workers

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// DeadLetter is a message that failed MaxDeliver times, or failed in a way
// that can never succeed.
type DeadLetter struct {
	Seq       uint64
	Time      time.Time
	Stream    string // the stream it came from
	Subject   string // its subject there
	Error     string
	Delivered int
	Header    nats.Header
	Data      []byte
}

// ErrNoDeadLetter reports an unknown dead-letter sequence number.
var ErrNoDeadLetter = errors.New("no such dead letter")

// DeadLetters returns the dead letters in stream order.
func DeadLetters(ctx context.Context, js jetstream.JetStream) ([]DeadLetter, error) {
	st, err := js.Stream(ctx, StreamDLQ)
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", StreamDLQ, err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("stream %s info: %w", StreamDLQ, err)
	}
	var out []DeadLetter
	if info.State.Msgs == 0 {
		return nil, nil
	}
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq; seq++ {
		m, err := st.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("dead letter %d: %w", seq, err)
		}
		out = append(out, toDeadLetter(m))
	}
	return out, nil
}

func toDeadLetter(m *jetstream.RawStreamMsg) DeadLetter {
	d, _ := strconv.Atoi(m.Header.Get(HeaderDLQDelivered))
	return DeadLetter{Seq: m.Sequence, Time: m.Time, Stream: m.Header.Get(HeaderDLQStream), Subject: m.Header.Get(HeaderDLQSubject),
		Error: m.Header.Get(HeaderDLQError), Delivered: d, Header: m.Header, Data: m.Data}
}

// RetryDeadLetter publishes dead letter seq to its original subject again,
// with its original headers, and removes it from the dead-letter stream.
func RetryDeadLetter(ctx context.Context, js jetstream.JetStream, seq uint64) error {
	st, err := js.Stream(ctx, StreamDLQ)
	if err != nil {
		return fmt.Errorf("stream %s: %w", StreamDLQ, err)
	}
	m, err := st.GetMsg(ctx, seq)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return fmt.Errorf("%w: %d", ErrNoDeadLetter, seq)
	}
	if err != nil {
		return fmt.Errorf("dead letter %d: %w", seq, err)
	}
	dl := toDeadLetter(m)
	if dl.Subject == "" {
		return fmt.Errorf("dead letter %d has no original subject", seq)
	}
	out := nats.NewMsg(dl.Subject)
	for k, v := range m.Header {
		switch k {
		case HeaderDLQError, HeaderDLQStream, HeaderDLQSubject, HeaderDLQDelivered, "Nats-Msg-Id":
			continue
		}
		out.Header[k] = v
	}
	out.Data = m.Data
	if _, err := js.PublishMsg(ctx, out); err != nil {
		return fmt.Errorf("republish dead letter %d to %s: %w", seq, dl.Subject, err)
	}
	if err := st.DeleteMsg(ctx, seq); err != nil {
		return fmt.Errorf("remove dead letter %d after retrying it: %w", seq, err)
	}
	return nil
}
