package writer

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/entralake/entralake/lake"
	"github.com/entralake/entralake/schema"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// Lake stores the files of the lake (lake/dir, lake/objstore).
type Lake interface {
	// Create starts a file at rel (a slash-separated path inside the
	// lake); it becomes visible only when committed.
	Create(ctx context.Context, rel string) (lake.File, error)
	// Exists reports whether a committed file is at rel.
	Exists(ctx context.Context, rel string) (bool, error)
}

// Ledger remembers which lake file holds each batch, so that a batch
// delivered again after a crash is not written a second time.
type Ledger interface {
	Lookup(ctx context.Context, batchID string) (file string, found bool, err error)
	Record(ctx context.Context, file string, batchIDs []string) error
}

// doneMarker is implemented by ledgers that also record that a batch's file
// is in place (workers.Ledger), so the lister can advance blob offsets.
type doneMarker interface {
	Done(ctx context.Context, batchIDs []string) error
}

func (w *Writer) markDone(ctx context.Context, ids []string) {
	if d, ok := w.ledger.(doneMarker); ok {
		if err := d.Done(ctx, ids); err != nil {
			w.log.LogAttrs(ctx, slog.LevelWarn, "could not mark batches as in the lake; their blob offsets advance when they are seen again",
				slog.Int("batches", len(ids)), slog.Any("err", err))
		}
	}
}

// Defaults of Config.
const (
	DefaultRollBytes = 96 << 20
	DefaultRollRows  = 1_000_000
	DefaultMaxAge    = time.Minute
	// DefaultTouchEvery suits the default ack wait of 10s.
	DefaultTouchEvery = 2 * time.Second
)

// TaskEndGrace is how long FlushAtTaskEnd waits after a task's last batch
// when it cannot tell that the task's share is complete (no Seq, or some
// of its batches were found already in the lake). Batches are decoded
// concurrently, and a task's big batch sent before its small last one
// often reaches the buffer after it; closing at once gave it a file of
// its own.
const TaskEndGrace = 50 * time.Millisecond

// Config configures a Writer. Zero values take the defaults.
type Config struct {
	// RollBytes and RollRows close a partition's file when its buffered
	// Arrow data reaches either.
	RollBytes int64
	RollRows  int64
	// MaxBuffered bounds the memory of the batches buffered over all
	// partitions (recordSize): past it, the largest partition's file is
	// closed early (default 192 MiB).
	MaxBuffered int64
	// MaxAge closes a partition's file this long after its first batch.
	MaxAge time.Duration
	// IdleFlush, when positive, closes every file once no batch has arrived
	// for this long, none is being decoded or added, and Busy (when set)
	// reports no work upstream (used by `run --once`).
	IdleFlush time.Duration
	// Busy reports work upstream that may still send batches (in `run
	// --once`: a parser holds a task, or tasks or batches wait in their
	// queues). It is called without the Writer's lock and may be slow. Without it, a slow parser or a
	// writer waiting for its own encoders would look idle and get its
	// partitions closed into small files.
	Busy func() bool
	// FlushAtTaskEnd closes a partition's file soon after a batch marked
	// as its task's last arrives (TaskEndGrace later, at a Tick), so that
	// encoding overlaps parsing (used by `run --once`, where no more
	// appends are coming).
	FlushAtTaskEnd bool
	// TouchEvery is how often Run sends in-progress acks for every message
	// the writer holds, buffered or in a file being written (default 2s):
	// keep it a fraction of the consumer's ack wait
	// (workers.InProgressEvery).
	TouchEvery time.Duration
	// Concurrency bounds the files encoded at once (default: CPUs).
	Concurrency int
	// Parquet holds the zstd level, row group size and encodings.
	Parquet schema.ParquetConfig
	Mem     memory.Allocator
	// Hook, when set, is called at each Step of writing a file, with the
	// file's lake path; the writer waits for it to return. Tests use it
	// to freeze a writer where a crash would leave it.
	Hook func(step Step, file string)
	// Tables, when set, puts the writer in table mode: a batch of table
	// name goes to Tables[name] (an Iceberg table), grouped by that
	// table's partitions, and its files are committed to it (see Table).
	// Nil: files mode, where a file is in the table once it is in place.
	Tables map[string]Table
}

