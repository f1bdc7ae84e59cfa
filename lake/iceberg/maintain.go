package iceberg

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	ice "github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
)

// FileInfo is a live data file of the table.
type FileInfo struct {
	// Rel is its path relative to the lake; Location its Iceberg location.
	Rel, Location string
	// Partition is its partition path (PartitionPath's form; "" when
	// unpartitioned).
	Partition string
	// Size is its size in bytes; Rows its number of rows.
	Size, Rows int64
}

// Files returns the live data files of the table's current snapshot,
// sorted by partition then path: compaction groups them by Partition.
func (t *Table) Files(ctx context.Context) ([]FileInfo, error) {
	tbl, err := t.Refresh(ctx)
	if err != nil {
		return nil, err
	}
	dfs, err := liveFiles(ctx, tbl)
	if err != nil {
		return nil, t.wrap("list files", err)
	}
	out := make([]FileInfo, 0, len(dfs))
	for _, df := range dfs {
		fi, err := t.fileInfo(tbl, df)
		if err != nil {
			return nil, err
		}
		out = append(out, fi)
	}
	slices.SortFunc(out, func(a, b FileInfo) int {
		return cmpOr(strings.Compare(a.Partition, b.Partition), strings.Compare(a.Location, b.Location))
	})
	return out, nil
}

func cmpOr(a, b int) int {
	if a != 0 {
		return a
	}
	return b
}

// fileInfo describes df.
func (t *Table) fileInfo(tbl *table.Table, df ice.DataFile) (FileInfo, error) {
	rel, ok := t.st.rel(df.FilePath())
	if !ok {
		return FileInfo{}, fmt.Errorf("table %s: data file %s is not in the lake", t.name, df.FilePath())
	}
	part, err := partitionOf(tbl, df)
	if err != nil {
		return FileInfo{}, fmt.Errorf("table %s: data file %s: %w", t.name, df.FilePath(), err)
	}
	return FileInfo{Rel: rel, Location: df.FilePath(), Partition: part, Size: df.FileSizeBytes(), Rows: df.Count()}, nil
}

// partitionOf returns df's partition path.
func partitionOf(tbl *table.Table, df ice.DataFile) (string, error) {
	spec := tbl.Metadata().PartitionSpecByID(int(df.SpecID()))
	if spec == nil {
		return "", fmt.Errorf("no partition spec %d", df.SpecID())
	}
	vals := df.Partition()
	rec := partitionRecord(make([]any, spec.NumFields()))
	for i := range spec.NumFields() {
		rec[i] = vals[spec.Field(i).FieldID]
	}
	return spec.PartitionToPath(rec, tbl.Schema()), nil
}

// Replace replaces the live files olds (paths relative to the lake, from
// Files) by merged, a file the caller wrote in the same partition with all
// their rows (and the union of their batch ids in its footer), in one
// rewrite commit (operation "replace"): readers see the old files or the
// merged one, never both. It returns ErrStale, committing nothing, when
// some of olds are no longer live (another compaction replaced them); a
// replace that already landed is a Duplicate.
func (t *Table) Replace(ctx context.Context, olds []string, merged string) (CommitResult, error) {
	if len(olds) == 0 {
		return CommitResult{}, fmt.Errorf("%w: nothing to replace", ErrBadFile)
	}
	if err := t.checkRel(merged); err != nil {
		return CommitResult{}, err
	}
	dfs, err := t.dataFiles(ctx, t.Iceberg(), []string{merged})
	if err != nil {
		return CommitResult{}, t.wrap("read footer", err)
	}
	id := commitID("replace", append(slices.Clone(olds), merged))
	res, err := t.commit(ctx, id, func(tbl *table.Table) (*table.Transaction, error) {
		live, err := liveFiles(ctx, tbl)
		if err != nil {
			return nil, err
		}
		byLoc := map[string]ice.DataFile{}
		for _, df := range live {
			byLoc[df.FilePath()] = df
		}
		tx := tbl.NewTransaction()
		rw := tx.NewRewrite(ice.Properties{SummaryCommit: id})
		var missing []string
		for _, rel := range olds {
			df, ok := byLoc[t.st.location(rel)]
			if !ok {
				missing = append(missing, rel)
				continue
			}
			rw.DeleteFile(df)
		}
		if len(missing) > 0 {
			return nil, fmt.Errorf("%w: %s", ErrStale, strings.Join(missing, ", "))
		}
		rw.AddDataFile(dfs[0])
		if err := rw.Commit(ctx); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadFile, err)
		}
		return tx, nil
	})
	return res, t.wrap("replace", err)
}

// ExpireSnapshots removes the snapshots older than olderThan, keeping at
// least the current one, and deletes the files that only they needed
// (replaced data files, their manifests). It returns how many snapshots
// it removed. The batches of expired appends stay known to Committed
// through the files' footers (IndexFooters).
func (t *Table) ExpireSnapshots(ctx context.Context, olderThan time.Duration) (int, error) {
	if olderThan < 0 {
		return 0, fmt.Errorf("%w: expire older than %s", ErrConfig, olderThan)
	}
	var before int
	_, err := t.commit(ctx, "", func(tbl *table.Table) (*table.Transaction, error) {
		before = len(tbl.Metadata().Snapshots())
		tx := tbl.NewTransaction()
		if err := tx.ExpireSnapshots(table.WithOlderThan(olderThan), table.WithRetainLast(1)); err != nil {
			return nil, err
		}
		staged, err := tx.StagedTable()
		if err != nil {
			return nil, err
		}
		if len(staged.Metadata().Snapshots()) == before {
			return nil, nil
		}
		return tx, nil
	})
	if err != nil {
		return 0, t.wrap("expire snapshots", err)
	}
	return before - len(t.Iceberg().Metadata().Snapshots()), nil
}

// MinOrphanAge is the youngest a file may be for RemoveOrphans to delete
// it: a writer's file is young until its commit lands (a file is written,
// then committed within seconds, or within Config.CommitTimeout when
// commits conflict).
const MinOrphanAge = time.Hour

// RemoveOrphans deletes the files under the table's folder that no
// retained snapshot, manifest or metadata file names and that are older
// than olderThan (at least MinOrphanAge): files of commits that never
// landed (a crash between writing a file and committing it, a compaction
// that lost its race) and of failed metadata writes. It never deletes a
// file a snapshot needs, nor a young file an in-flight commit is about to
// name. It returns the deleted files' locations.
func (t *Table) RemoveOrphans(ctx context.Context, olderThan time.Duration) ([]string, error) {
	if olderThan < MinOrphanAge {
		return nil, fmt.Errorf("%w: orphan files must be older than %s to be removed, not %s", ErrConfig, MinOrphanAge, olderThan)
	}
	return t.removeOrphans(ctx, olderThan)
}

func (t *Table) removeOrphans(ctx context.Context, olderThan time.Duration) ([]string, error) {
	tbl, err := t.Refresh(ctx)
	if err != nil {
		return nil, err
	}
	// The walk lists folders (delimiter "/" on object storage): another
	// table whose name starts with this one's (azure_audit_quarantine) is
	// not in it.
	res, err := tbl.DeleteOrphanFiles(ctx, table.WithLocation(t.Location()), table.WithFilesOlderThan(olderThan))
	if err != nil {
		return nil, t.wrap("remove orphan files", fmt.Errorf("table %s: remove orphan files: %w", t.name, err))
	}
	return res.DeletedFiles, nil
}
