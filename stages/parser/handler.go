package parser

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"sync"
	"sync/atomic"

	"github.com/entralake/entralake/schema"
)

// BlobReader streams a byte range of a blob.
type BlobReader interface {
	// ReadRange returns the bytes [off, off+n) of the blob; n < 0 reads to
	// the end.
	ReadRange(ctx context.Context, container, blob string, off, n int64) (io.ReadCloser, error)
}

// Output takes the batches of the tasks a Handler parses. Stream
// publishes them to the batch stream, for writers in other processes; a
// process that parses and writes may hand them to its writer in memory
// instead.
type Output interface {
	// Task returns the output of one task's batches.
	Task(taskID string) TaskOutput
}

// TaskOutput takes the batches of one task, in order.
type TaskOutput interface {
	// Send takes one batch. b.Record stays the caller's, released after
	// Send returns: Send retains it to keep it.
	Send(ctx context.Context, b Batch) error
	// IDs returns the ids under which the batches sent so far went, in
	// order: the finished task's record (schema.TaskDone.Batches), by
	// which the task's offset advances once all of them are in the
	// lake. The same task parsed again sends the same ids.
	IDs() []string
}

// TaskRecorder records a finished task (workers.Tasks), so the blob's
// offset can advance once the task's batches are in the lake.
type TaskRecorder interface {
	Done(ctx context.Context, taskID string, d schema.TaskDone) error
}

// HandlerConfig configures a Handler.
type HandlerConfig struct {
	// Tasks, when set, records every finished task.
	Tasks  TaskRecorder
	Parser Config
}

// Totals are running counts over all tasks a Handler finished.
type Totals struct {
	Tasks, Records, Rows, Quarantined, Mismatches, Bytes, Batches atomic.Int64
}

// Handler parses one task per message and sends its batches to an Output;
// the task is acked (by the caller) only after every batch is taken (with
// Stream: stored by the batch stream).
type Handler struct {
	cfg      HandlerConfig
	reader   BlobReader
	out      Output
	log      *slog.Logger
	mu       sync.Mutex
	free     []*Parser
	byReason map[ReasonKind]int64
	running  atomic.Int64 // tasks in Run
	// Totals counts finished tasks.
	Totals Totals
}

// NewHandler returns a Handler that reads tasks' bytes from r and sends
// their batches to out.
func NewHandler(cfg HandlerConfig, r BlobReader, out Output, log *slog.Logger) (*Handler, error) {
	if _, err := New(cfg.Parser); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	return &Handler{cfg: cfg, reader: r, out: out, log: log}, nil
}

// QuarantinedByReason returns the quarantined records of finished tasks by
// kind of reason.
func (h *Handler) QuarantinedByReason() map[ReasonKind]int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return maps.Clone(h.byReason)
}

// permanentError marks a task that can never succeed.
type permanentError struct{ err error }

func (e *permanentError) Error() string   { return e.err.Error() }
func (e *permanentError) Unwrap() error   { return e.err }
func (e *permanentError) Permanent() bool { return true }

// Handle parses the task in msg.
func (h *Handler) Handle(ctx context.Context, msg schema.Message) error {
	var t schema.Task
	if err := json.Unmarshal(msg.Data(), &t); err != nil {
		return &permanentError{fmt.Errorf("decode task: %w", err)}
	}
	st, err := h.Run(ctx, t)
	if err != nil {
		return err
	}
	h.Totals.Tasks.Add(1)
	h.Totals.Records.Add(st.Records)
	h.Totals.Rows.Add(st.Rows)
	h.Totals.Quarantined.Add(st.Quarantined)
	h.Totals.Mismatches.Add(st.Mismatches)
	h.Totals.Bytes.Add(st.Bytes)
	if len(st.ByReason) > 0 {
		h.mu.Lock()
		if h.byReason == nil {
			h.byReason = map[ReasonKind]int64{}
		}
		for k, n := range st.ByReason {
			h.byReason[k] += n
		}
		h.mu.Unlock()
	}
	h.log.LogAttrs(ctx, slog.LevelDebug, "task parsed", slog.String("blob", t.Path()), slog.Int64("start", t.Start), slog.Int64("end", t.End),
		slog.Int64("records", st.Records), slog.Int64("quarantined", st.Quarantined))
	return nil
}

