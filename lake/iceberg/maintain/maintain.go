package maintain

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"path"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	iceio "github.com/apache/iceberg-go/io"

	"github.com/entralake/entralake/internal/pqmerge"
	"github.com/entralake/entralake/lake"
	"github.com/entralake/entralake/lake/iceberg"
	"github.com/entralake/entralake/schema"
)

// Step names a point of a group's compaction, for Config.Hook.
type Step string

// StepMerged: the merged file is written, not yet committed.
const StepMerged Step = "merged"

// Config says what Run does.
type Config struct {
	// Before: a partition is compacted when the time its partition value
	// covers (a day, or an hour) ended at or before Before. Zero takes
	// every partition.
	Before time.Time
	// TargetSize is the size merged files aim at (default
	// iceberg.DefaultTargetFileSize): files at or above it are left alone,
	// the others are merged while their sum stays at or below it.
	TargetSize int64
	// Parquet holds the settings of merged files: the writers' own.
	Parquet schema.ParquetConfig
	// ExpireOlderThan, when above zero, expires the snapshots older than
	// this (the current one stays).
	ExpireOlderThan time.Duration
	// OrphansOlderThan, when above zero, removes the files no snapshot
	// names that are older than this; it must be at least
	// iceberg.MinOrphanAge.
	OrphansOlderThan time.Duration
	Mem              memory.Allocator
	Log              *slog.Logger
	// Hook, when set, is called after each step of each group; an error
	// stops the run there, as a crash would (tests inject crashes).
	Hook func(step Step, table, partition string) error
}

// Stats count a run's work.
type Stats struct {
	Partitions int   // partitions in which files were merged
	FilesIn    int   // files replaced
	FilesOut   int   // merged files committed
	Rows       int64 // rows in the merged files
	BytesIn    int64
	BytesOut   int64
	// Stale counts groups another compaction replaced first (planned
	// again next run); Skipped, files left alone because their columns
	// are not the table's.
	Stale, Skipped int
	// Expired counts the snapshots removed; Orphans the files deleted.
	Expired, Orphans int
}

// ErrConfig reports a Config that cannot work.
var ErrConfig = errors.New("maintenance configuration")

