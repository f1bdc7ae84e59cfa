package compact

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/entralake/entralake/internal/pqmerge"
	"github.com/entralake/entralake/lake"
	"github.com/entralake/entralake/schema"
)

// Ledger records which lake file holds each batch (workers.Ledger).
type Ledger interface {
	Record(ctx context.Context, file string, ids []string) error
}

// Defaults of Config.
const (
	DefaultTargetSize = 256 << 20
	// StagingDir is the folder under the lake root that holds the lock and
	// the job folders.
	StagingDir = ".compact"
)

// Step names a point of a partition's compaction, for Config.Hook.
type Step string

// The steps, in order.
const (
	// StepPlanned: the journal is written; nothing else exists yet.
	StepPlanned Step = "planned"
	// StepWritten: the new partition content is complete in the staging folder.
	StepWritten Step = "written"
	// StepSwapped: the partition folder holds the new files; the staging
	// folder holds the old ones.
	StepSwapped Step = "swapped"
	// StepRecorded: the ledger points at the merged files.
	StepRecorded Step = "recorded"
	// StepRestored: files added by writers during the job are back in the
	// partition; the old files are about to be deleted.
	StepRestored Step = "restored"
)

// ErrLocked is returned by Run when another compaction holds the lake.
var ErrLocked = errors.New("another compaction is running on this lake")

// Config configures a Compactor.
type Config struct {
	// Lake is the lake's root folder. Required unless Store is set.
	Lake string
	// Store, when set, is the lake in an object store (Lake is then not
	// used): see Store.
	Store Store
	// Tables are the table folders under the lake to compact. Required.
	Tables []string
	// Before: a partition is compacted when the time it covers (its hour, or
	// its day for a partition without hour=) ended at or before Before.
	// Required.
	Before time.Time
	// TargetSize is the size in bytes the merged files aim at (default 256 MiB):
	// input files are merged in name order while their sum stays at or below it.
	TargetSize int64
	// Parquet holds the settings of merged files: use the writers' own. A
	// merged file is written without DELTA encodings when one of its
	// inputs has none (Parquet.NoDelta is then implied).
	Parquet schema.ParquetConfig
	Mem     memory.Allocator
	// Hook, when set, is called after each step of each partition. An error
	// stops the run at once, leaving everything as a crash would (tests use
	// it to inject crashes).
	Hook func(step Step, partition string) error
	Log  *slog.Logger
}

// Stats count a run's work.
type Stats struct {
	Partitions int   // partitions compacted
	FilesIn    int   // files replaced
	FilesOut   int   // files written (merged) or kept (linked)
	Rows       int64 // rows in the merged files
	BytesIn    int64
	BytesOut   int64
	Recovered  int // job folders settled from earlier crashes
}

// Compactor merges the files of closed partitions.
type Compactor struct {
	cfg    Config
	ledger Ledger
	log    *slog.Logger
}

// New returns a Compactor.
func New(cfg Config, ledger Ledger) (*Compactor, error) {
	if cfg.Lake == "" && cfg.Store == nil || len(cfg.Tables) == 0 || cfg.Before.IsZero() {
		return nil, errors.New("compact: Lake (or Store), Tables and Before are required")
	}
	if ledger == nil {
		return nil, errors.New("compact: no ledger")
	}
	if cfg.TargetSize <= 0 {
		cfg.TargetSize = DefaultTargetSize
	}
	if cfg.Mem == nil {
		cfg.Mem = memory.DefaultAllocator
	}
	log := cfg.Log
	if log == nil {
		log = slog.Default()
	}
	return &Compactor{cfg: cfg, ledger: ledger, log: log}, nil
}

// errCrash marks an error from the hook: stop without any cleanup.
type errCrash struct{ err error }

func (e *errCrash) Error() string { return "injected crash: " + e.err.Error() }
func (e *errCrash) Unwrap() error { return e.err }

func (c *Compactor) hook(step Step, partition string) error {
	if c.cfg.Hook == nil {
		return nil
	}
	if err := c.cfg.Hook(step, partition); err != nil {
		return &errCrash{err}
	}
	return nil
}