// Busy reports whether a task is being parsed.
func (h *Handler) Busy() bool { return h.running.Load() > 0 }

// Run parses task t and sends its batches to the Handler's Output.
func (h *Handler) Run(ctx context.Context, t schema.Task) (Stats, error) {
	h.running.Add(1)
	defer h.running.Add(-1)
	p, err := h.parser()
	if err != nil {
		return Stats{}, err
	}
	defer h.put(p)
	if t.End <= t.Start && !t.Final {
		return Stats{Consumed: t.Start}, nil // nothing new; the offset does not move
	}
	var base int64
	end := t.End
	if t.SplitStart {
		base, err = h.recordBoundary(ctx, t, t.Start)
	} else {
		base, err = h.lineStart(ctx, t, t.Start)
	}
	if err != nil {
		return Stats{}, err
	}
	pt := t // the task as the parser frames it
	if t.SplitEnd {
		if end, err = h.recordBoundary(ctx, t, t.End); err != nil {
			return Stats{}, err
		}
		// The bytes up to a boundary are all there; at the blob's listed
		// size, the blob may still grow.
		pt.End, pt.Final = end, t.Final || end < t.Size
	}
	if end <= base {
		// A split task without a boundary of its own: the task before it
		// reads its bytes.
		return Stats{Consumed: end}, h.done(ctx, t, base, end, nil)
	}
	rc, err := h.reader.ReadRange(ctx, t.Container, t.Blob, base, end-base)
	if err != nil {
		return Stats{}, fmt.Errorf("read %s: %w", t.Path(), err)
	}
	defer rc.Close()
	out := h.out.Task(t.ID())
	st, err := p.Parse(ctx, pt, base, rc, func(b Batch) error {
		defer b.Record.Release()
		if end < t.Size {
			b.Last = false // a later task adds to the same partitions
		}
		before := len(out.IDs())
		err := out.Send(ctx, b)
		h.Totals.Batches.Add(int64(len(out.IDs()) - before))
		return err
	})
	if err != nil {
		return st, err
	}
	return st, h.done(ctx, t, base, st.Consumed, out.IDs())
}

// done records that task t turned bytes [base, consumed) into batches.
func (h *Handler) done(ctx context.Context, t schema.Task, base, consumed int64, batches []string) error {
	if h.cfg.Tasks == nil {
		return nil
	}
	d := schema.TaskDone{Container: t.Container, Blob: t.Blob, Start: base, Consumed: consumed, End: t.End, Batches: batches}
	if err := h.cfg.Tasks.Done(ctx, t.ID(), d); err != nil {
		return fmt.Errorf("record finished task: %w", err)
	}
	return nil
}

// recordBoundary moves the split point s of t to the first record
// boundary b >= s before t.Size (see schema.Task.SplitStart): the start of
// a line whose first non-blank byte is '{' or '[', where the last
// non-blank byte before it, within the maximum record size, is '}' or
// ']'. Valid JSON text can only have that between two top-level values,
// and no string holds a newline. Whether b is a boundary depends on the
// bytes alone, not on s, so the cuts of a blob keep their order. Without
// a boundary up to t.Size, the cut moves to t.Size (or, while the blob may
// grow, to the start of its last line); without one within the maximum
// record size, back to the start of the line holding s.
func (h *Handler) recordBoundary(ctx context.Context, t schema.Task, s int64) (int64, error) {
	const step = 64 << 10
	w := h.maxRecordSize()
	limit := min(t.Size, s+w) // candidates are below it
	lastPos, last, lineStart, err := h.lastNonBlank(ctx, t, s, w)
	if err != nil {
		return 0, err
	}
	cand, candLast, candLastPos := int64(-1), byte(0), int64(-1)
	if lineStart {
		cand, candLast, candLastPos = s, last, lastPos
	}
	pos := s
scan:
	for pos < t.Size && (pos < limit || cand >= 0) {
		buf, err := h.readAt(ctx, t, pos, min(int64(step), t.Size-pos))
		if err != nil {
			return 0, err
		}
		if len(buf) == 0 {
			break
		}
		for i, c := range buf {
			at := pos + int64(i)
			switch c {
			case '\n':
				cand, candLast, candLastPos = -1, 0, -1
				if at+1 < limit {
					cand, candLast, candLastPos = at+1, last, lastPos
				}
			case ' ', '\t', '\r':
			default:
				if cand >= 0 && (c == '{' || c == '[') && (candLast == '}' || candLast == ']') && cand-candLastPos <= w {
					return cand, nil
				}
				cand = -1
				last, lastPos = c, at
			}
			if cand < 0 && at+1 >= limit {
				break scan
			}
		}
		pos += int64(len(buf))
	}
	if limit >= t.Size {
		// No boundary after s: the task before reads to the end, or, while
		// the blob may grow, up to its last line, unfinished or not.
		if t.Final {
			return t.Size, nil
		}
		return h.lineStart(ctx, t, t.Size)
	}
	return h.lineStart(ctx, t, s)
}