// Step names a point of writing a lake file, for Config.Hook.
type Step string

// The steps, in order.
const (
	// StepRecorded: the file is written under its temporary name and its
	// batches are in the ledger; it is not committed (not visible) yet.
	StepRecorded Step = "recorded"
	// StepCommitted: the file is in place, whole; its batches are not
	// acked yet.
	StepCommitted Step = "committed"
)

// Pending is a message whose batch is buffered: it is acked once the file
// holding it is in the lake, failed (Fail) if writing fails, and given back
// (Nak) if the writer closes before its file is begun.
type Pending struct {
	// Ctx carries the batch's trace: the file's commit is recorded in it.
	Ctx context.Context
	// Last says the batch is its task's last for the partition.
	Last bool
	// Task and Seq place the batch among the messages its task sent to
	// the partition (schema.HeaderSeq): with Last, Seq of them make the
	// task's whole share. Seq 0: unknown.
	Task string
	Seq  int
	Ack  func(ctx context.Context) error
	// Nak gives the message back for delivery at once, not as a failure.
	Nak func() error
	// Fail settles the message as failed with err: retried with growing
	// delays, dead-lettered after the last try (the worker pool's
	// accounting, schema.Message.Settle). Nil: Nak.
	Fail  func(ctx context.Context, err error)
	Touch func() error
}

// fail settles p as failed with err.
func (p Pending) fail(ctx context.Context, err error) {
	if p.Fail != nil {
		p.Fail(ctx, err)
		return
	}
	_ = p.Nak()
}

// Totals count the writer's work.
type Totals struct {
	Files, Bytes, Rows, Batches, Duplicates, Failures atomic.Int64
	// Released counts batches given back unwritten because the writer
	// closed (Close, or an Add after it).
	Released atomic.Int64
}

// Writer buffers batches by table partition and writes them as zstd Parquet
// files. It is safe for concurrent use.
type Writer struct {
	cfg    Config
	lake   Lake
	ledger Ledger
	log    *slog.Logger
	sem    chan struct{}

	mu       sync.Mutex
	parts    map[string]*part
	writing  map[*part]struct{} // detached, their file not yet written: still held
	inflight map[string]bool
	buffered int64 // Arrow bytes over all parts
	newest   map[string]time.Time
	lastAdd  time.Time
	handling atomic.Int64 // Handle (decoding, then Add) and Add calls in progress
	// flushing counts detached partitions whose file is not done; Add(1)
	// happens under mu (detach), so that Close, which sets closed under
	// mu, can Wait without racing a new flush.
	flushing sync.WaitGroup
	closed   bool

	// Totals count what was written.
	Totals Totals
}

type part struct {
	table, partition string
	recs             []arrow.RecordBatch
	ids              []string
	pending          []Pending
	bytes, rows      int64
	first            time.Time
	ended            time.Time // when a task's last batch came, its share incomplete
	tasks            map[string]*taskShare
}

// taskShare counts one task's batches in a partition's buffer.
type taskShare struct {
	got, want int // want: the Seq of its last batch, 0 until that came
}

// share counts p's batch in its task's share of pt. It reports whether the
// task's last batch for the partition came (ended) and whether all the
// task's batches for it are buffered (done). Without a Seq, a last batch
// ends the task but its share cannot be known whole.
func (pt *part) share(p Pending) (ended, done bool) {
	if p.Task == "" || p.Seq <= 0 {
		return p.Last, false
	}
	if pt.tasks == nil {
		pt.tasks = map[string]*taskShare{}
	}
	ts := pt.tasks[p.Task]
	if ts == nil {
		ts = &taskShare{}
		pt.tasks[p.Task] = ts
	}
	ts.got++
	if p.Last {
		ts.want = max(ts.want, p.Seq)
	}
	return ts.want > 0, ts.want > 0 && ts.got >= ts.want
}

