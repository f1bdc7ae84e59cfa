package cli

// The writer stage on JetStream: what a crash, or a file slower to write
// than the ack wait, does to the batches a writer holds.

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/entralake/entralake/lake"
	"github.com/entralake/entralake/lake/dir"
	"github.com/entralake/entralake/schema"
	"github.com/entralake/entralake/stages/parser"
	"github.com/entralake/entralake/stages/writer"
	"github.com/entralake/entralake/stages/writer/writertest"
	"github.com/entralake/entralake/workers"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// The stages' handlers are what the worker pool runs.
var (
	_ workers.Handler = (*writer.Writer)(nil)
	_ workers.Handler = (*parser.Handler)(nil)
)

var rowIDSchema = arrow.NewSchema([]arrow.Field{{Name: "p_row_id", Type: arrow.BinaryTypes.String}}, nil)

func connectJS(t *testing.T, url string) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return nc, js
}

// publishBatches publishes n batches of 10 rows each to one partition.
func publishBatches(t *testing.T, js jetstream.JetStream, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		b := array.NewRecordBuilder(memory.DefaultAllocator, rowIDSchema)
		for j := 0; j < 10; j++ {
			b.Field(0).(*array.StringBuilder).Append("row-" + strconv.Itoa(i) + "-" + strconv.Itoa(j))
		}
		rec := b.NewRecordBatch()
		b.Release()
		data := writertest.EncodeBatch(t, rec)
		rec.Release()
		m := nats.NewMsg(workers.SubjectBatches + ".azure_audit")
		m.Header.Set(schema.HeaderTable, "azure_audit")
		m.Header.Set(schema.HeaderPartition, "category=SignInLogs/date=2025-04-11/hour=16")
		m.Header.Set(schema.HeaderBatch, "batch-"+strconv.Itoa(i))
		m.Header.Set(schema.HeaderRows, "10")
		m.Data = data
		if _, err := js.PublishMsg(t.Context(), m); err != nil {
			t.Fatal(err)
		}
	}
}

// runWriter runs a writer on its own connection until stop is called;
// hook, when set, is its Config.Hook.
func runWriter(t *testing.T, url, lake string, hook func(writer.Step, string)) (w *writer.Writer, stop func()) {
	t.Helper()
	nc, js := connectJS(t, url)
	ledger, err := workers.NewLedger(t.Context(), js)
	if err != nil {
		t.Fatal(err)
	}
	w = writer.New(writer.Config{IdleFlush: 200 * time.Millisecond, Hook: hook}, dir.Lake{Root: lake}, ledger, nil)
	_, pool := writerPool(t, js, w)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = pool.Run(ctx) })
	wg.Go(func() {
		tk := time.NewTicker(50 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tk.C:
				w.Tick(ctx)
			}
		}
	})
	return w, func() { cancel(); nc.Close(); wg.Wait() }
}

// writerPool returns the writers' consumer and a pool of 4 that feeds w.
func writerPool(t *testing.T, js jetstream.JetStream, w *writer.Writer) (jetstream.Consumer, *workers.Pool) {
	t.Helper()
	cons, err := js.Consumer(t.Context(), workers.StreamBatches, workers.ConsumerWriters)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := workers.NewPool(js, cons, w, workers.WithConcurrency(4))
	if err != nil {
		t.Fatal(err)
	}
	return cons, pool
}

func waitEmpty(t *testing.T, url string) {
	t.Helper()
	nc, js := connectJS(t, url)
	defer nc.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := workers.WaitIdle(ctx, js, 100*time.Millisecond, nil); err != nil {
		t.Fatalf("batches never all acked: %v", err)
	}
}

