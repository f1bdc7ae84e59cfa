package parser

import (
	"context"
	"log/slog"
	"maps"
	"strconv"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/entralake/entralake/schema"
)

// headerSink keeps what a Stream publishes, without the bodies.
type headerSink struct{ msgs []schema.Outgoing }

func (s *headerSink) Publish(_ context.Context, m schema.Outgoing) error {
	s.msgs = append(s.msgs, schema.Outgoing{ID: m.ID, Header: maps.Clone(m.Header)})
	return nil
}

// TestDirectSameBatchesAsStream: Direct hands each batch over with the id
// and headers Stream publishes it with (a redelivered task is recognised
// by them in either topology), and the finished task records the same
// batch ids.
func TestDirectSameBatchesAsStream(t *testing.T) {
	blob := awkwardBlob()
	task := schema.Task{Container: "insights-logs-signinlogs", Blob: "tenantId=t/y=2025/m=04/d=11/h=16/m=00/PT1H.json", Size: int64(len(blob)), End: int64(len(blob)), Final: true}
	run := func(out Output) doneLog {
		var done doneLog
		h, err := NewHandler(HandlerConfig{Tasks: &done, Parser: Config{LogType: newTestParser(t, Config{}).cfg.LogType, MaxRecordSize: 4096, BatchRows: 64}},
			bytesBlob(blob), out, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.Run(context.Background(), task); err != nil {
			t.Fatal(err)
		}
		return done
	}
	sink := &headerSink{}
	streamDone := run(&Stream{Publisher: sink, Subject: func(table string) string { return "batches." + table }, MaxPayload: 8 << 20})
	var taken []schema.Outgoing
	directDone := run(&Direct{Take: func(_ context.Context, rec arrow.RecordBatch, m schema.Outgoing) error {
		if got := strconv.FormatInt(rec.NumRows(), 10); got != m.Header[schema.HeaderRows] {
			t.Errorf("batch %s has %s rows, its header says %s", m.ID, got, m.Header[schema.HeaderRows])
		}
		taken = append(taken, m)
		return nil
	}})
	if len(sink.msgs) < 3 {
		t.Fatalf("the task gave %d batches; the test needs several", len(sink.msgs))
	}
	if len(taken) != len(sink.msgs) {
		t.Fatalf("Direct took %d batches, Stream published %d", len(taken), len(sink.msgs))
	}
	for i := range taken {
		if taken[i].ID != sink.msgs[i].ID || !maps.Equal(taken[i].Header, sink.msgs[i].Header) {
			t.Errorf("batch %d: Direct %s %v, Stream %s %v", i, taken[i].ID, taken[i].Header, sink.msgs[i].ID, sink.msgs[i].Header)
		}
	}
	if len(directDone) != 1 || len(streamDone) != 1 || !maps.Equal(idSet(directDone[0].Batches), idSet(streamDone[0].Batches)) || len(directDone[0].Batches) != len(taken) {
		t.Errorf("finished task's batches: Direct %v, Stream %v", directDone, streamDone)
	}
}

func idSet(ids []string) map[string]bool {
	m := map[string]bool{}
	for _, id := range ids {
		m[id] = true
	}
	return m
}
