package workers

import (
	"testing"
	"time"

	"github.com/entralake/entralake/schema"
	"github.com/nats-io/nats.go/jetstream"
)

// TestPublisher checks that a stage's message reaches the stream with its
// headers and body, and that its ID de-duplicates it: published again,
// it is dropped.
func TestPublisher(t *testing.T) {
	js := testJS(t)
	ctx := t.Context()
	pub := Publisher{JS: js}
	m := schema.Outgoing{Subject: SubjectBatches + ".azure_audit", ID: "batch-1",
		Header: map[string]string{schema.HeaderTable: "azure_audit", schema.HeaderBatch: "batch-1"}, Data: []byte("body")}
	for range 2 {
		if err := pub.Publish(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	cons, err := js.Consumer(ctx, StreamBatches, ConsumerWriters)
	if err != nil {
		t.Fatal(err)
	}
	batch, err := cons.Fetch(2, jetstream.FetchMaxWait(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var got []jetstream.Msg
	for msg := range batch.Messages() {
		got = append(got, msg)
	}
	if len(got) != 1 {
		t.Fatalf("messages=%d, want 1 (the second is a duplicate)", len(got))
	}
	h := got[0].Headers()
	if string(got[0].Data()) != "body" || h.Get(schema.HeaderTable) != "azure_audit" || h.Get(schema.HeaderBatch) != "batch-1" || h.Get("Nats-Msg-Id") != "batch-1" {
		t.Fatalf("message %q with headers %v", got[0].Data(), h)
	}
}
