package writer

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/entralake/entralake/lake"
)

// Table is a table kept by a catalog (an Iceberg table: lake/iceberg,
// adapted by internal/cli). The writer writes its files through the Lake
// where FileRel says, one file per table partition; they are invisible
// until Commit adds them to the table, all the files one roll closed for
// the table in one commit.
type Table interface {
	// Schema is the Arrow schema of the table's files: our columns, in our
	// order and types, carrying the table's field ids. A batch's columns
	// are written under it.
	Schema() *arrow.Schema
	// Partition returns the table partition of rec's rows as a path (""
	// for an unpartitioned table). Rows of more than one partition, or
	// without a partition value, are an error.
	Partition(rec arrow.RecordBatch) (string, error)
	// FileRel returns where a new file named name of partition goes,
	// relative to the lake.
	FileRel(partition, name string) string
	// Commit adds files to the table in one commit. duplicate reports that
	// the table held this commit, or every batch of it, already: nothing
	// was added, and the files are not in the table. An error wrapping
	// ErrSomeCommitted says that some of the batches (not all) are in the
	// table: nothing was added. An error with Permanent() true can never
	// succeed; any other may (a conflict, the catalog unreachable).
	Commit(ctx context.Context, files []TableFile) (duplicate bool, err error)
	// Committed returns those of ids that the table holds, from its
	// current state (it loads the table: not for every batch).
	Committed(ctx context.Context, ids []string) ([]string, error)
	// Known returns those of ids that the table held when it was last
	// loaded, without loading it: cheap enough for every batch.
	Known(ids []string) []string
}

// TableFile is a file written for a table, to commit.
type TableFile struct {
	// Rel is its path relative to the lake (from Table.FileRel).
	Rel string
	// Batches are the ids of the batches whose rows it holds, as its
	// footer lists them (lake.MetaBatches).
	Batches []string
}

// ErrSomeCommitted reports a commit refused because the table holds some
// of its batches already (another writer committed redelivered copies).
var ErrSomeCommitted = errors.New("some batches are already in the table")

// StepInTable: the file is committed to its table; its batches are not
// acked yet (table mode, Config.Tables).
const StepInTable Step = "in table"

// tableFileName names a table's file: the lake.FileName of its batches and
// a random suffix. A table's file is never written twice under one name:
// a file the table holds must not change under it (its size and
// statistics are in the table's manifests), and the same batches may be
// written again (a new state, a redelivery) before their commit is known.
func tableFileName(ids []string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return strings.TrimSuffix(lake.FileName(ids), ".parquet") + "-" + hex.EncodeToString(b[:]) + ".parquet"
}

// table returns the Table of name, in table mode.
func (w *Writer) table(name string) (Table, error) {
	t, ok := w.cfg.Tables[name]
	if !ok {
		return nil, &permanentError{fmt.Errorf("%w: no table %q in this lake", ErrBadLocation, name)}
	}
	return t, nil
}

// inTable acks a batch the table holds already (a batch delivered again
// after its commit, or written by another state): true when it did.
// Batches the ledger knows are checked against the table's current state
// (a file may be written and not committed); others only against what the
// table held when last loaded (the commit checks again).
func (w *Writer) inTable(ctx context.Context, t Table, batchID string, recorded bool, p Pending) (bool, error) {
	var held []string
	if recorded {
		var err error
		if held, err = t.Committed(ctx, []string{batchID}); err != nil {
			return false, fmt.Errorf("check batch %s in the table: %w", batchID, err)
		}
	} else {
		held = t.Known([]string{batchID})
	}
	if len(held) == 0 {
		return false, nil
	}
	w.Totals.Duplicates.Add(1)
	w.log.LogAttrs(ctx, slog.LevelDebug, "batch already in the table", slog.String("batch", batchID))
	w.markDone(ctx, []string{batchID})
	return true, p.Ack(ctx)
}

// tableFile is a file written for a table, with the part it holds.
type tableFile struct {
	pt  *part
	rel string
	n   int64
}

