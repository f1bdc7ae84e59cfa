package writer_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/entralake/entralake/lake/dir"
	"github.com/entralake/entralake/schema"
	"github.com/entralake/entralake/stages/writer"
	"github.com/entralake/entralake/stages/writer/writertest"
)

// TestIdleFlushWaitsForBusy checks that IdleFlush does not close a file
// while Busy reports work upstream (a parser in the middle of a task),
// however long no batch arrives, and closes it once Busy turns false.
func TestIdleFlushWaitsForBusy(t *testing.T) {
	var busy atomic.Bool
	busy.Store(true)
	w := writer.New(writer.Config{IdleFlush: 20 * time.Millisecond, Busy: busy.Load}, dir.Lake{Root: t.TempDir()}, writertest.NewLedger(), nil)
	sch := arrow.NewSchema([]arrow.Field{{Name: "p_row_id", Type: arrow.BinaryTypes.String}}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, sch)
	defer b.Release()
	b.Field(0).(*array.StringBuilder).Append("a")
	var acked atomic.Int64
	ack := func(context.Context) error { acked.Add(1); return nil }
	nop := func() error { return nil }
	ctx := t.Context()
	if err := w.Add(ctx, "azure_audit", "category=SignInLogs/date=2025-04-11/hour=16", "b1", b.NewRecordBatch(),
		writer.Pending{Ctx: ctx, Ack: ack, Nak: nop, Touch: nop}); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		time.Sleep(30 * time.Millisecond)
		w.Tick(ctx)
	}
	if n := w.Totals.Files.Load(); n != 0 || acked.Load() != 0 {
		t.Fatalf("%d files written, %d batches acked while upstream was busy; want none", n, acked.Load())
	}
	busy.Store(false)
	time.Sleep(30 * time.Millisecond)
	w.Tick(ctx)
	if n := w.Totals.Files.Load(); n != 1 || acked.Load() != 1 {
		t.Fatalf("%d files written, %d batches acked once idle; want 1 and 1", n, acked.Load())
	}
}

// TestTaskEndWaitsForStragglers checks FlushAtTaskEnd: a batch of the task
// that reaches the writer just after the task's last one (decoded
// concurrently) still goes into the same file.
func TestTaskEndWaitsForStragglers(t *testing.T) {
	lake := t.TempDir()
	w := writer.New(writer.Config{FlushAtTaskEnd: true}, dir.Lake{Root: lake}, writertest.NewLedger(), nil)
	sch := arrow.NewSchema([]arrow.Field{{Name: "p_row_id", Type: arrow.BinaryTypes.String}}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, sch)
	defer b.Release()
	nop := func() error { return nil }
	ctx := t.Context()
	add := func(id string, last bool) {
		t.Helper()
		b.Field(0).(*array.StringBuilder).Append(id)
		err := w.Add(ctx, "azure_audit", "category=SignInLogs/date=2025-04-11/hour=16", id, b.NewRecordBatch(),
			writer.Pending{Ctx: ctx, Last: last, Ack: func(context.Context) error { return nil }, Nak: nop, Touch: nop})
		if err != nil {
			t.Fatal(err)
		}
	}
	add("chunk-2", true) // the task's last batch comes first
	ended := time.Now()
	add("chunk-1", false) // its bigger batch before it, decoded later
	w.Tick(ctx)
	// (A Tick delayed past the grace time by a loaded machine may close
	// the file already: then only the outcome below is checked.)
	if n := w.Totals.Files.Load(); n != 0 && time.Since(ended) < writer.TaskEndGrace {
		t.Fatalf("%d files before the grace time passed", n)
	}
	time.Sleep(writer.TaskEndGrace)
	w.Tick(ctx)
	if n, rows := w.Totals.Files.Load(), w.Totals.Rows.Load(); n != 1 || rows != 2 {
		t.Fatalf("%d files with %d rows after the task ended, want 1 file with 2 rows", n, rows)
	}
}