// New returns a Writer.
func New(cfg Config, l Lake, ledger Ledger, log *slog.Logger) *Writer {
	if cfg.RollBytes <= 0 {
		cfg.RollBytes = DefaultRollBytes
	}
	if cfg.RollRows <= 0 {
		cfg.RollRows = DefaultRollRows
	}
	if cfg.MaxBuffered <= 0 {
		cfg.MaxBuffered = 192 << 20
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = DefaultMaxAge
	}
	if cfg.TouchEvery <= 0 {
		cfg.TouchEvery = DefaultTouchEvery
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = runtime.GOMAXPROCS(0)
	}
	if cfg.Mem == nil {
		cfg.Mem = memory.DefaultAllocator
	}
	if log == nil {
		log = slog.Default()
	}
	return &Writer{cfg: cfg, lake: l, ledger: ledger, log: log, sem: make(chan struct{}, cfg.Concurrency),
		parts: map[string]*part{}, writing: map[*part]struct{}{}, inflight: map[string]bool{}}
}

// Add buffers rec (the writer takes ownership) for table/partition. The
// batch is acknowledged through p once its file is in the lake; a batch
// whose file is already there is acknowledged at once.
func (w *Writer) Add(ctx context.Context, table, partition, batchID string, rec arrow.RecordBatch, p Pending) error {
	w.handling.Add(1) // not idle while a batch is being added (and its file written)
	defer w.handling.Add(-1)
	if err := checkLocation(table, partition); err != nil {
		rec.Release()
		return err
	}
	file, found, err := w.ledger.Lookup(ctx, batchID)
	if err != nil {
		rec.Release()
		return fmt.Errorf("look up batch %s: %w", batchID, err)
	}
	if w.cfg.Tables != nil {
		// Table mode: the table says what it holds, and its partitions
		// group the rows.
		t, err := w.table(table)
		if err == nil {
			partition, err = t.Partition(rec)
			if err != nil {
				err = &permanentError{fmt.Errorf("batch %s: %w", batchID, err)}
			}
		}
		if err != nil {
			rec.Release()
			return err
		}
		if ok, err := w.inTable(ctx, t, batchID, found, p); ok || err != nil {
			rec.Release()
			return err
		}
	} else if found {
		ok, err := w.lake.Exists(ctx, file)
		if err != nil {
			rec.Release()
			return fmt.Errorf("check %s: %w", file, err)
		}
		if ok {
			rec.Release()
			w.Totals.Duplicates.Add(1)
			w.log.LogAttrs(ctx, slog.LevelDebug, "batch already in the lake", slog.String("batch", batchID), slog.String("file", file))
			w.markDone(ctx, []string{batchID})
			return p.Ack(ctx)
		}
	}
	key := table + "/" + partition
	w.mu.Lock()
	if w.closed {
		// Closing or closed: nothing added now would be written.
		w.mu.Unlock()
		rec.Release()
		w.Totals.Released.Add(1)
		return p.Nak()
	}
	if w.inflight[batchID] {
		// Delivered again while the first delivery is still buffered: the
		// first one's ack settles both.
		w.mu.Unlock()
		rec.Release()
		w.Totals.Duplicates.Add(1)
		w.log.LogAttrs(ctx, slog.LevelDebug, "batch delivered again while buffered", slog.String("batch", batchID))
		return nil
	}
	w.inflight[batchID] = true
	pt := w.parts[key]
	now := time.Now()
	if pt == nil {
		pt = &part{table: table, partition: partition, first: now}
		w.parts[key] = pt
	}
	pt.recs = append(pt.recs, rec)
	pt.ids = append(pt.ids, batchID)
	pt.pending = append(pt.pending, p)
	size := recordSize(rec)
	pt.rows += rec.NumRows()
	pt.bytes += size
	w.buffered += size
	w.lastAdd = now
	// With FlushAtTaskEnd, the file closes once the task's whole share is
	// here: batches are decoded concurrently, so its last may come first.
	var taskEnded, taskDone bool
	if w.cfg.FlushAtTaskEnd {
		taskEnded, taskDone = pt.share(p)
	}
	var full *part
	switch {
	case pt.rows >= w.cfg.RollRows || pt.bytes >= w.cfg.RollBytes, taskDone:
		full = pt
	case w.buffered > w.cfg.MaxBuffered:
		for _, p := range w.parts {
			if full == nil || p.bytes > full.bytes {
				full = p
			}
		}
	}
	if full != nil {
		w.detach(full)
	}
	if full != pt && taskEnded {
		// Its share may never be whole here (a roll closed part of it, or
		// some batches were in the lake already): Tick closes it later.
		pt.ended = now
	}
	w.mu.Unlock()
	if full != nil {
		w.flushAll(ctx, []*part{full})
	}
	return nil
}

