package cli

// The fused worker on JetStream: what a crash of a worker between writing
// a task's file and acking the task does.

import (
	"context"
	"encoding/json"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/entralake/entralake/lake/dir"
	"github.com/entralake/entralake/schema"
	"github.com/entralake/entralake/source/local"
	"github.com/entralake/entralake/stages/parser"
	"github.com/entralake/entralake/stages/writer"
	"github.com/entralake/entralake/workers"
)

// runFused runs a fused worker (parsers handing their batches to a writer
// in memory, tasks held until their files are in the lake) on its own
// connection until stop is called; hook, when set, is its writer's
// Config.Hook.
func runFused(t *testing.T, url string, q QueueFlags, src, lake string, hook func(writer.Step, string)) (w *writer.Writer, stop func()) {
	t.Helper()
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	c, err := connect(t.Context(), url, "test-worker", q, log)
	if err != nil {
		t.Fatal(err)
	}
	lt, err := schema.Load("Azure.Audit")
	if err != nil {
		t.Fatal(err)
	}
	ledger, err := workers.NewLedger(t.Context(), c.js)
	if err != nil {
		t.Fatal(err)
	}
	touch := workers.InProgressEvery(q.TaskAckWait)
	w = writer.New(writer.Config{IdleFlush: 200 * time.Millisecond, TouchEvery: touch, Hook: hook}, dir.Lake{Root: lake}, ledger, log)
	var ho *handOver
	out := &parser.Direct{Take: func(ctx context.Context, rec arrow.RecordBatch, m schema.Outgoing) error { return ho.take(ctx, rec, m) }}
	ph, err := newParserHandler(c, lt, local.Dir{Root: src}, ParserFlags{MaxRecordSize: 1 << 20, BatchRows: 10, Partition: "hour"}, out, log)
	if err != nil {
		t.Fatal(err)
	}
	f := workers.NewFused(ph, touch)
	ho = newHandOver(f, w, 2)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		_ = runPool(ctx, c, workers.StreamTasks, workers.ConsumerParsers, f, 2, q, log)
		ho.close()
	})
	wg.Go(func() { w.Run(ctx, 50*time.Millisecond) })
	return w, func() { cancel(); c.nc.Close(); wg.Wait() }
}

// TestFusedCrashBetweenWriteAndAck stops a fused worker once its task's
// file is in place (or only recorded in the ledger) but before the task is
// acked, starts another, and checks that every row is in the lake exactly
// once: the redelivered task is parsed again, and its batches, found in
// the ledger and in the lake, are only acked.
func TestFusedCrashBetweenWriteAndAck(t *testing.T) {
	for _, point := range []writer.Step{writer.StepCommitted, writer.StepRecorded} {
		t.Run(string(point), func(t *testing.T) {
			q := QueueFlags{TaskAckWait: 2 * time.Second, BatchAckWait: 2 * time.Second, MaxDeliver: 5, ShutdownTimeout: 5 * time.Second}
			url, js := startJetStream(t, q)
			src, lake := t.TempDir(), t.TempDir()
			const cont, name = "insights-logs-signinlogs", "tenantId=t/y=2025/m=04/d=11/h=16/m=00/PT1H.json"
			size, _ := writeBlob(t, src, cont, name, 50)
			data, err := json.Marshal(schema.Task{Container: cont, Blob: name, ETag: "e", End: size, Size: size, Final: true})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := js.Publish(t.Context(), workers.SubjectTasks, data); err != nil {
				t.Fatal(err)
			}

			hook, crashed := freezeAt(t, point)
			_, stop1 := runFused(t, url, q, src, lake, hook)
			rel := crashed(30 * time.Second)
			_, visible := os.Stat(filepath.Join(lake, filepath.FromSlash(rel)))
			if got, want := visible == nil, point == writer.StepCommitted; got != want {
				t.Fatalf("file visible at crash=%v, want %v", got, want)
			}
			go stop1() // its connection closes; the frozen file is never acked
			w2, stop2 := runFused(t, url, q, src, lake, nil)
			waitEmpty(t, url)
			stop2()

			ids := map[string]bool{}
			for _, r := range readLake(t, filepath.Join(lake, "azure_audit")) {
				id, _ := r[schema.ColRowID].(string)
				if ids[id] {
					t.Fatalf("row %s is in the lake twice", id)
				}
				ids[id] = true
			}
			if got, want := len(ids), 50; got != want {
				t.Fatalf("rows in lake=%d, want %d", got, want)
			}
			if point == writer.StepCommitted {
				if got, want := w2.Totals.Duplicates.Load(), int64(5); got != want {
					t.Errorf("restarted worker recognised %d batches as already written, want %d", got, want)
				}
				if got := w2.Totals.Files.Load(); got != 0 {
					t.Errorf("restarted worker wrote %d files, want 0", got)
				}
			}
			if got := visibleFiles(t, lake); got != 1 {
				t.Errorf("files=%d, want 1", got)
			}
		})
	}
}

// visibleFiles counts the Parquet files of the lake that engines see.
func visibleFiles(t *testing.T, lake string) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(lake, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !strings.HasPrefix(d.Name(), ".") && strings.HasSuffix(d.Name(), ".parquet") {
			n++
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}
