package iceberg

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"math/rand/v2"
	"path"
	"slices"
	"strings"
	"time"

	ice "github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
)

// ErrBatchesCommitted reports a commit some of whose batches (not all) the
// table already holds: committing the files would double those rows, so
// nothing was committed. Write the other batches into new files.
var ErrBatchesCommitted = errors.New("some batches are already in the table")

// File is a Parquet file the caller wrote into the table's data folder,
// to be committed.
type File struct {
	// Rel is its path relative to the lake, as returned by DataFileRel.
	Rel string
	// Batches are the ids of the batches whose rows it holds (the ids its
	// footer lists under FooterBatches).
	Batches []string
}

// CommitResult tells what a commit did.
type CommitResult struct {
	// SnapshotID is the snapshot the commit made (0 when Duplicate).
	SnapshotID int64
	// Attempts counts the tries, conflicts included.
	Attempts int
	// Duplicate is set when the table already held this commit, or every
	// batch of it: nothing was added, the caller's files are not in the
	// table (and may be deleted).
	Duplicate bool
}

// Commit adds files to the table in one append (one snapshot), with their
// batch ids in the snapshot's summary (SummaryBatches) and a commit id
// (SummaryCommit). It reads each file's footer (its statistics and
// partition); every file must hold rows of one partition, in that
// partition's folder (DataFileRel of its PartitionPath: a file whose
// partition column is null has no such folder), with our schema
// (ArrowSchema).
//
// It is idempotent: when the table already holds this commit, or all its
// batches, it adds nothing (CommitResult.Duplicate); when it holds some of
// them, it adds nothing and returns ErrBatchesCommitted. A conflict with
// another writer's commit is retried (the table is loaded again, checked
// again) until Config.CommitTimeout; an error whose outcome is unknown is
// settled by loading the table and looking for the commit id.
func (t *Table) Commit(ctx context.Context, files []File) (CommitResult, error) {
	if len(files) == 0 {
		return CommitResult{Duplicate: true}, nil
	}
	var keys []batchKey
	var rels []string
	for _, f := range files {
		if err := t.checkRel(f.Rel); err != nil {
			return CommitResult{}, err
		}
		rels = append(rels, f.Rel)
		for _, id := range f.Batches {
			k, err := parseBatchID(id)
			if err != nil {
				return CommitResult{}, err
			}
			keys = append(keys, k)
		}
	}
	tbl := t.Iceberg()
	dfs, err := t.dataFiles(ctx, tbl, rels)
	if err != nil {
		return CommitResult{}, err
	}
	id := commitID("append", rels)
	props := ice.Properties{SummaryCommit: id}
	if len(keys) > 0 {
		props[SummaryBatches] = encodeBatches(keys)
	}
	res, err := t.commit(ctx, id, func(tbl *table.Table) (*table.Transaction, error) {
		var landed []string
		for _, k := range keys {
			if t.ix.has(k) {
				landed = append(landed, fmt.Sprintf("%x", k[:]))
			}
		}
		switch {
		case len(keys) > 0 && len(landed) == len(keys):
			return nil, nil
		case len(landed) > 0:
			return nil, fmt.Errorf("%w: %d of %d: %s", ErrBatchesCommitted, len(landed), len(keys), strings.Join(landed, ","))
		}
		tx := tbl.NewTransaction()
		if err := tx.AddDataFiles(ctx, dfs, props, table.WithoutDuplicateCheck()); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadFile, err)
		}
		return tx, nil
	})
	return res, t.wrap("commit", err)
}

// checkRel checks that rel is a clean path in the table's data folder.
func (t *Table) checkRel(rel string) error {
	if path.Clean(rel) != rel || !strings.HasPrefix(rel, t.rel+"/data/") || strings.Contains(rel, "\\") {
		return fmt.Errorf("%w: %q is not a path in %s/data/", ErrBadFile, rel, t.rel)
	}
	return nil
}

// dataFiles reads the footers of rels into Iceberg data files (statistics
// by field id, partition values from the partition columns' bounds), and
// checks that each is in its partition's folder.
func (t *Table) dataFiles(ctx context.Context, tbl *table.Table, rels []string) ([]ice.DataFile, error) {
	fs, err := tbl.FS(ctx)
	if err != nil {
		return nil, fmt.Errorf("open storage: %w", err)
	}
	out := make([]ice.DataFile, len(rels))
	for i, rel := range rels {
		df, err := table.FileToDataFile(ctx, fs, t.st.location(rel), tbl.Schema(), tbl.Spec(), 0, tbl.Properties())
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrBadFile, rel, err)
		}
		// The rows' partition (from the partition columns' bounds) must be
		// the folder's: a file in category=X whose category column is
		// null or Y would be in another partition than its path says.
		part, err := partitionOf(tbl, df)
		if err != nil {
			return nil, err
		}
		if want := t.DataFileRel(part, path.Base(rel)); want != rel {
			return nil, fmt.Errorf("%w: %s: its rows are in partition %q", ErrBadFile, rel, part)
		}
		out[i] = df
	}
	return out, nil
}

