package writer_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/entralake/entralake/lake/dir"
	"github.com/entralake/entralake/stages/writer"
	"github.com/entralake/entralake/stages/writer/writertest"
)

var rowSchema = arrow.NewSchema([]arrow.Field{{Name: "p_row_id", Type: arrow.BinaryTypes.String}}, nil)

func oneRow(id string) arrow.RecordBatch {
	b := array.NewRecordBuilder(memory.DefaultAllocator, rowSchema)
	defer b.Release()
	b.Field(0).(*array.StringBuilder).Append(id)
	return b.NewRecordBatch()
}

// settled counts how each batch's message was settled.
type settled struct {
	mu    sync.Mutex
	count map[string]int // acks + naks + fails per batch
	naks  atomic.Int64
	fails []error
}

func (s *settled) pending(id string) writer.Pending {
	note := func() {
		s.mu.Lock()
		s.count[id]++
		s.mu.Unlock()
	}
	return writer.Pending{
		Ack: func(context.Context) error { note(); return nil },
		Nak: func() error { note(); s.naks.Add(1); return nil },
		Fail: func(_ context.Context, err error) {
			note()
			s.mu.Lock()
			s.fails = append(s.fails, err)
			s.mu.Unlock()
		},
		Touch: func() error { return nil },
	}
}

// TestAddFlushCloseRace adds batches from many goroutines while others
// flush and the writer closes, as at the shutdown of `run`: no panic
// ("WaitGroup is reused before previous Wait has returned"), no race under
// -race, and every batch acked or given back exactly once, none left
// buffered.
func TestAddFlushCloseRace(t *testing.T) {
	for round := range 20 {
		w := writer.New(writer.Config{RollRows: 3, Concurrency: 2}, dir.Lake{Root: t.TempDir()}, writertest.NewLedger(), nil)
		s := &settled{count: map[string]int{}}
		ctx := t.Context()
		const adders, per = 4, 30
		var wg sync.WaitGroup
		start := make(chan struct{})
		for a := range adders {
			wg.Go(func() {
				<-start
				for i := range per {
					id := strconv.Itoa(round) + "-" + strconv.Itoa(a) + "-" + strconv.Itoa(i)
					part := "category=SignInLogs/date=2025-04-11/hour=" + strconv.Itoa(10+i%3)
					if err := w.Add(ctx, "azure_audit", part, id, oneRow(id), s.pending(id)); err != nil {
						t.Error(err)
					}
				}
			})
		}
		wg.Go(func() {
			<-start
			for range 5 {
				w.Flush(ctx)
				w.Tick(ctx)
			}
		})
		wg.Go(func() {
			<-start
			w.Close(ctx)
		})
		close(start)
		wg.Wait()
		w.Close(ctx) // a second Close is harmless and finds nothing
		if got := w.Buffered(); got != 0 {
			t.Fatalf("round %d: %d batches still buffered after Close", round, got)
		}
		s.mu.Lock()
		if got, want := len(s.count), adders*per; got != want {
			t.Fatalf("round %d: %d batches settled, want %d", round, got, want)
		}
		for id, n := range s.count {
			if n != 1 {
				t.Fatalf("round %d: batch %s settled %d times, want 1", round, id, n)
			}
		}
		s.mu.Unlock()
		if got, want := w.Totals.Released.Load(), s.naks.Load(); got != want {
			t.Fatalf("round %d: Released=%d, naks=%d", round, got, want)
		}
	}
}

// TestAddAfterClose checks that a batch added after Close is given back at
// once, not kept in a buffer nobody flushes.
func TestAddAfterClose(t *testing.T) {
	w := writer.New(writer.Config{}, dir.Lake{Root: t.TempDir()}, writertest.NewLedger(), nil)
	s := &settled{count: map[string]int{}}
	w.Close(t.Context())
	if err := w.Add(t.Context(), "azure_audit", "category=SignInLogs/date=2025-04-11/hour=16", "late", oneRow("late"), s.pending("late")); err != nil {
		t.Fatal(err)
	}
	if got := s.naks.Load(); got != 1 {
		t.Fatalf("naks=%d, want 1", got)
	}
	if got := w.Buffered(); got != 0 {
		t.Fatalf("%d batches buffered after Close", got)
	}
}

// TestCloseReleasesWhenOutOfTime checks that Close gives back, unwritten,
// the batches whose file it could not begin before its context ended.
func TestCloseReleasesWhenOutOfTime(t *testing.T) {
	lake := t.TempDir()
	w := writer.New(writer.Config{}, dir.Lake{Root: lake}, writertest.NewLedger(), nil)
	s := &settled{count: map[string]int{}}
	for i := range 3 {
		id := strconv.Itoa(i)
		if err := w.Add(t.Context(), "azure_audit", "category=SignInLogs/date=2025-04-11/hour=1"+id, id, oneRow(id), s.pending(id)); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if got, want := w.Close(ctx), int64(3); got != want {
		t.Fatalf("Close gave back %d batches, want %d", got, want)
	}
	if got := s.naks.Load(); got != 3 {
		t.Fatalf("naks=%d, want 3", got)
	}
	if n := w.Totals.Files.Load(); n != 0 {
		t.Fatalf("%d files written after the deadline", n)
	}
}

// TestFailedFileFails checks that a file the lake refuses fails its
// batches through Pending.Fail (the worker pool's retry accounting, which
// ends in the dead-letter stream) with an error that says the lake cannot
// be used and names the path.
func TestFailedFileFails(t *testing.T) {
	lake := t.TempDir()
	// A file where the table's folder should be: no retry can help.
	if err := os.WriteFile(filepath.Join(lake, "azure_audit"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	w := writer.New(writer.Config{}, dir.Lake{Root: lake}, writertest.NewLedger(), nil)
	s := &settled{count: map[string]int{}}
	if err := w.Add(t.Context(), "azure_audit", "category=SignInLogs/date=2025-04-11/hour=16", "b", oneRow("b"), s.pending("b")); err != nil {
		t.Fatal(err)
	}
	w.Close(t.Context())
	if len(s.fails) != 1 {
		t.Fatalf("fails=%d (naks %d), want 1", len(s.fails), s.naks.Load())
	}
	err := s.fails[0]
	var u interface{ Unusable() bool }
	if !errors.As(err, &u) || !u.Unusable() {
		t.Errorf("error %v is not Unusable", err)
	}
	if want := filepath.Join(lake, "azure_audit"); !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not name %s", err, want)
	}
}