// Run compacts, expires and cleans each table, in that order.
func Run(ctx context.Context, cfg Config, tables ...*iceberg.Table) (Stats, error) {
	var st Stats
	if cfg.OrphansOlderThan > 0 && cfg.OrphansOlderThan < iceberg.MinOrphanAge {
		return st, fmt.Errorf("%w: orphan files must be older than %s to be removed, not %s", ErrConfig, iceberg.MinOrphanAge, cfg.OrphansOlderThan)
	}
	if cfg.ExpireOlderThan < 0 {
		return st, fmt.Errorf("%w: expire older than %s", ErrConfig, cfg.ExpireOlderThan)
	}
	if cfg.TargetSize <= 0 {
		cfg.TargetSize = iceberg.DefaultTargetFileSize
	}
	if cfg.Mem == nil {
		cfg.Mem = memory.DefaultAllocator
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	for _, t := range tables {
		if err := compactTable(ctx, cfg, t, &st); err != nil {
			return st, err
		}
		if cfg.ExpireOlderThan > 0 {
			n, err := t.ExpireSnapshots(ctx, cfg.ExpireOlderThan)
			if err != nil {
				return st, fmt.Errorf("table %s: %w", t.Name(), err)
			}
			st.Expired += n
		}
		if cfg.OrphansOlderThan > 0 {
			gone, err := t.RemoveOrphans(ctx, cfg.OrphansOlderThan)
			if err != nil {
				return st, fmt.Errorf("table %s: %w", t.Name(), err)
			}
			st.Orphans += len(gone)
			for _, g := range gone {
				cfg.Log.LogAttrs(ctx, slog.LevelInfo, "orphan file removed", slog.String("table", t.Name()), slog.String("file", g))
			}
		}
	}
	return st, nil
}

// input is a file of a group, with its footer.
type input struct {
	iceberg.FileInfo
	pq pqmerge.Info
}

// compactTable compacts the closed partitions of t.
func compactTable(ctx context.Context, cfg Config, t *iceberg.Table, st *Stats) error {
	files, err := t.Files(ctx)
	if err != nil {
		return err
	}
	fs, err := t.Iceberg().FS(ctx)
	if err != nil {
		return fmt.Errorf("table %s: open storage: %w", t.Name(), err)
	}
	sc := t.ArrowSchema()
	byPart := map[string][]iceberg.FileInfo{}
	var parts []string
	for _, f := range files {
		if _, ok := byPart[f.Partition]; !ok {
			parts = append(parts, f.Partition)
		}
		byPart[f.Partition] = append(byPart[f.Partition], f)
	}
	for _, p := range parts {
		if err := ctx.Err(); err != nil {
			return err
		}
		if end, ok := partitionEnd(p); ok && !cfg.Before.IsZero() && end.After(cfg.Before) {
			continue
		}
		var cands []input
		for _, f := range byPart[p] {
			if f.Size >= cfg.TargetSize {
				continue
			}
			info, err := footer(fs, f.Location, cfg.Mem)
			if err != nil {
				return fmt.Errorf("table %s: %s: %w", t.Name(), f.Rel, err)
			}
			if !pqmerge.SameColumns(info.Schema, sc) {
				cfg.Log.LogAttrs(ctx, slog.LevelInfo, "file not compacted: its columns are not the table's", slog.String("table", t.Name()), slog.String("file", f.Rel))
				st.Skipped++
				continue
			}
			cands = append(cands, input{FileInfo: f, pq: info})
		}
		merged := false
		for _, g := range plan(cands, cfg.TargetSize) {
			done, err := compactGroup(ctx, cfg, t, fs, p, g, st)
			if err != nil {
				return fmt.Errorf("table %s: partition %q: %w", t.Name(), p, err)
			}
			merged = merged || done
		}
		if merged {
			st.Partitions++
		}
	}
	return nil
}

// plan groups files, in order, into groups whose sizes sum to at most
// target; only groups of two or more files are returned.
func plan(files []input, target int64) [][]input {
	var out [][]input
	var cur []input
	var size int64
	flush := func() {
		if len(cur) > 1 {
			out = append(out, cur)
		}
		cur, size = nil, 0
	}
	for _, f := range files {
		if len(cur) > 0 && size+f.Size > target {
			flush()
		}
		cur = append(cur, f)
		size += f.Size
	}
	flush()
	return out
}

// compactGroup merges g into one file and replaces g by it. It reports
// whether the table now holds the merged file.
func compactGroup(ctx context.Context, cfg Config, t *iceberg.Table, fs iceio.IO, part string, g []input, st *Stats) (bool, error) {
	wfs, ok := fs.(iceio.WriteFileIO)
	if !ok {
		return false, fmt.Errorf("the table's storage cannot write files")
	}
	var ids, rels []string
	var ins []pqmerge.Input
	var bytesIn int64
	for _, f := range g {
		if v := f.pq.Meta[iceberg.FooterBatches]; v != "" {
			ids = append(ids, strings.Split(v, ",")...)
		}
		rels = append(rels, f.Rel)
		bytesIn += f.Size
		loc := f.Location
		ins = append(ins, pqmerge.Input{Name: f.Rel, Info: f.pq, Open: func() (pqmerge.ReadAtSeekCloser, error) { return fs.Open(loc) }})
	}
	names := ids
	if len(names) == 0 {
		names = rels
	}
	// The name is the batches' (as the writer names its files) plus a
	// random part: two compactions of the same files never write to one
	// name, so none overwrites a file the other committed.
	rel := t.DataFileRel(part, strings.TrimSuffix(lake.FileName(names), ".parquet")+"-"+randomHex()+".parquet")
	loc := t.FileLocation(rel)
	meta := map[string]string{}
	if len(ids) > 0 {
		meta[iceberg.FooterBatches] = strings.Join(ids, ",")
	}
	size, rows, err := write(ctx, cfg, wfs, loc, t, ins, meta)
	if err != nil {
		return false, err
	}
	if cfg.Hook != nil {
		if err := cfg.Hook(StepMerged, t.Name(), part); err != nil {
			return false, err
		}
	}
	res, err := t.Replace(ctx, rels, rel)
	switch {
	case errors.Is(err, iceberg.ErrStale):
		st.Stale++
		cfg.Log.LogAttrs(ctx, slog.LevelInfo, "files replaced by another compaction; planned again next run",
			slog.String("table", t.Name()), slog.String("partition", part))
		return false, removeUnlessLive(ctx, t, wfs, rel, loc)
	case err != nil:
		// The outcome is known (Replace settles unknown ones by its
		// commit id): nothing was committed. The merged file is an
		// orphan, removed once old enough.
		return false, err
	}
	st.FilesIn += len(g)
	st.FilesOut++
	st.Rows += rows
	st.BytesIn += bytesIn
	st.BytesOut += size
	cfg.Log.LogAttrs(ctx, slog.LevelInfo, "files compacted", slog.String("table", t.Name()), slog.String("partition", part),
		slog.Int("files_in", len(g)), slog.String("merged", path.Base(rel)), slog.Bool("already_done", res.Duplicate))
	return true, nil
}

// write merges ins into a new file at loc; it returns its size and rows.
// A file that could not be written whole is removed.
func write(ctx context.Context, cfg Config, fs iceio.WriteFileIO, loc string, t *iceberg.Table, ins []pqmerge.Input, meta map[string]string) (int64, int64, error) {
	w, err := fs.Create(loc)
	if err != nil {
		return 0, 0, fmt.Errorf("create %s: %w", loc, err)
	}
	cw := &countWriter{w: w}
	rows, err := pqmerge.Merge(ctx, cw, t.ArrowSchema(), cfg.Parquet, cfg.Mem, ins, meta)
	if err == nil {
		// A local file is synced before its commit names it.
		if s, ok := w.(interface{ Sync() error }); ok {
			err = s.Sync()
		}
	}
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = fs.Remove(loc)
		return 0, 0, fmt.Errorf("write %s: %w", loc, err)
	}
	return cw.n, rows, nil
}

