package parser

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/entralake/entralake/schema"
)

// Publisher publishes a message and waits until the stream stored it
// (workers.Publisher); a message with the ID of one the stream stored
// within its duplicate window is dropped. It does not keep m.Data after
// it returns.
type Publisher interface {
	Publish(ctx context.Context, m schema.Outgoing) error
}

// Stream is the Output of the split topology: each batch is published to
// the writers' work stream as an LZ4-compressed Arrow IPC stream of one
// record batch, with the schema.Header* headers and a stable id (a hash
// of the task's id and the batch's key), split in halves until each part
// fits MaxPayload.
type Stream struct {
	// Publisher publishes the messages.
	Publisher Publisher
	// Subject returns the subject of a table's batches.
	Subject func(table string) string
	// MaxPayload is the largest message the server takes (default 1
	// MiB); bigger batches are split.
	MaxPayload int
}

// Task implements Output.
func (s *Stream) Task(taskID string) TaskOutput {
	return &streamTask{s: s, task: taskID, seq: map[string]int{}}
}

// streamTask is what a task published: its batch ids, and how many
// messages went to each table partition (schema.HeaderSeq).
type streamTask struct {
	s    *Stream
	task string
	ids  []string
	seq  map[string]int
}

// Send implements TaskOutput.
func (o *streamTask) Send(ctx context.Context, b Batch) error {
	return o.publish(ctx, b, b.Record, b.Key)
}

// IDs implements TaskOutput.
func (o *streamTask) IDs() []string { return o.ids }

// publish sends one batch, split in halves until each part fits a message.
func (o *streamTask) publish(ctx context.Context, b Batch, rec arrow.RecordBatch, key string) error {
	buf := ipcBuffers.Get().(*bytes.Buffer)
	defer ipcBuffers.Put(buf)
	if err := encodeIPC(buf, rec); err != nil {
		return err
	}
	data := buf.Bytes()
	maxPayload := o.s.MaxPayload
	if maxPayload <= 0 {
		maxPayload = 1 << 20
	}
	if len(data) > maxPayload-4096 && rec.NumRows() > 1 {
		half := rec.NumRows() / 2
		for i, part := range []arrow.RecordBatch{rec.NewSlice(0, half), rec.NewSlice(half, rec.NumRows())} {
			hb := b
			hb.Last = b.Last && i == 1 // the writer counts the task's share up to the last message
			err := o.publish(ctx, hb, part, key+"/"+strconv.Itoa(i))
			part.Release()
			if err != nil {
				return err
			}
		}
		return nil
	}
	sum := sha256.Sum256([]byte(o.task + "\x00" + key))
	batchID := hex.EncodeToString(sum[:16])
	dest := b.Table + "/" + b.Partition
	o.seq[dest]++
	h := map[string]string{
		schema.HeaderTable:     b.Table,
		schema.HeaderPartition: b.Partition,
		schema.HeaderBatch:     batchID,
		schema.HeaderTask:      o.task,
		schema.HeaderRows:      strconv.FormatInt(rec.NumRows(), 10),
		schema.HeaderSeq:       strconv.Itoa(o.seq[dest]),
	}
	if b.Last {
		h[schema.HeaderLast] = "1"
	}
	if err := o.s.Publisher.Publish(ctx, schema.Outgoing{Subject: o.s.Subject(b.Table), ID: batchID, Header: h, Data: data}); err != nil {
		return fmt.Errorf("publish batch %s (%d bytes): %w", batchID, len(data), err)
	}
	o.ids = append(o.ids, batchID)
	return nil
}

// ipcBuffers are reused between batches: a Publisher keeps no message's
// bytes once it returned.
var ipcBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// encodeIPC writes rec as an LZ4-compressed Arrow IPC stream into buf.
func encodeIPC(buf *bytes.Buffer, rec arrow.RecordBatch) error {
	buf.Reset()
	w := ipc.NewWriter(buf, ipc.WithSchema(rec.Schema()), ipc.WithLZ4())
	if err := w.Write(rec); err != nil {
		return fmt.Errorf("encode batch: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("encode batch: %w", err)
	}
	return nil
}