// lastNonBlank finds the last byte other than space, tab, CR or LF before
// position s of t's blob, looking back at most w bytes (-1, 0 if none). It
// also reports whether s starts a line (s is 0 or follows a newline).
func (h *Handler) lastNonBlank(ctx context.Context, t schema.Task, s, w int64) (pos int64, last byte, lineStart bool, err error) {
	const step = 4 << 10
	lineStart = s == 0
	for at := s; at > 0 && s-at < w; {
		n := min(int64(step), at, w-(s-at))
		buf, err := h.readAt(ctx, t, at-n, n)
		if err != nil {
			return 0, 0, false, err
		}
		if at == s && len(buf) > 0 {
			lineStart = buf[len(buf)-1] == '\n'
		}
		for i := len(buf) - 1; i >= 0; i-- {
			switch buf[i] {
			case ' ', '\t', '\r', '\n':
			default:
				return at - n + int64(i), buf[i], lineStart, nil
			}
		}
		at -= n
	}
	return -1, 0, lineStart, nil
}

// readAt reads the n bytes at off of t's blob.
func (h *Handler) readAt(ctx context.Context, t schema.Task, off, n int64) ([]byte, error) {
	rc, err := h.reader.ReadRange(ctx, t.Container, t.Blob, off, n)
	if err != nil {
		return nil, fmt.Errorf("read %s at byte %d: %w", t.Path(), off, err)
	}
	defer rc.Close()
	buf, err := io.ReadAll(rc)
	if err != nil {
		return nil, fmt.Errorf("read %s at byte %d: %w", t.Path(), off, err)
	}
	return buf, nil
}

func (h *Handler) maxRecordSize() int64 {
	if n := int64(h.cfg.Parser.MaxRecordSize); n > 0 {
		return n
	}
	return DefaultMaxRecordSize
}

// lineStart finds where the line holding byte start of t's blob begins:
// a line left unfinished by the previous range is read again, whole.
func (h *Handler) lineStart(ctx context.Context, t schema.Task, start int64) (int64, error) {
	if start == 0 {
		return 0, nil
	}
	const step = 64 << 10
	limit := h.maxRecordSize()
	pos := start
	for pos > 0 && start-pos <= limit {
		n := min(int64(step), pos)
		buf, err := h.readAt(ctx, t, pos-n, n)
		if err != nil {
			return 0, err
		}
		if i := bytes.LastIndexByte(buf, '\n'); i >= 0 {
			return pos - n + int64(i) + 1, nil
		}
		pos -= n
	}
	if pos == 0 {
		return 0, nil
	}
	return start, nil // a line longer than the limit: start where we are
}

func (h *Handler) parser() (*Parser, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if n := len(h.free); n > 0 {
		p := h.free[n-1]
		h.free = h.free[:n-1]
		return p, nil
	}
	return New(h.cfg.Parser)
}

func (h *Handler) put(p *Parser) {
	h.mu.Lock()
	h.free = append(h.free, p)
	h.mu.Unlock()
}