// flushTables writes the detached parts' files (at most Concurrency at
// once), then commits them, one commit per table, and settles their
// messages by the outcome.
func (w *Writer) flushTables(ctx context.Context, parts []*part) {
	files := make([]*tableFile, len(parts))
	var wg sync.WaitGroup
	for i, pt := range parts {
		wg.Go(func() { files[i] = w.writeTableFile(ctx, pt) })
	}
	wg.Wait()
	byTable := map[string][]*tableFile{}
	for _, f := range files {
		if f != nil {
			byTable[f.pt.table] = append(byTable[f.pt.table], f)
		}
	}
	ctx = context.WithoutCancel(ctx) // commit what was written
	for name, fs := range byTable {
		wg.Go(func() { w.commitTable(ctx, w.cfg.Tables[name], fs, 0) })
	}
	wg.Wait()
	for _, pt := range parts {
		w.finish(pt)
	}
}

// finish forgets a part whose messages are settled.
func (w *Writer) finish(pt *part) {
	for _, r := range pt.recs {
		r.Release()
	}
	w.mu.Lock()
	for _, id := range pt.ids {
		delete(w.inflight, id)
	}
	delete(w.writing, pt)
	w.buffered -= pt.bytes
	w.mu.Unlock()
	w.flushing.Done()
}

// writeTableFile writes pt's file for its table; nil when it gave pt's
// messages back (ctx ended first) or failed them.
func (w *Writer) writeTableFile(ctx context.Context, pt *part) *tableFile {
	if !w.acquire(ctx) {
		w.release(pt)
		return nil
	}
	defer func() { <-w.sem }()
	ctx = context.WithoutCancel(ctx)
	t := w.cfg.Tables[pt.table]
	rel := t.FileRel(pt.partition, tableFileName(pt.ids))
	n, err := w.write(ctx, rel, pt, t.Schema())
	if err != nil {
		w.failPart(ctx, pt, rel, err)
		return nil
	}
	return &tableFile{pt: pt, rel: rel, n: n}
}

// acquire takes an encoding slot, or reports that ctx ended first.
func (w *Writer) acquire(ctx context.Context) bool {
	if ctx.Err() != nil {
		return false
	}
	select {
	case w.sem <- struct{}{}:
		return true
	case <-ctx.Done():
		return false
	}
}

// failPart fails pt's messages after its file could not be written or
// committed: they are delivered again (or dead-lettered).
func (w *Writer) failPart(ctx context.Context, pt *part, rel string, err error) {
	w.mu.Lock()
	delete(w.writing, pt)
	w.mu.Unlock()
	w.Totals.Failures.Add(1)
	w.log.LogAttrs(ctx, slog.LevelError, "lake file not written; its batches will be delivered again",
		slog.String("file", rel), slog.Int("batches", len(pt.ids)), slog.Any("err", err))
	err = fmt.Errorf("write lake file %s: %w", rel, err)
	for _, p := range pt.pending {
		p.fail(ctx, err)
	}
}

// maxRewrites bounds how often one roll's batches are written again after
// ErrSomeCommitted (each time, the batches the table holds are acked and
// dropped: a second time means another writer keeps committing the same
// batches).
const maxRewrites = 3

// commitTable commits files to t in one commit and settles their
// messages: acked when committed or held by the table already; failed
// (delivered again) on an error; for ErrSomeCommitted, the batches the
// table holds are acked and the others written into new files and
// committed again.
func (w *Writer) commitTable(ctx context.Context, t Table, files []*tableFile, rewrites int) {
	tfs := make([]TableFile, len(files))
	for i, f := range files {
		tfs[i] = TableFile{Rel: f.rel, Batches: f.pt.ids}
	}
	dup, err := t.Commit(ctx, tfs)
	switch {
	case err == nil:
		for _, f := range files {
			w.hook(StepInTable, f.rel)
			w.acked(ctx, f, dup)
		}
	case errors.Is(err, ErrSomeCommitted) && rewrites < maxRewrites:
		w.rewrite(ctx, t, files, rewrites, err)
	default:
		for _, f := range files {
			w.failPart(ctx, f.pt, f.rel, fmt.Errorf("commit to the table: %w", err))
		}
	}
}