// Run settles the jobs of earlier crashed runs, then compacts every closed
// partition of the tables.
func (c *Compactor) Run(ctx context.Context) (Stats, error) {
	if c.cfg.Store != nil {
		return c.runObjects(ctx)
	}
	var st Stats
	staging := filepath.Join(c.cfg.Lake, StagingDir)
	unlock, err := lock(c.cfg.Lake)
	if err != nil {
		return st, fmt.Errorf("compact %s: %w", c.cfg.Lake, err)
	}
	defer unlock()
	// The staging folder goes when it is empty: no hidden leftovers.
	defer os.Remove(staging)

	jobs, err := os.ReadDir(staging)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return st, fmt.Errorf("compact: %w", err)
	}
	for _, j := range jobs {
		if !j.IsDir() || !strings.HasPrefix(j.Name(), "job-") {
			continue
		}
		if err := c.settle(ctx, filepath.Join(staging, j.Name())); err != nil {
			return st, err
		}
		st.Recovered++
	}

	for _, table := range c.cfg.Tables {
		parts, err := c.closedPartitions(table)
		if err != nil {
			return st, err
		}
		for _, p := range parts {
			if err := ctx.Err(); err != nil {
				return st, err
			}
			if err := c.partition(ctx, p, &st); err != nil {
				return st, err
			}
		}
	}
	return st, nil
}

// closedPartitions lists the leaf partition folders of a table (as
// slash-separated paths from the lake root) whose time ended before Before.
func (c *Compactor) closedPartitions(table string) ([]string, error) {
	root := filepath.Join(c.cfg.Lake, table)
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && p == root {
				return fs.SkipAll
			}
			return err
		}
		if !d.IsDir() {
			return nil
		}
		if p != root && strings.HasPrefix(d.Name(), ".") {
			return fs.SkipDir
		}
		rel, err := filepath.Rel(c.cfg.Lake, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		end, ok := partitionEnd(rel)
		if !ok || end.After(c.cfg.Before) {
			return nil
		}
		if names, err := parquetFiles(p); err == nil && len(names) > 0 {
			out = append(out, rel)
		}
		return nil
	})
	return out, err
}

// partitionEnd returns when the time a partition path covers ends: the end
// of its hour=, or of its date= when it has no hour.
func partitionEnd(rel string) (time.Time, bool) {
	var date, hour string
	for _, seg := range strings.Split(rel, "/") {
		switch {
		case strings.HasPrefix(seg, "date="):
			date = seg[5:]
		case strings.HasPrefix(seg, "hour="):
			hour = seg[5:]
		}
	}
	if date == "" {
		return time.Time{}, false
	}
	if hour == "" {
		d, err := time.Parse("2006-01-02", date)
		return d.Add(24 * time.Hour), err == nil
	}
	t, err := time.Parse("2006-01-02 15", date+" "+hour)
	return t.Add(time.Hour), err == nil
}