// commitID names a commit after its operation and files.
func commitID(op string, rels []string) string {
	s := slices.Clone(rels)
	slices.Sort(s)
	h := sha256.New()
	h.Write([]byte(op))
	for _, r := range s {
		h.Write([]byte{0})
		h.Write([]byte(r))
	}
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:16])
}

// commit runs one optimistic commit. Under the Locker, if any, it loads
// the table, returns at once when a snapshot carries the commit id id (if
// not empty), asks build for the transaction (nil: nothing to do), and
// commits it. iceberg-go v0.7.0 retries only its ErrCommitFailed, and
// replays the transaction without our checks; so its retries are off
// (commit.retry.num-retries=0) and a conflict (ErrCommitFailed, or a
// "requirement failed:" error, which has no sentinel) comes back here to be
// built again on the new state. Any other error may have committed
// (the catalog accepted, then the response was lost): the table is loaded
// again and the commit id settles it.
func (t *Table) commit(ctx context.Context, id string, build func(*table.Table) (*table.Transaction, error)) (CommitResult, error) {
	t.commitMu.Lock()
	defer t.commitMu.Unlock()
	deadline := time.Now().Add(t.timeout)
	wait := 20 * time.Millisecond
	for attempt := 1; ; attempt++ {
		res, err := t.attempt(ctx, id, build)
		res.Attempts = attempt
		if err == nil || !conflict(err) {
			return res, err
		}
		if time.Now().After(deadline) {
			return res, fmt.Errorf("commit to %s: still conflicting after %d attempts in %s: %w", t.name, attempt, t.timeout, err)
		}
		// Full jitter: two writers that collided do not collide again.
		d := time.Duration(rand.Int64N(int64(wait)) + 1)
		select {
		case <-ctx.Done():
			return res, context.Cause(ctx)
		case <-time.After(d):
		}
		wait = min(2*wait, 2*time.Second)
	}
}

// attempt is one try of commit.
func (t *Table) attempt(ctx context.Context, id string, build func(*table.Table) (*table.Transaction, error)) (CommitResult, error) {
	if t.locker != nil {
		unlock, err := t.locker.Lock(ctx, t.Location())
		if err != nil {
			return CommitResult{}, fmt.Errorf("lock %s: %w", t.name, err)
		}
		defer unlock()
	}
	tbl, err := t.Refresh(ctx)
	if err != nil {
		return CommitResult{}, err
	}
	if _, ok := t.landed(id); ok {
		return CommitResult{Duplicate: true}, nil
	}
	t.mu.Lock()
	tx, err := build(tbl)
	t.mu.Unlock()
	if err != nil || tx == nil {
		return CommitResult{Duplicate: tx == nil && err == nil}, err
	}
	newTbl, err := tx.Commit(ctx)
	if err == nil || newTbl != nil {
		// newTbl with an error: committed, then a post-commit step (the
		// deletion of expired files) failed.
		t.set(newTbl)
		var snap int64
		if s := newTbl.CurrentSnapshot(); s != nil {
			snap = s.SnapshotID
		}
		return CommitResult{SnapshotID: snap}, err
	}
	if conflict(err) || id == "" {
		return CommitResult{}, fmt.Errorf("commit to %s: %w", t.name, err)
	}
	if _, rerr := t.Refresh(ctx); rerr == nil {
		if snap, ok := t.landed(id); ok {
			return CommitResult{SnapshotID: snap}, nil
		}
	}
	return CommitResult{}, fmt.Errorf("commit to %s: %w", t.name, err)
}

// landed returns the retained snapshot that carries the commit id, if any.
func (t *Table) landed(id string) (int64, bool) {
	if id == "" {
		return 0, false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	snap, ok := t.ix.commits[id]
	return snap, ok
}

// conflict reports an optimistic-concurrency conflict: nothing was
// committed, and building the commit again on the table's new state may
// succeed.
func conflict(err error) bool {
	return errors.Is(err, table.ErrCommitFailed) || strings.Contains(err.Error(), "requirement failed:")
}
