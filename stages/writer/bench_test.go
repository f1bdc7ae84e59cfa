package writer_test

import (
	"bytes"
	"context"
	"flag"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/entralake/entralake/internal/gen"
	"github.com/entralake/entralake/lake"
	"github.com/entralake/entralake/schema"
	"github.com/entralake/entralake/stages/parser"
	"github.com/entralake/entralake/stages/parser/parsertest"
	"github.com/entralake/entralake/stages/writer"
)

// memLake keeps committed files in memory and counts their bytes.
type memLake struct{ bytes, files atomic.Int64 }

type memFile struct {
	bytes.Buffer
	lake *memLake
}

func (l *memLake) Create(context.Context, string) (lake.File, error) { return &memFile{lake: l}, nil }
func (l *memLake) Exists(context.Context, string) (bool, error)      { return false, nil }
func (f *memFile) Commit(context.Context) error {
	f.lake.bytes.Add(int64(f.Len()))
	f.lake.files.Add(1)
	return nil
}
func (f *memFile) Abort() error { return nil }

// nopLedger remembers nothing: every batch is new.
type nopLedger struct{}

func (nopLedger) Lookup(context.Context, string) (string, bool, error) { return "", false, nil }
func (nopLedger) Record(context.Context, string, []string) error       { return nil }

// benchBatch is a parsed batch with its partition.
type benchBatch struct {
	table, partition, id string
	rec                  arrow.RecordBatch
}

// parsedBatches generates records (one hour) and parses them into the
// batches the writer receives in production.
func parsedBatches(b *testing.B, records int64) (batches []benchBatch, jsonBytes, rows int64) {
	b.Helper()
	g, err := gen.New(gen.Config{Seed: 1, Records: records, Hours: 1})
	if err != nil {
		b.Fatal(err)
	}
	p := parsertest.New(b, parser.Config{})
	for _, bl := range g.Blobs() {
		var buf bytes.Buffer
		if _, err := g.WriteBlob(&buf, bl); err != nil {
			b.Fatal(err)
		}
		jsonBytes += int64(buf.Len())
		task := schema.Task{SourceID: "bench", Container: bl.Container, Blob: bl.Name, Size: int64(buf.Len()), End: int64(buf.Len()), Final: true}
		_, err := p.Parse(context.Background(), task, 0, &buf, func(pb parser.Batch) error {
			batches = append(batches, benchBatch{table: pb.Table, partition: pb.Partition, id: task.ID() + "/" + pb.Key, rec: pb.Record})
			rows += pb.Record.NumRows()
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	return batches, jsonBytes, rows
}

// BenchmarkWrite measures the writer alone: Arrow batches to zstd Parquet
// files in memory, with the production writer properties, one file per
// partition (category and hour). MB/s counts the JSON bytes the batches
// were parsed from; out-%json is the Parquet size in percent of them.
var benchZstd = flag.Int("write.zstd", 0, "ZstdLevel of BenchmarkWrite (0: the default)")

func BenchmarkWrite(b *testing.B) {
	for _, bc := range []struct {
		name        string
		concurrency int
	}{
		{"files=1", 1}, // one file encoded at a time: the per-core rate
		{"files=2", 2}, // the default on this 2-core machine
	} {
		b.Run(bc.name, func(b *testing.B) {
			batches, jsonBytes, rows := parsedBatches(b, 20000)
			defer func() {
				for _, bb := range batches {
					bb.rec.Release()
				}
			}()
			lake := &memLake{}
			log := slog.New(slog.DiscardHandler)
			ctx := context.Background()
			var mu sync.Mutex
			var acks int
			pend := writer.Pending{
				Ack:   func(context.Context) error { mu.Lock(); acks++; mu.Unlock(); return nil },
				Nak:   func() error { b.Error("batch nak'ed"); return nil },
				Touch: func() error { return nil },
			}
			b.SetBytes(jsonBytes)
			b.ReportAllocs()
			for b.Loop() {
				w := writer.New(writer.Config{Concurrency: bc.concurrency, Parquet: schema.ParquetConfig{ZstdLevel: *benchZstd}}, lake, nopLedger{}, log)
				for _, bb := range batches {
					bb.rec.Retain() // the writer releases what it is given
					if err := w.Add(ctx, bb.table, bb.partition, bb.id, bb.rec, pend); err != nil {
						b.Fatal(err)
					}
				}
				w.Flush(ctx)
				if w.Totals.Failures.Load() > 0 {
					b.Fatal("a file was not written")
				}
			}
			if acks != b.N*len(batches) {
				b.Fatalf("%d acks, want %d", acks, b.N*len(batches))
			}
			n := float64(b.N)
			b.ReportMetric(float64(rows)*n/b.Elapsed().Seconds(), "records/s")
			b.ReportMetric(100*float64(lake.bytes.Load())/n/float64(jsonBytes), "out-%json")
			b.ReportMetric(float64(lake.files.Load())/n, "files/op")
		})
	}
}
