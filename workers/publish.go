package workers

import (
	"context"

	"github.com/entralake/entralake/schema"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
)

// Publisher publishes the messages of stages (schema.Outgoing) to
// JetStream and waits for the stream's ack: it is the lister's and the
// parsers' Publisher. The trace context of the ctx a message is published
// with goes into its headers, and its ID into Nats-Msg-Id, which the
// stream de-duplicates on.
type Publisher struct{ JS jetstream.JetStream }

// Publish publishes m and waits until the stream stored it. A message
// with an ID is published again through a leader election (Retry): the
// stream drops the copies as duplicates of the same Nats-Msg-Id.
func (p Publisher) Publish(ctx context.Context, m schema.Outgoing) error {
	msg := nats.NewMsg(m.Subject)
	for k, v := range m.Header {
		msg.Header.Set(k, v)
	}
	msg.Data = m.Data
	otel.GetTextMapPropagator().Inject(ctx, propagation.HeaderCarrier(msg.Header))
	if m.ID == "" {
		_, err := p.JS.PublishMsg(ctx, msg)
		return err
	}
	return Retry(ctx, func(ctx context.Context) error {
		_, err := p.JS.PublishMsg(ctx, msg, jetstream.WithMsgID(m.ID))
		return err
	})
}
