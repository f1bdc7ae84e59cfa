package iceberg

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// maintenance runs the compaction primitives on l (a local lake or an
// Azure one): list a partition's files, replace them by one merged file
// in one commit, expire the old snapshots (the replaced files go), and
// remove orphan files without touching a file a snapshot needs, nor
// another table's. age makes a file old; youngKept says whether
// removeOrphans must keep a young file (false where age cannot work).
func maintenance(t *testing.T, l *Lake, removeOrphans func(*Table) ([]string, error), age func(rel string), youngKept bool) {
	ctx := t.Context()
	main := l.Main
	// Three small files in one partition, one in another, one quarantine.
	var rows []string
	var rels []string
	for _, name := range []string{"a", "b", "c"} {
		r := auditRows("SignInLogs", dayOf(11), 3, name)
		f := File{Rel: relFor(t, main, "SignInLogs", dayOf(11), "part-"+name+".parquet"), Batches: []string{batchID(name)}}
		writeFile(t, main, f.Rel, r, f.Batches...)
		if _, err := main.Commit(ctx, []File{f}); err != nil {
			t.Fatal(err)
		}
		rows, rels = append(rows, r), append(rels, f.Rel)
	}
	other := File{Rel: relFor(t, main, "AuditLogs", dayOf(11), "part-d.parquet"), Batches: []string{batchID("d")}}
	dRows := auditRows("AuditLogs", dayOf(11), 2, "d")
	writeFile(t, main, other.Rel, dRows, other.Batches...)
	if _, err := main.Commit(ctx, []File{other}); err != nil {
		t.Fatal(err)
	}
	q := File{Rel: relFor(t, l.Quarantine, "", time.Time{}, "part-q.parquet"), Batches: []string{batchID("q")}}
	writeFile(t, l.Quarantine, q.Rel, quarantineRows(2, "q"), q.Batches...)
	if _, err := l.Quarantine.Commit(ctx, []File{q}); err != nil {
		t.Fatal(err)
	}
	want := wantRows(t, main.ours, append(slices.Clone(rows), dRows)...)

	files, err := main.Files(ctx)
	if err != nil {
		t.Fatal(err)
	}
	byPart := map[string][]FileInfo{}
	for _, f := range files {
		byPart[f.Partition] = append(byPart[f.Partition], f)
		if f.Size <= 0 || f.Rows <= 0 || f.Location != main.st.location(f.Rel) {
			t.Errorf("file %+v", f)
		}
	}
	part := "category=SignInLogs/p_event_time_day=2025-04-11"
	if got := len(byPart[part]); got != 3 || len(byPart["category=AuditLogs/p_event_time_day=2025-04-11"]) != 1 {
		t.Fatalf("files by partition: %v", byPart)
	}

	// Merge the partition's three files (the caller's job) and replace.
	merged := relFor(t, main, "SignInLogs", dayOf(11), "part-merged.parquet")
	writeFile(t, main, merged, strings.Join(rows, ""), batchID("a"), batchID("b"), batchID("c"))
	res, err := main.Replace(ctx, rels, merged)
	if err != nil {
		t.Fatal(err)
	}
	snap := main.Iceberg().CurrentSnapshot()
	if op := snap.Summary.Operation; op != "replace" || snap.SnapshotID != res.SnapshotID {
		t.Errorf("operation %s (snapshot %d), want replace (%d)", op, snap.SnapshotID, res.SnapshotID)
	}
	if got := scanRowsOnly(t, main); !slices.Equal(got, want) {
		t.Errorf("after replace: %d rows, want %d", len(got), len(want))
	}
	files, _ = main.Files(ctx)
	if len(files) != 2 {
		t.Errorf("%d live files after replace, want 2", len(files))
	}
	// The same replace again (unknown outcome): a duplicate. Inputs gone
	// (another compaction): stale, nothing committed.
	if res, err := main.Replace(ctx, rels, merged); err != nil || !res.Duplicate {
		t.Errorf("same replace again: %+v, %v; want a duplicate", res, err)
	}
	again := relFor(t, main, "SignInLogs", dayOf(11), "part-merged2.parquet")
	writeFile(t, main, again, strings.Join(rows, ""), batchID("a"), batchID("b"), batchID("c"))
	if _, err := main.Replace(ctx, rels, again); !errors.Is(err, ErrStale) {
		t.Errorf("replace of files no longer live: %v, want ErrStale", err)
	}
	// The merged file keeps the batches known once the appends expire.
	if n, err := main.ExpireSnapshots(ctx, 0); err != nil || n != 4 {
		t.Errorf("expired %d snapshots (%v), want 4 (the 4 appends)", n, err)
	}
	for _, rel := range rels {
		if exists(t, main, rel) {
			t.Errorf("replaced file %s still there after expiry", rel)
		}
	}
	if !exists(t, main, merged) || !exists(t, main, other.Rel) {
		t.Error("a live file was deleted by expiry")
	}
	if _, err := main.IndexFooters(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := main.Committed(ctx, []string{batchID("a"), batchID("d")}); len(got) != 2 {
		t.Errorf("committed after compaction and expiry: %v", got)
	}

	// Orphans: a file a crashed writer left, and again (the stale merge).
	crashed := relFor(t, main, "SignInLogs", dayOf(12), "part-crashed.parquet")
	writeFile(t, main, crashed, auditRows("SignInLogs", dayOf(12), 1, "x"), batchID("x"))
	age(crashed)
	age(again)
	young := relFor(t, main, "SignInLogs", dayOf(12), "part-young.parquet")
	writeFile(t, main, young, auditRows("SignInLogs", dayOf(12), 1, "y"), batchID("y"))
	deleted, err := removeOrphans(main)
	if err != nil {
		t.Fatal(err)
	}
	for _, rel := range []string{crashed, again} {
		if exists(t, main, rel) || !slices.Contains(deleted, main.st.location(rel)) {
			t.Errorf("orphan %s not removed (deleted %v)", rel, deleted)
		}
	}
	for _, rel := range []string{merged, other.Rel} {
		if !exists(t, main, rel) {
			t.Errorf("live file %s removed as an orphan", rel)
		}
	}
	if youngKept && !exists(t, main, young) {
		t.Error("a young file (an in-flight commit's) was removed")
	}
	if !exists(t, l.Quarantine, q.Rel) {
		t.Error("the quarantine table's file was removed by the main table's orphan removal")
	}
	if got := scanRowsOnly(t, main); !slices.Equal(got, want) {
		t.Errorf("after orphan removal: %d rows, want %d", len(got), len(want))
	}
	if got := scanRowsOnly(t, l.Quarantine); len(got) != 2 {
		t.Errorf("quarantine: %d rows, want 2", len(got))
	}
	// A reader opening the table anew reads it whole.
	if _, err := main.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("removed %d orphan files: %v", len(deleted), deleted)
}

func TestMaintenanceLocal(t *testing.T) {
	lake := filepath.Join(t.TempDir(), "lake")
	l := openLake(t, Config{Lake: lake})
	old := time.Now().Add(-2 * time.Hour)
	maintenance(t, l, func(tab *Table) ([]string, error) {
		return tab.RemoveOrphans(t.Context(), MinOrphanAge)
	}, func(rel string) {
		if err := os.Chtimes(filepath.Join(lake, filepath.FromSlash(rel)), old, old); err != nil {
			t.Fatal(err)
		}
	}, true)
	if _, err := l.Main.RemoveOrphans(t.Context(), time.Minute); !errors.Is(err, ErrConfig) {
		t.Errorf("orphans younger than %s: %v, want ErrConfig", MinOrphanAge, err)
	}
}
