package cli

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/entralake/entralake/schema"
	"github.com/entralake/entralake/stages/writer"
	"github.com/entralake/entralake/workers"
)

// handOver passes the batches of a fused process's parsers to its writer
// in memory (parser.Direct's Take), each with a message from
// workers.Fused that stands for it. The batches go through a short queue
// to a few goroutines that add them to the writer: a batch that fills a
// file makes Add encode it, and a parser that waited for that would leave
// a core idle while one big blob is parsed.
type handOver struct {
	fused  *workers.Fused
	writer *writer.Writer
	queue  chan handed
	// queued counts batches taken and not yet added: work upstream of
	// the writer, for run --once's idle check.
	queued atomic.Int64
	wg     sync.WaitGroup
}

type handed struct {
	ctx context.Context
	rec arrow.RecordBatch
	msg schema.Message
}

// newHandOver starts n goroutines that add batches to w; stop them with
// close once nothing calls take any more.
func newHandOver(f *workers.Fused, w *writer.Writer, n int) *handOver {
	h := &handOver{fused: f, writer: w, queue: make(chan handed, n)}
	for range n {
		h.wg.Go(func() {
			for b := range h.queue {
				if err := h.writer.AddMessage(b.ctx, b.rec, b.msg); err != nil {
					b.msg.Settle(b.ctx, err) // fails the task (nothing if Add settled it)
				}
				h.queued.Add(-1)
			}
		})
	}
	return h
}

// take implements parser.Direct's Take.
func (h *handOver) take(ctx context.Context, rec arrow.RecordBatch, m schema.Outgoing) error {
	msg, err := h.fused.Batch(m)
	if err != nil {
		return err
	}
	rec.Retain() // the writer takes ownership
	h.queued.Add(1)
	select {
	case h.queue <- handed{ctx: ctx, rec: rec, msg: msg}:
		return nil
	case <-ctx.Done():
		h.queued.Add(-1)
		rec.Release()
		msg.Settle(ctx, ctx.Err())
		return ctx.Err()
	}
}

// close waits until every batch taken is added to the writer.
func (h *handOver) close() {
	close(h.queue)
	h.wg.Wait()
}