// acked counts a committed file (or, dup, one whose batches the table
// held already: the file is left for orphan removal) and acks its
// batches.
func (w *Writer) acked(ctx context.Context, f *tableFile, dup bool) {
	pt := f.pt
	w.mu.Lock()
	delete(w.writing, pt)
	w.mu.Unlock()
	if dup {
		w.Totals.Duplicates.Add(int64(len(pt.ids)))
		w.log.LogAttrs(ctx, slog.LevelInfo, "batches already in the table; the file is not committed", slog.String("file", f.rel), slog.Int("batches", len(pt.ids)))
	} else {
		w.Totals.Files.Add(1)
		w.Totals.Bytes.Add(f.n)
		w.Totals.Rows.Add(pt.rows)
		w.Totals.Batches.Add(int64(len(pt.ids)))
		w.noteNewest(pt)
	}
	w.settled(ctx, f.rel, pt)
}

// rewrite handles ErrSomeCommitted: it acks the batches the table holds,
// and writes the others into new files, committed again.
func (w *Writer) rewrite(ctx context.Context, t Table, files []*tableFile, rewrites int, cause error) {
	var ids []string
	for _, f := range files {
		ids = append(ids, f.pt.ids...)
	}
	held, err := t.Committed(ctx, ids)
	if err != nil {
		for _, f := range files {
			w.failPart(ctx, f.pt, f.rel, fmt.Errorf("%w; and which are: %w", cause, err))
		}
		return
	}
	in := map[string]bool{}
	for _, id := range held {
		in[id] = true
	}
	var again []*tableFile
	for _, f := range files {
		pt := f.pt
		rest := &part{table: pt.table, partition: pt.partition}
		var done []Pending
		var doneIDs []string
		for i, id := range pt.ids {
			if in[id] {
				done, doneIDs = append(done, pt.pending[i]), append(doneIDs, id)
				continue
			}
			rest.ids = append(rest.ids, id)
			rest.recs = append(rest.recs, pt.recs[i])
			rest.pending = append(rest.pending, pt.pending[i])
			rest.rows += pt.recs[i].NumRows()
		}
		w.Totals.Duplicates.Add(int64(len(done)))
		w.settled(ctx, f.rel, &part{ids: doneIDs, pending: done})
		if len(rest.ids) == 0 {
			w.mu.Lock()
			delete(w.writing, pt)
			w.mu.Unlock()
			continue
		}
		w.mu.Lock()
		delete(w.writing, pt)
		w.writing[rest] = struct{}{} // still held: touched
		w.mu.Unlock()
		rel := t.FileRel(rest.partition, tableFileName(rest.ids))
		n, err := w.write(ctx, rel, rest, t.Schema())
		if err != nil {
			w.failPart(ctx, rest, rel, err)
			continue
		}
		again = append(again, &tableFile{pt: rest, rel: rel, n: n})
	}
	w.log.LogAttrs(ctx, slog.LevelInfo, "some batches were in the table already; the others are committed in new files",
		slog.Int("held", len(held)), slog.Int("files", len(again)))
	if len(again) > 0 {
		w.commitTable(ctx, t, again, rewrites+1)
	}
}

// settled marks pt's batches as in the lake and acks them.
func (w *Writer) settled(ctx context.Context, rel string, pt *part) {
	if len(pt.ids) == 0 {
		return
	}
	w.markDone(ctx, pt.ids)
	w.traceCommit(rel, pt)
	for _, p := range pt.pending {
		if err := p.Ack(ctx); err != nil {
			// In the table: the redelivered batch will be recognised
			// (Committed) and only acked.
			w.log.LogAttrs(ctx, slog.LevelWarn, "ack after commit failed", slog.String("file", rel), slog.Any("err", err))
		}
	}
}

// withSchema returns rec's columns under sc (the same columns, with the
// table's field ids), without copying.
func withSchema(sc *arrow.Schema, rec arrow.RecordBatch) arrow.RecordBatch {
	if sc == nil || sc == rec.Schema() {
		rec.Retain()
		return rec
	}
	return array.NewRecordBatch(sc, rec.Columns(), rec.NumRows())
}
