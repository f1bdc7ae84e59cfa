package writer_test

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/entralake/entralake/lake/dir"
	"github.com/entralake/entralake/schema"
	"github.com/entralake/entralake/schema/schematest"
	"github.com/entralake/entralake/stages/writer"
	"github.com/entralake/entralake/stages/writer/writertest"
)

// batchMsg is a batch message as a parser publishes it: one row, in
// partition hour=16 of azure_audit.
func batchMsg(t *testing.T, id string) *schematest.Message {
	t.Helper()
	rec := oneRow("row-" + id)
	defer rec.Release()
	return &schematest.Message{Body: writertest.EncodeBatch(t, rec), Headers: map[string]string{
		schema.HeaderTable:     "azure_audit",
		schema.HeaderPartition: "category=SignInLogs/date=2025-04-11/hour=16",
		schema.HeaderBatch:     id,
		schema.HeaderTask:      "task-1",
		schema.HeaderRows:      "1",
	}}
}

// deferred reports whether err says the handler keeps the message.
func deferred(err error) bool {
	var d interface{ Deferred() bool }
	return errors.As(err, &d) && d.Deferred()
}

// TestHandleAcksOnceInLake checks that Handle keeps a batch's message
// until the file holding the batch is in the lake: not acked while
// buffered, touched meanwhile, acked once written; a batch delivered again
// once its file is there is acked at once, not written twice.
func TestHandleAcksOnceInLake(t *testing.T) {
	ctx := t.Context()
	root := t.TempDir()
	w := writer.New(writer.Config{}, dir.Lake{Root: root}, writertest.NewLedger(), nil)
	msgs := []*schematest.Message{batchMsg(t, "b1"), batchMsg(t, "b2")}
	for _, m := range msgs {
		if err := w.Handle(ctx, m); !deferred(err) {
			t.Fatalf("Handle=%v, want an error that says the ack is deferred", err)
		}
	}
	w.Touch()
	for i, m := range msgs {
		if m.Acks() != 0 || m.Touches() != 1 {
			t.Fatalf("message %d while buffered: %d acks, %d touches; want 0 and 1", i, m.Acks(), m.Touches())
		}
	}
	w.Flush(ctx)
	for i, m := range msgs {
		if m.Acks() != 1 || len(m.Naks()) != 0 || len(m.Settled()) != 0 {
			t.Fatalf("message %d after the flush: %d acks, naks %v, settled %v; want one ack", i, m.Acks(), m.Naks(), m.Settled())
		}
	}
	files, err := filepath.Glob(filepath.Join(root, "azure_audit/category=SignInLogs/date=2025-04-11/hour=16/part-*.parquet"))
	if err != nil || len(files) != 1 {
		t.Fatalf("files %v (%v), want one", files, err)
	}
	again := batchMsg(t, "b1")
	if err := w.Handle(ctx, again); !deferred(err) {
		t.Fatalf("Handle of a batch already in the lake=%v, want deferred", err)
	}
	if got := w.Totals.Duplicates.Load(); got != 1 || again.Acks() != 1 {
		t.Fatalf("a batch already in the lake: duplicates=%d, acks=%d; want 1 and 1", got, again.Acks())
	}
}

// TestHandleRejects checks that a batch message that can never be written
// is a permanent error (dead-lettered at once), and settles nothing.
func TestHandleRejects(t *testing.T) {
	w := writer.New(writer.Config{}, dir.Lake{Root: t.TempDir()}, writertest.NewLedger(), nil)
	for name, change := range map[string]func(m *schematest.Message){
		"no batch id":      func(m *schematest.Message) { delete(m.Headers, schema.HeaderBatch) },
		"not arrow":        func(m *schematest.Message) { m.Body = []byte("{}") },
		"rows mismatch":    func(m *schematest.Message) { m.Headers[schema.HeaderRows] = strconv.Itoa(2) },
		"unsafe table":     func(m *schematest.Message) { m.Headers[schema.HeaderTable] = "../etc" },
		"unsafe partition": func(m *schematest.Message) { m.Headers[schema.HeaderPartition] = "category=a/../../x" },
	} {
		t.Run(name, func(t *testing.T) {
			m := batchMsg(t, "b-"+name)
			change(m)
			err := w.Handle(t.Context(), m)
			var p interface{ Permanent() bool }
			if !errors.As(err, &p) || !p.Permanent() {
				t.Fatalf("Handle=%v, want a permanent error", err)
			}
			if m.Acks() != 0 || len(m.Naks()) != 0 || len(m.Settled()) != 0 {
				t.Fatalf("the message was settled: %d acks, naks %v, settled %v", m.Acks(), m.Naks(), m.Settled())
			}
		})
	}
}

// TestHandleSettlesFailedFile checks that a batch whose file cannot be
// written is settled as failed through the message (the pool's retry
// accounting), with the error that says the lake cannot be used, and
// that a batch taken after Close is given back at once.
func TestHandleSettlesFailedFile(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "azure_audit"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	w := writer.New(writer.Config{}, dir.Lake{Root: root}, writertest.NewLedger(), nil)
	m := batchMsg(t, "b1")
	if err := w.Handle(t.Context(), m); !deferred(err) {
		t.Fatalf("Handle=%v, want deferred", err)
	}
	w.Close(t.Context())
	select {
	case <-m.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the message was never settled")
	}
	errs := m.Settled()
	var u interface{ Unusable() bool }
	if len(errs) != 1 || !errors.As(errs[0], &u) || !u.Unusable() || m.Acks() != 0 {
		t.Fatalf("settled %v, %d acks; want one Unusable error", errs, m.Acks())
	}
	late := batchMsg(t, "b2")
	if err := w.Handle(t.Context(), late); !deferred(err) {
		t.Fatalf("Handle after Close=%v", err)
	}
	if naks := late.Naks(); len(naks) != 1 || naks[0] != 0 {
		t.Fatalf("a batch after Close: naks %v, want one without delay", naks)
	}
}