// parquetFiles lists the visible Parquet files of a folder, sorted.
func parquetFiles(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range ents {
		if e.Type().IsRegular() && !strings.HasPrefix(e.Name(), ".") && strings.HasSuffix(e.Name(), ".parquet") {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	return names, nil
}

// journal is a job's job.json.
type journal struct {
	// Partition is the partition folder, slash-separated from the lake root.
	Partition string `json:"partition"`
	// Inputs are the files of the partition when the job was planned.
	Inputs []string `json:"inputs"`
	// Outputs are the new partition's files.
	Outputs []output `json:"outputs"`
}

// output is one file of the new partition: merged from several inputs, or
// one input kept as it is (a hard link).
type output struct {
	Name   string   `json:"name"`
	Inputs []string `json:"inputs"`
	Rows   int64    `json:"rows"`
	IDs    []string `json:"ids"`
}

func (o output) merged() bool { return len(o.Inputs) > 1 }

// inputFile is what planning reads of an input file.
type inputFile struct {
	name string
	size int64
	ids  []string
	// info is its footer: rows, schema, empty leaves, DELTA use.
	info pqmerge.Info
}

// partition compacts one partition.
func (c *Compactor) partition(ctx context.Context, rel string, st *Stats) error {
	dir := filepath.Join(c.cfg.Lake, filepath.FromSlash(rel))
	names, err := parquetFiles(dir)
	if err != nil || len(names) < 2 {
		return err
	}
	inputs := make([]inputFile, 0, len(names))
	for _, n := range names {
		in, err := c.readFooter(filepath.Join(dir, n))
		if err != nil {
			return fmt.Errorf("compact %s: %w", rel, err)
		}
		in.name = n
		inputs = append(inputs, in)
	}
	jobDir := filepath.Join(c.cfg.Lake, StagingDir, "job-"+randomHex())
	return c.job(ctx, rel, inputs, st, jobRunner{
		run:    func(j journal) error { return c.run(ctx, jobDir, j, inputs) },
		settle: func() error { return c.settle(ctx, jobDir) },
		size: func(name string) int64 {
			if info, err := os.Stat(filepath.Join(dir, name)); err == nil {
				return info.Size()
			}
			return 0
		},
	})
}

// jobRunner is how a partition's job is done in one kind of lake.
type jobRunner struct {
	// run does the job: journal, new files, ledger, old files.
	run func(j journal) error
	// settle leaves the lake as consistent as a failed job's state allows.
	settle func() error
	// size is the size of a file of the partition (0 if unknown).
	size func(name string) int64
}

// job plans the compaction of partition rel from its input files (in
// name order) and runs it, counting the work in st. Files of different
// schemas are left as they are.
func (c *Compactor) job(ctx context.Context, rel string, inputs []inputFile, st *Stats, r jobRunner) error {
	for _, in := range inputs[1:] {
		if !in.info.Schema.Equal(inputs[0].info.Schema) {
			c.log.Warn("partition not compacted: its files have different schemas", "partition", rel, "file", in.name)
			return nil
		}
	}
	outs := c.plan(inputs)
	if !slices.ContainsFunc(outs, output.merged) {
		return nil
	}
	names := make([]string, len(inputs))
	for i, in := range inputs {
		names[i] = in.name
	}
	err := r.run(journal{Partition: rel, Inputs: names, Outputs: outs})
	var crash *errCrash
	if err != nil && !errors.As(err, &crash) {
		// Leave the lake as consistent as the job's state allows.
		if serr := r.settle(); serr != nil {
			err = errors.Join(err, serr)
		}
	}
	if err != nil {
		return fmt.Errorf("compact %s: %w", rel, err)
	}
	st.Partitions++
	st.FilesIn += len(names)
	st.FilesOut += len(outs)
	for _, in := range inputs {
		st.BytesIn += in.size
	}
	for _, o := range outs {
		st.Rows += o.Rows
		st.BytesOut += r.size(o.Name)
	}
	c.log.LogAttrs(ctx, slog.LevelInfo, "partition compacted", slog.String("partition", rel),
		slog.Int("files_in", len(names)), slog.Int("files_out", len(outs)))
	return nil
}

// plan groups the inputs, in name order, into outputs whose inputs sum to
// at most TargetSize (a bigger input is an output of its own).
func (c *Compactor) plan(inputs []inputFile) []output {
	var outs []output
	var cur []inputFile
	var size int64
	flush := func() {
		if len(cur) == 0 {
			return
		}
		o := output{}
		for _, in := range cur {
			o.Inputs = append(o.Inputs, in.name)
			o.Rows += in.info.Rows
			o.IDs = append(o.IDs, in.ids...)
		}
		switch {
		case len(cur) == 1:
			o.Name = cur[0].name
		case len(o.IDs) > 0:
			// Named as the writer names its files, after the batches
			// it holds: a re-run of the same job writes the same name.
			o.Name = lake.FileName(o.IDs)
		default:
			o.Name = lake.FileName(o.Inputs)
		}
		outs = append(outs, o)
		cur, size = nil, 0
	}
	for _, in := range inputs {
		if len(cur) > 0 && size+in.size > c.cfg.TargetSize {
			flush()
		}
		cur = append(cur, in)
		size += in.size
	}
	flush()
	return outs
}

// run does one job: journal, new content, swap, then finish.
func (c *Compactor) run(ctx context.Context, jobDir string, j journal, inputs []inputFile) error {
	if err := os.MkdirAll(filepath.Dir(jobDir), 0o755); err != nil {
		return err
	}
	if err := os.Mkdir(jobDir, 0o755); err != nil {
		return err
	}
	if err := writeJournal(jobDir, j); err != nil {
		return err
	}
	if err := syncDir(filepath.Dir(jobDir)); err != nil {
		return err
	}
	if err := c.hook(StepPlanned, j.Partition); err != nil {
		return err
	}
	dir := filepath.Join(c.cfg.Lake, filepath.FromSlash(j.Partition))
	newDir := filepath.Join(jobDir, "new")
	if err := os.Mkdir(newDir, 0o755); err != nil {
		return err
	}
	byName := map[string]inputFile{}
	for _, in := range inputs {
		byName[in.name] = in
	}
	for _, o := range j.Outputs {
		if !o.merged() {
			if err := os.Link(filepath.Join(dir, o.Name), filepath.Join(newDir, o.Name)); err != nil {
				return fmt.Errorf("keep %s: %w", o.Name, err)
			}
			continue
		}
		open := func(name string) (pqmerge.ReadAtSeekCloser, error) { return os.Open(filepath.Join(dir, name)) }
		if err := c.merge(ctx, filepath.Join(newDir, o.Name), o, byName, open); err != nil {
			return err
		}
	}
	if err := syncDir(newDir); err != nil {
		return err
	}
	if err := c.hook(StepWritten, j.Partition); err != nil {
		return err
	}
	if err := exchange(newDir, dir); err != nil {
		return fmt.Errorf("swap %s: %w", j.Partition, err)
	}
	if err := errors.Join(syncDir(filepath.Dir(dir)), syncDir(jobDir)); err != nil {
		return err
	}
	if err := c.hook(StepSwapped, j.Partition); err != nil {
		return err
	}
	return c.finish(ctx, jobDir, j)
}

// finish completes a swapped job: ledger, late files, old files.
func (c *Compactor) finish(ctx context.Context, jobDir string, j journal) error {
	dir := filepath.Join(c.cfg.Lake, filepath.FromSlash(j.Partition))
	if err := c.record(ctx, j); err != nil {
		return err
	}
	// A writer may have added a file to the partition between the listing
	// and the swap: it is now among the old files. Put it back.
	oldDir := filepath.Join(jobDir, "new")
	late, err := parquetFiles(oldDir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	moved := false
	for _, n := range late {
		if slices.Contains(j.Inputs, n) {
			continue
		}
		err := renameNoReplace(filepath.Join(oldDir, n), filepath.Join(dir, n))
		if errors.Is(err, fs.ErrExist) {
			continue // the same batches under the same name: already there
		}
		if err != nil {
			return fmt.Errorf("restore %s: %w", n, err)
		}
		moved = true
		c.log.LogAttrs(ctx, slog.LevelInfo, "file written during compaction kept", slog.String("partition", j.Partition), slog.String("file", n))
	}
	if moved {
		if err := syncDir(dir); err != nil {
			return err
		}
	}
	if err := c.hook(StepRestored, j.Partition); err != nil {
		return err
	}
	if err := os.RemoveAll(jobDir); err != nil {
		return err
	}
	return syncDir(filepath.Dir(jobDir))
}

// record points the ledger at the merged files of j (StepRecorded).
func (c *Compactor) record(ctx context.Context, j journal) error {
	for _, o := range j.Outputs {
		if !o.merged() || len(o.IDs) == 0 {
			continue
		}
		if err := c.ledger.Record(ctx, j.Partition+"/"+o.Name, o.IDs); err != nil {
			return fmt.Errorf("record batches of %s/%s: %w", j.Partition, o.Name, err)
		}
	}
	return c.hook(StepRecorded, j.Partition)
}

// settle resolves a job folder left by a crash (or by a failed job): before
// the swap it is deleted, after it the job is finished.
func (c *Compactor) settle(ctx context.Context, jobDir string) error {
	data, err := os.ReadFile(filepath.Join(jobDir, "job.json"))
	var j journal
	if err == nil {
		err = json.Unmarshal(data, &j)
	}
	if err != nil || j.Partition == "" {
		// No complete journal: the job never got to its swap.
		if err := os.RemoveAll(jobDir); err != nil {
			return fmt.Errorf("remove %s: %w", jobDir, err)
		}
		return syncDir(filepath.Dir(jobDir))
	}
	dir := filepath.Join(c.cfg.Lake, filepath.FromSlash(j.Partition))
	swapped := true
	for _, o := range j.Outputs {
		if !o.merged() {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, o.Name)); err != nil {
			swapped = false
		}
	}
	if !swapped {
		c.log.LogAttrs(ctx, slog.LevelInfo, "unfinished compaction rolled back", slog.String("partition", j.Partition))
		if err := os.RemoveAll(jobDir); err != nil {
			return fmt.Errorf("remove %s: %w", jobDir, err)
		}
		return syncDir(filepath.Dir(jobDir))
	}
	c.log.LogAttrs(ctx, slog.LevelInfo, "unfinished compaction completed", slog.String("partition", j.Partition))
	return c.finish(ctx, jobDir, j)
}

func writeJournal(jobDir string, j journal) error {
	data, err := json.MarshalIndent(j, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(jobDir, ".job.json.tmp")
	if err := writeSynced(tmp, data); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(jobDir, "job.json")); err != nil {
		return err
	}
	return syncDir(jobDir)
}

func writeSynced(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

func randomHex() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// readFooter reads an input file's size, rows, batch ids and Arrow schema.
func (c *Compactor) readFooter(path string) (inputFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return inputFile{}, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return inputFile{}, err
	}
	return c.footer(f, filepath.Base(path), info.Size())
}

// footer reads what planning needs of an open input file.
func (c *Compactor) footer(r parquet.ReaderAtSeeker, name string, size int64) (inputFile, error) {
	info, err := pqmerge.Read(r, c.cfg.Mem)
	if err != nil {
		return inputFile{}, fmt.Errorf("read %s: %w", name, err)
	}
	in := inputFile{name: name, size: size, info: info}
	if v := info.Meta[lake.MetaBatches]; v != "" {
		in.ids = strings.Split(v, ",")
	}
	return in, nil
}

// merge writes the rows of o's inputs (in, by name; open opens one),
// in order, into one file at out (through a hidden temporary name,
// synced).
func (c *Compactor) merge(ctx context.Context, out string, o output, in map[string]inputFile, open func(name string) (pqmerge.ReadAtSeekCloser, error)) error {
	tmp := filepath.Join(filepath.Dir(out), "."+filepath.Base(out)+".tmp-"+randomHex())
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	fail := func(err error) error {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := c.encode(ctx, f, o, in, open); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, out); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// encode writes the rows of o's inputs (in, by name; open opens one), in
// order, as one Parquet file into w, with the union of their batch ids:
// pqmerge.Merge, with the lake's Parquet settings (the writer's too, so
// that a merged file is as engine-safe as the files it replaces).
func (c *Compactor) encode(ctx context.Context, w io.Writer, o output, in map[string]inputFile, open func(name string) (pqmerge.ReadAtSeekCloser, error)) error {
	inputs := make([]pqmerge.Input, len(o.Inputs))
	for i, name := range o.Inputs {
		inputs[i] = pqmerge.Input{Name: name, Info: in[name].info, Open: func() (pqmerge.ReadAtSeekCloser, error) { return open(name) }}
	}
	meta := map[string]string{lake.MetaBatches: strings.Join(o.IDs, ",")}
	if _, err := pqmerge.Merge(ctx, w, inputs[0].Info.Schema, c.cfg.Parquet, c.cfg.Mem, inputs, meta); err != nil {
		return fmt.Errorf("merge into %s: %w", o.Name, err)
	}
	return nil
}