// Tick closes the files that are due (by age, or all when idle). Call it
// every few hundred ms.
func (w *Writer) Tick(ctx context.Context) {
	now := time.Now()
	var due []*part
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return
	}
	quiet := func() bool {
		return w.cfg.IdleFlush > 0 && now.Sub(w.lastAdd) >= w.cfg.IdleFlush && w.handling.Load() == 0 && len(w.parts) > 0
	}
	idle := quiet()
	if idle && w.cfg.Busy != nil {
		// Busy may ask the server: not under the lock. A batch added
		// meanwhile moves lastAdd, and quiet says no.
		w.mu.Unlock()
		busy := w.cfg.Busy()
		w.mu.Lock()
		if w.closed {
			w.mu.Unlock()
			return
		}
		idle = !busy && quiet()
	}
	for _, pt := range w.parts {
		if idle || now.Sub(pt.first) >= w.cfg.MaxAge || !pt.ended.IsZero() && now.Sub(pt.ended) >= TaskEndGrace {
			due = append(due, pt)
			w.detach(pt)
		}
	}
	w.mu.Unlock()
	w.flushAll(context.WithoutCancel(ctx), due) // due files are written even if ctx ends
}

// Flush writes every buffered partition now, and waits for every file
// being written. Partitions whose file has not begun when ctx ends are
// given back.
func (w *Writer) Flush(ctx context.Context) {
	w.flushAll(ctx, w.detachAll(false))
	w.flushing.Wait()
}

// Close stops the writer taking batches (an Add from now on gives its
// message back, Nak) and writes every buffered partition, touching the
// messages it holds meanwhile. A partition whose file has not begun when
// ctx ends is not written: its messages are given back for another writer
// (or the next run) to take at once. Close waits for files being written
// and returns the number of batches given back. Stop whatever calls Add
// (the worker pool), and Run, before Close, or the batches it still
// brings are given back too.
func (w *Writer) Close(ctx context.Context) int64 {
	before := w.Totals.Released.Load()
	stop := w.touching()
	defer stop()
	w.flushAll(ctx, w.detachAll(true))
	w.flushing.Wait()
	return w.Totals.Released.Load() - before
}

// detachAll takes every partition out of the buffer; with close, the
// writer takes no more batches.
func (w *Writer) detachAll(close bool) []*part {
	w.mu.Lock()
	defer w.mu.Unlock()
	if close {
		w.closed = true
	}
	var due []*part
	for _, pt := range w.parts {
		due = append(due, pt)
		w.detach(pt)
	}
	return due
}

// Buffered returns the number of batches waiting for their file.
func (w *Writer) Buffered() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.inflight)
}

// Run calls Tick every interval until ctx ends. Until it returns, it also
// touches what the writer holds every TouchEvery, on its own: a Tick busy
// writing files does not hold the touches back. It does not flush: call
// Close once the worker pool that calls Add stopped.
func (w *Writer) Run(ctx context.Context, every time.Duration) {
	defer w.touching()()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			w.Tick(ctx)
		}
	}
}

// touching touches what the writer holds every TouchEvery until the
// returned function is called.
func (w *Writer) touching() (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(w.cfg.TouchEvery)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				w.Touch()
			}
		}
	})
	return func() { close(done); wg.Wait() }
}

// Touch sends an in-progress ack for every message the writer holds:
// buffered, or in a file being written. It keeps them from being delivered
// to another writer while this one lives.
func (w *Writer) Touch() {
	var touch []func() error
	w.mu.Lock()
	add := func(pt *part) {
		for _, p := range pt.pending {
			if p.Touch != nil {
				touch = append(touch, p.Touch)
			}
		}
	}
	for _, pt := range w.parts {
		add(pt)
	}
	for pt := range w.writing {
		add(pt)
	}
	w.mu.Unlock()
	for _, f := range touch {
		_ = f()
	}
}