// TestTaskEndCountsShare checks FlushAtTaskEnd with sequence numbers: the
// file closes as soon as the task's whole share of the partition is
// buffered, whatever the order its batches came in, and not before.
func TestTaskEndCountsShare(t *testing.T) {
	w := writer.New(writer.Config{FlushAtTaskEnd: true}, dir.Lake{Root: t.TempDir()}, writertest.NewLedger(), nil)
	sch := arrow.NewSchema([]arrow.Field{{Name: "p_row_id", Type: arrow.BinaryTypes.String}}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, sch)
	defer b.Release()
	nop := func() error { return nil }
	ctx := t.Context()
	add := func(part, task, id string, seq int, last bool) {
		t.Helper()
		b.Field(0).(*array.StringBuilder).Append(id)
		err := w.Add(ctx, "azure_audit", part, id, b.NewRecordBatch(),
			writer.Pending{Ctx: ctx, Last: last, Task: task, Seq: seq, Ack: func(context.Context) error { return nil }, Nak: nop, Touch: nop})
		if err != nil {
			t.Fatal(err)
		}
	}
	files := func(want int64) {
		t.Helper()
		if n := w.Totals.Files.Load(); n != want {
			t.Fatalf("%d files, want %d", n, want)
		}
	}
	const p1, p2 = "category=SignInLogs/date=2025-04-11/hour=16", "category=AuditLogs/date=2025-04-11/hour=16"
	add(p1, "t1", "t1-3", 3, true) // the last of three comes first
	add(p1, "t1", "t1-1", 1, false)
	files(0)
	add(p1, "t1", "t1-2", 2, false)
	files(1) // whole: closed at once, no Tick needed
	add(p2, "t2", "t2-1", 1, true)
	files(2) // a task with one batch for the partition
	if rows := w.Totals.Rows.Load(); rows != 4 {
		t.Fatalf("%d rows written, want 4", rows)
	}
}

// TestMaxBufferedCountsTinyBatches checks that MaxBuffered bounds memory
// when many partitions each hold a few one-row batches of the wide
// Azure.Audit schema (a small tenant's replay by day): such a batch takes
// far more heap than its buffers' bytes, and the writer must count that,
// closing files early instead of holding thousands of batches.
func TestMaxBufferedCountsTinyBatches(t *testing.T) {
	lt, err := schema.Load("Azure.Audit")
	if err != nil {
		t.Fatal(err)
	}
	const limit = 4 << 20
	w := writer.New(writer.Config{MaxBuffered: limit}, dir.Lake{Root: t.TempDir()}, writertest.NewLedger(), nil)
	nop := func() error { return nil }
	ctx := t.Context()
	const days, perDay = 40, 3
	for i := range days * perDay {
		day := i % days
		js := fmt.Sprintf(`[{"time": "2025-04-11T16:02:44Z", "category": "SignInLogs", "operationName": "x", "resourceId": "/t", "p_row_id": "r%d"}]`, i)
		rec, _, err := array.RecordFromJSON(memory.DefaultAllocator, lt.ArrowSchema(), strings.NewReader(js))
		if err != nil {
			t.Fatal(err)
		}
		err = w.Add(ctx, lt.Table(), fmt.Sprintf("category=SignInLogs/date=2025-03-%02d", day+1), fmt.Sprintf("b%d", i), rec,
			writer.Pending{Ctx: ctx, Ack: func(context.Context) error { return nil }, Nak: nop, Touch: nop})
		if err != nil {
			t.Fatal(err)
		}
		// A one-row batch takes ~186 KB of heap (its buffers: ~13 KB), so
		// 4 MiB holds about 22 of them; counted by their buffers, all 120
		// (1.5 MB) would stay.
		if got := w.Buffered(); got > 25 {
			t.Fatalf("after %d batches: %d held, want at most 25 under a %d-byte limit", i+1, got, limit)
		}
	}
	if n := w.Totals.Files.Load(); n == 0 {
		t.Fatal("no file closed early")
	}
	w.Flush(ctx)
	if got := w.Buffered(); got != 0 {
		t.Errorf("%d bytes buffered after Flush", got)
	}
}