// removeUnlessLive deletes the merged file of a stale group unless the
// table holds it (another compaction of the same files committed it).
func removeUnlessLive(ctx context.Context, t *iceberg.Table, fs iceio.WriteFileIO, rel, loc string) error {
	files, err := t.Files(ctx)
	if err != nil {
		return err
	}
	for _, f := range files {
		if f.Rel == rel {
			return nil
		}
	}
	if err := fs.Remove(loc); err != nil {
		return fmt.Errorf("remove %s: %w", loc, err)
	}
	return nil
}

// footer reads the footer of the file at loc.
func footer(fs iceio.IO, loc string, mem memory.Allocator) (pqmerge.Info, error) {
	f, err := fs.Open(loc)
	if err != nil {
		return pqmerge.Info{}, err
	}
	defer f.Close()
	return pqmerge.Read(f, mem)
}

// partitionEnd returns when the time of a partition path ends: the end of
// its day (a segment <column>_day=YYYY-MM-DD) or hour
// (<column>_hour=YYYY-MM-DD-HH); false when it has neither.
func partitionEnd(p string) (time.Time, bool) {
	for _, seg := range strings.Split(p, "/") {
		k, v, _ := strings.Cut(seg, "=")
		switch {
		case strings.HasSuffix(k, "_day"):
			if d, err := time.Parse("2006-01-02", v); err == nil {
				return d.Add(24 * time.Hour), true
			}
		case strings.HasSuffix(k, "_hour"):
			if h, err := time.Parse("2006-01-02-15", v); err == nil {
				return h.Add(time.Hour), true
			}
		}
	}
	return time.Time{}, false
}

func randomHex() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// countWriter counts the bytes written through it.
type countWriter struct {
	w interface{ Write([]byte) (int, error) }
	n int64
}

func (c *countWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}