// noteNewest records the newest event time written per category.
func (w *Writer) noteNewest(pt *part) {
	cat, ok := strings.CutPrefix(strings.SplitN(pt.partition, "/", 2)[0], "category=")
	if !ok {
		return
	}
	var newest int64
	found := false
	for _, r := range pt.recs {
		idx := r.Schema().FieldIndices(schema.ColEventTime)
		if len(idx) == 0 {
			return
		}
		col, ok := r.Column(idx[0]).(*array.Timestamp)
		if !ok {
			return
		}
		for i := 0; i < col.Len(); i++ {
			if col.IsValid(i) && (!found || int64(col.Value(i)) > newest) {
				newest, found = int64(col.Value(i)), true
			}
		}
	}
	if !found {
		return
	}
	t := time.UnixMicro(newest).UTC()
	w.mu.Lock()
	if w.newest == nil {
		w.newest = map[string]time.Time{}
	}
	if t.After(w.newest[cat]) {
		w.newest[cat] = t
	}
	w.mu.Unlock()
}

// Newest returns, per category, the newest event time this writer has put
// in the lake.
func (w *Writer) Newest() map[string]time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return maps.Clone(w.newest)
}

// detach takes pt out of the buffer (w.mu held) for flush; its bytes stop
// counting against MaxBuffered, and its messages stop being touched, once
// its file is written.
func (w *Writer) detach(pt *part) {
	delete(w.parts, pt.table+"/"+pt.partition)
	w.writing[pt] = struct{}{}
	w.flushing.Add(1)
}

func (w *Writer) flushAll(ctx context.Context, parts []*part) {
	if w.cfg.Tables != nil {
		w.flushTables(ctx, parts)
		return
	}
	if len(parts) == 1 {
		w.flush(ctx, parts[0])
		return
	}
	var wg sync.WaitGroup
	for _, pt := range parts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.flush(ctx, pt)
		}()
	}
	wg.Wait()
}

// flush writes one detached partition's batches as one file, then acks
// them; on failure it fails them (retried, then dead-lettered). When ctx
// ends before the file is begun, it gives them back unwritten.
func (w *Writer) flush(ctx context.Context, pt *part) {
	defer w.finish(pt)
	if !w.acquire(ctx) {
		w.release(pt)
		return
	}
	defer func() { <-w.sem }()
	ctx = context.WithoutCancel(ctx) // finish a file once begun
	rel := pt.table + "/" + pt.partition + "/" + lake.FileName(pt.ids)
	n, err := w.write(ctx, rel, pt, nil)
	// Settled below: touches now would only delay a nak'ed redelivery.
	w.mu.Lock()
	delete(w.writing, pt)
	w.mu.Unlock()
	if err != nil {
		w.Totals.Failures.Add(1)
		w.log.LogAttrs(ctx, slog.LevelError, "lake file not written; its batches will be delivered again",
			slog.String("file", rel), slog.Int("batches", len(pt.ids)), slog.Any("err", err))
		err = fmt.Errorf("write lake file %s: %w", rel, err)
		for _, p := range pt.pending {
			p.fail(ctx, err)
		}
		return
	}
	w.Totals.Files.Add(1)
	w.Totals.Bytes.Add(n)
	w.Totals.Rows.Add(pt.rows)
	w.Totals.Batches.Add(int64(len(pt.ids)))
	w.noteNewest(pt)
	w.markDone(ctx, pt.ids)
	w.traceCommit(rel, pt)
	w.log.LogAttrs(ctx, slog.LevelDebug, "lake file written", slog.String("file", rel), slog.Int64("rows", pt.rows), slog.Int64("bytes", n))
	for _, p := range pt.pending {
		if err := p.Ack(ctx); err != nil {
			// The file is in place and in the ledger: the redelivered
			// batch will be recognised and only acked.
			w.log.LogAttrs(ctx, slog.LevelWarn, "ack after write failed", slog.String("file", rel), slog.Any("err", err))
		}
	}
}

// traceCommit records the commit of rel in the traces of pt's batches.
func (w *Writer) traceCommit(rel string, pt *part) {
	for _, p := range pt.pending {
		if p.Ctx != nil {
			_, span := otel.Tracer("github.com/entralake/entralake/stages/writer").Start(p.Ctx, "writer commit",
				trace.WithAttributes(attribute.String("file", rel), attribute.Int64("rows", pt.rows)))
			span.End()
		}
	}
}