// writtenRows reads every visible Parquet file and returns the row ids,
// and fails on a leftover temporary file.
func writtenRows(t *testing.T, lake string) (ids []string, files int) {
	t.Helper()
	err := filepath.WalkDir(lake, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if strings.HasPrefix(d.Name(), ".") {
			// A crashed writer's temporary file: hidden from engines, and
			// it must never look like a Parquet file.
			if strings.HasSuffix(d.Name(), ".parquet") {
				t.Errorf("temporary file looks like a lake file: %s", p)
			}
			return nil
		}
		if !strings.HasSuffix(d.Name(), ".parquet") {
			t.Errorf("unexpected file in the lake: %s", p)
			return nil
		}
		files++
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		pf, err := file.NewParquetReader(f)
		if err != nil {
			return err
		}
		fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
		if err != nil {
			return err
		}
		tbl, err := fr.ReadTable(context.Background())
		if err != nil {
			return err
		}
		defer tbl.Release()
		for _, c := range tbl.Column(0).Data().Chunks() {
			s := c.(*array.String)
			for i := 0; i < s.Len(); i++ {
				ids = append(ids, s.Value(i))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids, files
}

// freezeAt returns a writer Hook that freezes the writer for good at
// point, as if it died there, and a function that waits up to d for it to
// get there and returns the file it was writing.
func freezeAt(t *testing.T, point writer.Step) (hook func(writer.Step, string), crashed func(d time.Duration) string) {
	t.Helper()
	at := make(chan string, 1)
	hang := make(chan struct{})
	t.Cleanup(func() { close(hang) })
	hook = func(step writer.Step, rel string) {
		if step != point {
			return
		}
		select {
		case at <- rel:
		default:
		}
		<-hang // the "dead" writer never gets further
	}
	return hook, func(d time.Duration) string {
		t.Helper()
		select {
		case rel := <-at:
			return rel
		case <-time.After(d):
			t.Fatal("the writer never reached the crash point")
			return ""
		}
	}
}

// TestCrashBetweenWriteAndAck stops a writer after its file is in place but
// before it acks, starts another, and checks that every row is in the lake
// exactly once.
func TestCrashBetweenWriteAndAck(t *testing.T) {
	for _, point := range []writer.Step{writer.StepCommitted, writer.StepRecorded} {
		t.Run(string(point), func(t *testing.T) {
			url, _ := startJetStream(t, QueueFlags{TaskAckWait: 10 * time.Second, BatchAckWait: 2 * time.Second, MaxDeliver: 5})
			lake := t.TempDir()
			_, js := connectJS(t, url)
			publishBatches(t, js, 5)

			hook, crashed := freezeAt(t, point)
			_, stop1 := runWriter(t, url, lake, hook)
			rel := crashed(20 * time.Second)
			_, visible := os.Stat(filepath.Join(lake, filepath.FromSlash(rel)))
			if got, want := visible == nil, point == writer.StepCommitted; got != want {
				t.Fatalf("file visible at crash=%v, want %v", got, want)
			}
			go stop1() // its connection closes; the frozen flush never acks
			w2, stop2 := runWriter(t, url, lake, nil)
			waitEmpty(t, url)
			stop2()

			ids, files := writtenRows(t, lake)
			seen := map[string]bool{}
			for _, id := range ids {
				if seen[id] {
					t.Fatalf("row %s is in the lake twice", id)
				}
				seen[id] = true
			}
			if got, want := len(seen), 50; got != want {
				t.Fatalf("rows in lake=%d, want %d", got, want)
			}
			if point == writer.StepCommitted {
				if got, want := w2.Totals.Duplicates.Load(), int64(5); got != want {
					t.Errorf("restarted writer recognised %d batches as already written, want %d", got, want)
				}
				if files != 1 {
					t.Errorf("files=%d, want 1", files)
				}
			}
		})
	}
}

// slowLake takes delay to start each file: a file that is slow to write.
type slowLake struct {
	dir.Lake
	delay time.Duration
}

func (l slowLake) Create(ctx context.Context, rel string) (lake.File, error) {
	time.Sleep(l.delay)
	return l.Lake.Create(ctx, rel)
}

// TestHeldWhileWriting checks that the batches of a file that takes longer
// than the ack wait to write keep getting in-progress acks: the server
// delivers each batch once.
func TestHeldWhileWriting(t *testing.T) {
	const ackWait = 2 * time.Second
	url, _ := startJetStream(t, QueueFlags{TaskAckWait: 10 * time.Second, BatchAckWait: ackWait, MaxDeliver: 5})
	lake := t.TempDir()
	nc, js := connectJS(t, url)
	defer nc.Close()
	publishBatches(t, js, 3)
	ledger, err := workers.NewLedger(t.Context(), js)
	if err != nil {
		t.Fatal(err)
	}
	w := writer.New(writer.Config{MaxAge: 100 * time.Millisecond, TouchEvery: workers.InProgressEvery(ackWait)},
		slowLake{dir.Lake{Root: lake}, 3 * ackWait}, ledger, nil)
	cons, pool := writerPool(t, js, w)
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	wg.Go(func() { _ = pool.Run(ctx) })
	wg.Go(func() { w.Run(ctx, 50*time.Millisecond) })
	waitEmpty(t, url)
	cancel()
	wg.Wait()

	info, err := cons.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got := info.Delivered.Consumer; got != 3 {
		t.Errorf("the server made %d deliveries of 3 batches, want 3", got)
	}
	if ids, _ := writtenRows(t, lake); len(ids) != 30 {
		t.Errorf("rows in lake=%d, want 30", len(ids))
	}
}
