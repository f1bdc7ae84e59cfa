package parser_test

import (
	"bytes"
	"context"
	"runtime"
	"testing"

	"github.com/entralake/entralake/internal/gen"
	"github.com/entralake/entralake/schema"
	"github.com/entralake/entralake/stages/parser"
	"github.com/entralake/entralake/stages/parser/parsertest"
)

// benchBlob is one generated blob held in memory.
type benchBlob struct {
	task schema.Task
	data []byte
}

// genBlobs generates records (one hour, so one blob per category) in
// memory.
func genBlobs(b *testing.B, records int64, categories ...string) (blobs []benchBlob, size int64) {
	b.Helper()
	g, err := gen.New(gen.Config{Seed: 1, Records: records, Hours: 1, Categories: categories})
	if err != nil {
		b.Fatal(err)
	}
	for _, bl := range g.Blobs() {
		var buf bytes.Buffer
		if _, err := g.WriteBlob(&buf, bl); err != nil {
			b.Fatal(err)
		}
		data := buf.Bytes()
		blobs = append(blobs, benchBlob{
			task: schema.Task{SourceID: "bench", Container: bl.Container, Blob: bl.Name, Size: int64(len(data)), End: int64(len(data)), Final: true},
			data: data,
		})
		size += int64(len(data))
	}
	return blobs, size
}

// BenchmarkParse measures Parser.Parse alone: blob bytes in memory to Arrow
// record batches (released at once), on one goroutine. MB/s counts input
// JSON bytes; allocs/record and B/record are heap allocations per record.
func BenchmarkParse(b *testing.B) {
	for _, bc := range []struct {
		name       string
		records    int64
		categories []string
	}{
		// Every category in the proportions of a typical tenant.
		{"mix", 20000, nil},
		// User sign-ins only: the biggest and most common records.
		{"signins", 10000, []string{"SignInLogs", "NonInteractiveUserSignInLogs"}},
		// One big blob (a large tenant's hour of one category): several
		// batches per task.
		{"bigblob", 40000, []string{"NonInteractiveUserSignInLogs"}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			blobs, size := genBlobs(b, bc.records, bc.categories...)
			p := parsertest.New(b, parser.Config{})
			ctx := context.Background()
			var records, quarantined int64
			emit := func(pb parser.Batch) error {
				pb.Record.Release()
				return nil
			}
			b.SetBytes(size)
			b.ReportAllocs()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			for b.Loop() {
				for _, bl := range blobs {
					st, err := p.Parse(ctx, bl.task, 0, bytes.NewReader(bl.data), emit)
					if err != nil {
						b.Fatal(err)
					}
					records += st.Records
					quarantined += st.Quarantined
				}
			}
			runtime.ReadMemStats(&after)
			if quarantined > 0 {
				b.Fatalf("%d of %d records quarantined", quarantined, records)
			}
			b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "records/s")
			b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(records), "allocs/record")
			b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(records), "B/record")
		})
	}
}

// nopPublisher drops what it is given.
type nopPublisher struct{}

func (nopPublisher) Publish(context.Context, schema.Outgoing) error { return nil }

// BenchmarkStream measures what Stream costs a parser in the split
// topology: the LZ4 Arrow IPC encoding of the batches of the category mix
// (parsed beforehand), published to a publisher that drops them. B/record
// is the heap it allocates per record.
func BenchmarkStream(b *testing.B) {
	blobs, size := genBlobs(b, 20000)
	p := parsertest.New(b, parser.Config{})
	ctx := context.Background()
	var batches []parser.Batch
	var records int64
	for _, bl := range blobs {
		st, err := p.Parse(ctx, bl.task, 0, bytes.NewReader(bl.data), func(pb parser.Batch) error {
			batches = append(batches, pb)
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		records += st.Records
	}
	defer func() {
		for _, pb := range batches {
			pb.Record.Release()
		}
	}()
	out := &parser.Stream{Publisher: nopPublisher{}, Subject: func(table string) string { return table }, MaxPayload: 8 << 20}
	b.SetBytes(size)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for b.Loop() {
		task := out.Task("task")
		for _, pb := range batches {
			if err := task.Send(ctx, pb); err != nil {
				b.Fatal(err)
			}
		}
	}
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(records)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(records)/float64(b.N), "B/record")
	b.ReportMetric(float64(after.NumGC-before.NumGC)/float64(b.N), "GCs/op")
}