// release gives pt's messages back unwritten.
func (w *Writer) release(pt *part) {
	w.mu.Lock()
	delete(w.writing, pt)
	w.mu.Unlock()
	for _, p := range pt.pending {
		_ = p.Nak()
	}
	w.Totals.Released.Add(int64(len(pt.pending)))
}

// write encodes the partition's batches into a file: create, encode,
// record in the ledger, commit. The ledger entry comes before the commit,
// so a crash in between leaves an entry whose file does not exist, which
// Add treats as not written. sc, when set, is the schema the file is
// written with (a table's: the batches' columns with its field ids).
func (w *Writer) write(ctx context.Context, rel string, pt *part, sc *arrow.Schema) (int64, error) {
	f, err := w.lake.Create(ctx, rel)
	if err != nil {
		return 0, err
	}
	// Small writes of the encoder go through a buffer: one system call per
	// MiB. Buffers are pooled: a replay writes thousands of files.
	bw := fileBuffers.Get().(*bufio.Writer)
	bw.Reset(f)
	defer func() { bw.Reset(nil); fileBuffers.Put(bw) }()
	cw := &countingWriter{w: bw}
	if sc == nil {
		sc = pt.recs[0].Schema()
	}
	props := schema.ParquetProperties(w.cfg.Mem, sc, w.cfg.Parquet, schema.NullLeaves(pt.recs)...)
	fw, err := pqarrow.NewFileWriter(sc, cw, props, pqarrow.NewArrowWriterProperties(pqarrow.WithAllocator(w.cfg.Mem)))
	if err != nil {
		f.Abort()
		return 0, fmt.Errorf("start parquet file: %w", err)
	}
	for _, r := range pt.recs {
		r = withSchema(sc, r)
		err := fw.WriteBuffered(r)
		r.Release()
		if err != nil {
			f.Abort()
			return 0, fmt.Errorf("encode parquet: %w", err)
		}
	}
	if err := fw.AppendKeyValueMetadata(lake.MetaBatches, strings.Join(pt.ids, ",")); err != nil {
		f.Abort()
		return 0, fmt.Errorf("finish parquet file: %w", err)
	}
	if err := fw.Close(); err != nil {
		f.Abort()
		return 0, fmt.Errorf("finish parquet file: %w", err)
	}
	if err := bw.Flush(); err != nil {
		f.Abort()
		return 0, fmt.Errorf("finish parquet file: %w", err)
	}
	if err := w.ledger.Record(ctx, rel, pt.ids); err != nil {
		f.Abort()
		return 0, fmt.Errorf("record batches of %s: %w", rel, err)
	}
	w.hook(StepRecorded, rel)
	if err := f.Commit(ctx); err != nil {
		return 0, err
	}
	w.hook(StepCommitted, rel)
	return cw.n, nil
}

func (w *Writer) hook(step Step, rel string) {
	if w.cfg.Hook != nil {
		w.cfg.Hook(step, rel)
	}
}

var fileBuffers = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 1<<20) }}

type countingWriter struct {
	w interface{ Write([]byte) (int, error) }
	n int64
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}

// arrayOverhead is the Go heap a decoded batch takes per array (column or
// nested child) beyond its buffers' bytes: the array, its data, buffer
// and slice headers, and the allocator's rounding of small buffers.
// Measured on Azure.Audit batches (206 arrays) decoded from Arrow IPC: a
// batch of 1 or 6 rows takes 186 KB of heap for 13-17 KB of buffers, one
// of 2,000 rows 1.95 MB for 1.76 MB: 830-890 bytes per array.
const arrayOverhead = 900

// recordSize is what a buffered batch costs in memory: its buffers plus
// arrayOverhead per array. Without the overhead, thousands of tiny batches
// (a small tenant's replay by day) looked like a few MB while they held
// over a GB.
func recordSize(rec arrow.RecordBatch) int64 {
	var n int64
	var add func(d arrow.ArrayData)
	add = func(d arrow.ArrayData) {
		n += arrayOverhead
		for _, c := range d.Children() {
			add(c)
		}
	}
	for _, c := range rec.Columns() {
		n += int64(c.Data().SizeInBytes())
		add(c.Data())
	}
	return n
}

