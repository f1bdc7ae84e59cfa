package iceberg

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/apache/arrow-go/v18/parquet/file"
	ice "github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
	"golang.org/x/sync/errgroup"
)

// Keys of what entralake records in snapshot summaries and file footers.
const (
	// SummaryBatches is the snapshot summary key listing the batches an
	// append added: their 16-byte ids (from 32 hex digits), sorted,
	// concatenated and base64-encoded (standard alphabet, no padding): 22
	// characters a batch, where the hex list would take 33.
	SummaryBatches = "entralake.batches"
	// SummaryCommit is the snapshot summary key holding the commit's id, a
	// hash of the files it adds: the same files give the same id, so a
	// commit whose outcome was unknown is recognised.
	SummaryCommit = "entralake.commit"
	// FooterBatches is the Parquet key-value metadata key in which the
	// writer (and compaction) list, comma separated, the batch ids a file
	// holds.
	FooterBatches = "entralake.batches"
)

// batchKey is a batch id as 16 bytes.
type batchKey [16]byte

// parseBatchID turns a batch id (32 lower-case hex digits) into its key.
func parseBatchID(id string) (batchKey, error) {
	var k batchKey
	if len(id) != 2*len(k) || strings.ToLower(id) != id {
		return k, fmt.Errorf("%w: %q: want 32 lower-case hex digits", ErrBadBatchID, id)
	}
	if _, err := hex.Decode(k[:], []byte(id)); err != nil {
		return k, fmt.Errorf("%w: %q: %v", ErrBadBatchID, id, err)
	}
	return k, nil
}

// encodeBatches is SummaryBatches' value for keys.
func encodeBatches(keys []batchKey) string {
	s := slices.Clone(keys)
	slices.SortFunc(s, func(a, b batchKey) int { return strings.Compare(string(a[:]), string(b[:])) })
	s = slices.Compact(s)
	b := make([]byte, 0, len(s)*len(batchKey{}))
	for _, k := range s {
		b = append(b, k[:]...)
	}
	return base64.RawStdEncoding.EncodeToString(b)
}

// decodeBatches reads SummaryBatches' value; a value it cannot read
// (written by something else) gives no key.
func decodeBatches(v string) []batchKey {
	b, err := base64.RawStdEncoding.DecodeString(v)
	if err != nil || len(b)%len(batchKey{}) != 0 {
		return nil
	}
	out := make([]batchKey, len(b)/len(batchKey{}))
	for i := range out {
		copy(out[i][:], b[i*len(batchKey{}):])
	}
	return out
}

// index knows which batches and commits the table holds: from the
// summaries of its snapshots (loaded incrementally: only snapshots not yet
// seen are read; expired ones are forgotten), and, once IndexFooters ran,
// from the footers of its live data files, which expiry does not touch.
type index struct {
	snaps   map[int64]snapEntry
	batches map[batchKey]int // number of retained snapshots naming a batch
	commits map[string]int64 // commit id -> snapshot
	footers map[batchKey]struct{}
}

type snapEntry struct {
	batches []batchKey
	commit  string
}

// update adds md's snapshots not seen yet and drops those md no longer
// has.
func (ix *index) update(md table.Metadata) {
	if ix.snaps == nil {
		ix.snaps, ix.batches, ix.commits = map[int64]snapEntry{}, map[batchKey]int{}, map[string]int64{}
	}
	live := map[int64]bool{}
	for _, s := range md.Snapshots() {
		live[s.SnapshotID] = true
		if _, ok := ix.snaps[s.SnapshotID]; ok {
			continue
		}
		var e snapEntry
		if s.Summary != nil {
			e.batches = decodeBatches(s.Summary.Properties[SummaryBatches])
			e.commit = s.Summary.Properties[SummaryCommit]
		}
		ix.snaps[s.SnapshotID] = e
		for _, k := range e.batches {
			ix.batches[k]++
		}
		if e.commit != "" {
			ix.commits[e.commit] = s.SnapshotID
		}
	}
	for id, e := range ix.snaps {
		if live[id] {
			continue
		}
		delete(ix.snaps, id)
		for _, k := range e.batches {
			if ix.batches[k]--; ix.batches[k] <= 0 {
				delete(ix.batches, k)
			}
		}
		if e.commit != "" && ix.commits[e.commit] == id {
			delete(ix.commits, e.commit)
		}
	}
}

func (ix *index) has(k batchKey) bool {
	if ix.batches[k] > 0 {
		return true
	}
	_, ok := ix.footers[k]
	return ok
}

