package parser

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/entralake/entralake/internal/arrowpool"
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
	return &streamTask{s: s, taskBatches: taskBatches{task: taskID}}
}

// streamTask is what a task published.
type streamTask struct {
	s *Stream
	taskBatches
}

// Send implements TaskOutput.
func (o *streamTask) Send(ctx context.Context, b Batch) error {
	return o.publish(ctx, b, b.Record, b.Key)
}

// publish sends one batch, split in halves until each part fits a message.
func (o *streamTask) publish(ctx context.Context, b Batch, rec arrow.RecordBatch, key string) error {
	buf := getIPCBuffer()
	defer putIPCBuffer(buf)
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
	m := o.message(b, rec, key)
	m.Subject, m.Data = o.s.Subject(b.Table), data
	if err := o.s.Publisher.Publish(ctx, m); err != nil {
		return fmt.Errorf("publish batch %s (%d bytes): %w", m.ID, len(data), err)
	}
	o.ids = append(o.ids, m.ID)
	return nil
}

// taskBatches numbers the batches of one task: their ids, and how many
// went to each table partition (schema.HeaderSeq).
type taskBatches struct {
	task string
	ids  []string
	seq  map[string]int
}

// message returns the message of the batch rec (b or part of it) with key
// key, without subject and body: its stable id (a hash of the task's id
// and the key) and its schema.Header* headers. It counts the batch in its
// partition's sequence.
func (o *taskBatches) message(b Batch, rec arrow.RecordBatch, key string) schema.Outgoing {
	sum := sha256.Sum256([]byte(o.task + "\x00" + key))
	batchID := hex.EncodeToString(sum[:16])
	dest := b.Table + "/" + b.Partition
	if o.seq == nil {
		o.seq = map[string]int{}
	}
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
	return schema.Outgoing{ID: batchID, Header: h}
}

// IDs implements TaskOutput.
func (o *taskBatches) IDs() []string { return o.ids }

// Direct is the Output of a process that parses and writes (the fused
// topology): each batch goes to Take in memory, with the id and headers
// Stream would publish it with, but neither encoded nor split, and
// without subject or body.
type Direct struct {
	// Take takes one batch. rec stays the caller's, released after Take
	// returns: Take retains it to keep it.
	Take func(ctx context.Context, rec arrow.RecordBatch, m schema.Outgoing) error
}

// Task implements Output.
func (d *Direct) Task(taskID string) TaskOutput {
	return &directTask{d: d, taskBatches: taskBatches{task: taskID}}
}

type directTask struct {
	d *Direct
	taskBatches
}

// Send implements TaskOutput.
func (o *directTask) Send(ctx context.Context, b Batch) error {
	m := o.message(b, b.Record, b.Key)
	if err := o.d.Take(ctx, b.Record, m); err != nil {
		return fmt.Errorf("batch %s: %w", m.ID, err)
	}
	o.ids = append(o.ids, m.ID)
	return nil
}

// ipcBuffers are reused between batches (a Publisher keeps no message's
// bytes once it returned), a few at a time: the encoders of a process's
// parsers. A channel rather than a sync.Pool, which every garbage
// collection empties: a buffer then grew again by doubling, copying and
// zeroing, for each batch (1 CPU-s per GB of JSON).
var ipcBuffers = make(chan *bytes.Buffer, 16)

// maxIPCBuffer is the largest buffer kept for reuse.
const maxIPCBuffer = 64 << 20

func getIPCBuffer() *bytes.Buffer {
	select {
	case b := <-ipcBuffers:
		return b
	default:
		return new(bytes.Buffer)
	}
}

func putIPCBuffer(b *bytes.Buffer) {
	if b.Cap() > maxIPCBuffer {
		return
	}
	select {
	case ipcBuffers <- b:
	default:
	}
}

// ipcMem allocates the IPC encoder's buffers (the LZ4-compressed copy of
// each Arrow buffer), which the encoder frees once written: a pool, so
// that they are not fresh heap memory for every batch.
var ipcMem = arrowpool.New(64 << 20)

// encodeIPC writes rec as an LZ4-compressed Arrow IPC stream into buf.
func encodeIPC(buf *bytes.Buffer, rec arrow.RecordBatch) error {
	buf.Reset()
	w := ipc.NewWriter(buf, ipc.WithSchema(rec.Schema()), ipc.WithLZ4(), ipc.WithAllocator(ipcMem))
	if err := w.Write(rec); err != nil {
		return fmt.Errorf("encode batch: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("encode batch: %w", err)
	}
	return nil
}