var (
	tableRE   = regexp.MustCompile(`^[a-z0-9_]+$`)
	segmentRE = regexp.MustCompile(`^[A-Za-z0-9_]+=[A-Za-z0-9_%-]+$`)
)

// ErrBadLocation reports a table or partition that is not a safe path.
var ErrBadLocation = errors.New("bad table or partition")

// checkLocation accepts only a plain table name and key=value partition
// segments with escaped values: nothing can point outside the lake.
func checkLocation(table, partition string) error {
	if !tableRE.MatchString(table) {
		return &permanentError{fmt.Errorf("%w: table %q", ErrBadLocation, table)}
	}
	for _, seg := range strings.Split(partition, "/") {
		if !segmentRE.MatchString(seg) {
			return &permanentError{fmt.Errorf("%w: partition %q", ErrBadLocation, partition)}
		}
	}
	return nil
}

type permanentError struct{ err error }

func (e *permanentError) Error() string   { return e.err.Error() }
func (e *permanentError) Unwrap() error   { return e.err }
func (e *permanentError) Permanent() bool { return true }

// deferred tells the worker pool that the writer acks the message itself.
type deferred struct{}

func (deferred) Error() string  { return "ack deferred until the file is in the lake" }
func (deferred) Deferred() bool { return true }

// Handle takes one batch message: it decodes the Arrow IPC body and buffers
// it. The message is acked when its file is in the lake; a file that
// could not be written settles it as failed (msg.Settle: the worker
// pool's retry accounting, growing delays, then the dead-letter stream).
func (w *Writer) Handle(ctx context.Context, msg schema.Message) error {
	w.handling.Add(1) // a batch on its way to Add: not idle
	defer w.handling.Add(-1)
	id := msg.Header(schema.HeaderBatch)
	if id == "" {
		return &permanentError{errors.New("batch message without " + schema.HeaderBatch)}
	}
	rec, err := decodeIPC(msg.Data(), w.cfg.Mem)
	if err != nil {
		return &permanentError{fmt.Errorf("batch %s: %w", id, err)}
	}
	if want := msg.Header(schema.HeaderRows); want != "" && want != strconv.FormatInt(rec.NumRows(), 10) {
		rec.Release()
		return &permanentError{fmt.Errorf("batch %s has %d rows, header says %s", id, rec.NumRows(), want)}
	}
	if err := w.AddMessage(ctx, rec, msg); err != nil {
		return err
	}
	return deferred{}
}

// AddMessage buffers rec (the writer takes ownership), the batch of msg,
// whose headers (schema.Header*) place it: Add with msg's settlement. msg
// is acked when its file is in the lake, settled as failed (msg.Settle)
// when the file could not be written, and given back (Nak) when the
// writer closes before its file is begun. Handle calls it with the batch
// it decoded; a process that parses and writes calls it with a batch
// handed over in memory and a message that stands for it.
func (w *Writer) AddMessage(ctx context.Context, rec arrow.RecordBatch, msg schema.Message) error {
	seq, _ := strconv.Atoi(msg.Header(schema.HeaderSeq))
	return w.Add(ctx, msg.Header(schema.HeaderTable), msg.Header(schema.HeaderPartition), msg.Header(schema.HeaderBatch), rec, Pending{
		Ctx:   ctx,
		Last:  msg.Header(schema.HeaderLast) != "",
		Task:  msg.Header(schema.HeaderTask),
		Seq:   seq,
		Ack:   msg.Ack,
		Nak:   func() error { return msg.Nak(0) },
		Fail:  msg.Settle,
		Touch: msg.InProgress,
	})
}

func decodeIPC(data []byte, mem memory.Allocator) (arrow.RecordBatch, error) {
	r, err := ipc.NewReader(bytes.NewReader(data), ipc.WithAllocator(mem))
	if err != nil {
		return nil, fmt.Errorf("decode arrow ipc: %w", err)
	}
	defer r.Release()
	if !r.Next() {
		if err := r.Err(); err != nil {
			return nil, fmt.Errorf("decode arrow ipc: %w", err)
		}
		return nil, errors.New("decode arrow ipc: no record batch")
	}
	rec := r.RecordBatch()
	rec.Retain()
	return rec, nil
}