// Committed returns the batch ids of ids that the table holds, as its
// retained snapshots' summaries record them and as its live files' footers
// do. It loads the table's current state first. When a summary does not
// name one of ids and this Table has not read the footers yet, it reads
// them (IndexFooters) before it answers: a batch whose snapshot has expired
// (compact --expire-older-than) is still in a live file, and a caller that
// asks about a batch it once wrote must not be told to write it again.
func (t *Table) Committed(ctx context.Context, ids []string) ([]string, error) {
	keys := make([]batchKey, len(ids))
	for i, id := range ids {
		k, err := parseBatchID(id)
		if err != nil {
			return nil, err
		}
		keys[i] = k
	}
	if _, err := t.Refresh(ctx); err != nil {
		return nil, err
	}
	out, indexed := t.held(ids, keys)
	if len(out) == len(ids) || indexed {
		return out, nil
	}
	if _, err := t.IndexFooters(ctx); err != nil {
		return nil, err
	}
	out, _ = t.held(ids, keys)
	return out, nil
}

// held returns those of ids (parsed as keys) the index knows, and whether
// the index holds the live files' footers.
func (t *Table) held(ids []string, keys []batchKey) ([]string, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []string
	for i, k := range keys {
		if t.ix.has(k) {
			out = append(out, ids[i])
		}
	}
	return out, t.ix.footers != nil
}

// footerReaders bounds the footers IndexFooters reads at once.
const footerReaders = 8

// IndexFooters reads the footer of every live data file of the table's
// current snapshot and remembers the batch ids they list (FooterBatches),
// so that Committed also knows batches whose snapshots have expired. Call
// it when the caller's own record of written batches is empty (a new
// state on an existing table); it reads one footer per file (a few tens
// of KiB each). It returns the number of files read.
func (t *Table) IndexFooters(ctx context.Context) (int, error) {
	tbl, err := t.Refresh(ctx)
	if err != nil {
		return 0, err
	}
	files, err := liveFiles(ctx, tbl)
	if err != nil {
		return 0, t.wrap("list files", err)
	}
	fs, err := tbl.FS(ctx)
	if err != nil {
		return 0, t.wrap("open storage", err)
	}
	var mu sync.Mutex
	found := map[batchKey]struct{}{}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(footerReaders)
	for _, df := range files {
		g.Go(func() error {
			if err := gctx.Err(); err != nil {
				return err
			}
			f, err := fs.Open(df.FilePath())
			if err != nil {
				return fmt.Errorf("open %s: %w", df.FilePath(), err)
			}
			defer f.Close()
			r, err := file.NewParquetReader(f)
			if err != nil {
				return fmt.Errorf("read footer of %s: %w", df.FilePath(), err)
			}
			defer r.Close()
			v := r.MetaData().KeyValueMetadata().FindValue(FooterBatches)
			if v == nil || *v == "" {
				return nil
			}
			mu.Lock()
			defer mu.Unlock()
			for _, id := range strings.Split(*v, ",") {
				if k, err := parseBatchID(id); err == nil {
					found[k] = struct{}{}
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return 0, t.wrap("read footers", err)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ix.footers == nil {
		t.ix.footers = map[batchKey]struct{}{}
	}
	for k := range found {
		t.ix.footers[k] = struct{}{}
	}
	return len(files), nil
}

// liveFiles returns the data files of tbl's current snapshot.
func liveFiles(ctx context.Context, tbl *table.Table) ([]ice.DataFile, error) {
	snap := tbl.CurrentSnapshot()
	if snap == nil {
		return nil, nil
	}
	fs, err := tbl.FS(ctx)
	if err != nil {
		return nil, err
	}
	manifests, err := snap.Manifests(fs)
	if err != nil {
		return nil, fmt.Errorf("read manifest list: %w", err)
	}
	var out []ice.DataFile
	for _, m := range manifests {
		if m.ManifestContent() != ice.ManifestContentData {
			continue
		}
		for e, err := range m.Entries(fs, true) {
			if err != nil {
				return nil, fmt.Errorf("read manifest %s: %w", m.FilePath(), err)
			}
			if e.Status() == ice.EntryStatusDELETED || e.DataFile().ContentType() != ice.EntryContentData {
				continue
			}
			out = append(out, e.DataFile())
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Known returns those of ids that the table held when it was last loaded
// (at Open, a commit, Refresh, Committed), without loading it: cheap
// enough for every batch a writer takes. A batch committed since by
// another process is not seen (Commit checks again). An id that is not a
// batch id is not held.
func (t *Table) Known(ids []string) []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []string
	for _, id := range ids {
		if k, err := parseBatchID(id); err == nil && t.ix.has(k) {
			out = append(out, id)
		}
	}
	return out
}
