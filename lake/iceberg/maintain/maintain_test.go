package maintain_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/entralake/entralake/internal/pqmerge"
	"github.com/entralake/entralake/lake/iceberg"
	"github.com/entralake/entralake/lake/iceberg/icebergtest"
	"github.com/entralake/entralake/lake/iceberg/maintain"
)

const (
	signIns11 = "category=SignInLogs/p_event_time_day=2025-04-11"
	audit11   = "category=AuditLogs/p_event_time_day=2025-04-11"
	signIns12 = "category=SignInLogs/p_event_time_day=2025-04-12"
)

// fill commits small files: three in SignInLogs on the 11th, one in
// AuditLogs on the 11th, two in SignInLogs on the 12th, and three in the
// quarantine table. It returns the main table's rows and the files of
// SignInLogs on the 11th.
func fill(t *testing.T, l *iceberg.Lake) ([]string, []string) {
	var merged []string
	for _, tag := range []string{"a", "b", "c"} {
		merged = append(merged, icebergtest.Add(t, l.Main, "SignInLogs", icebergtest.Day(11), 4, tag))
	}
	icebergtest.Add(t, l.Main, "AuditLogs", icebergtest.Day(11), 2, "d")
	icebergtest.Add(t, l.Main, "SignInLogs", icebergtest.Day(12), 3, "e")
	icebergtest.Add(t, l.Main, "SignInLogs", icebergtest.Day(12), 3, "f")
	for _, tag := range []string{"q1", "q2", "q3"} {
		icebergtest.Add(t, l.Quarantine, "", time.Time{}, 2, tag)
	}
	return scan(t, l.Main, 0), merged
}

// checkReplaces checks that each replace snapshot reads exactly what its
// parent read: a reader sees the rows before or after, never both, never
// neither.
func checkReplaces(t *testing.T, tab *iceberg.Table) int {
	t.Helper()
	tbl, err := tab.Refresh(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, s := range tbl.Metadata().Snapshots() {
		if s.Summary.Operation != "replace" || s.ParentSnapshotID == nil {
			continue
		}
		n++
		if got, parent := scan(t, tab, s.SnapshotID), scan(t, tab, *s.ParentSnapshotID); !slices.Equal(got, parent) {
			t.Errorf("replace snapshot %d reads %d rows, its parent %d", s.SnapshotID, len(got), len(parent))
		}
	}
	return n
}

func TestCompactLocal(t *testing.T) {
	l, dir := localLake(t)
	ctx := t.Context()
	want, inputs := fill(t, l)
	wantQ := scan(t, l.Quarantine, 0)

	st, err := maintain.Run(ctx, maintain.Config{Before: icebergtest.Day(12)}, l.Main, l.Quarantine)
	if err != nil {
		t.Fatal(err)
	}
	// SignInLogs of the 11th (3 files) and the quarantine (3 files) are
	// merged; AuditLogs has one file; the 12th is not closed.
	if st.Partitions != 2 || st.FilesIn != 6 || st.FilesOut != 2 || st.Rows != 3*4+3*2 || st.BytesOut <= 0 {
		t.Errorf("stats %+v", st)
	}
	byPart := files(t, l.Main)
	if len(byPart[signIns11]) != 1 || len(byPart[audit11]) != 1 || len(byPart[signIns12]) != 2 {
		t.Errorf("files after compaction: %v", byPart)
	}
	if got := scan(t, l.Main, 0); !slices.Equal(got, want) {
		t.Errorf("main table: %d rows after compaction, want %d", len(got), len(want))
	}
	if got := scan(t, l.Quarantine, 0); !slices.Equal(got, wantQ) {
		t.Errorf("quarantine table: %d rows after compaction, want %d", len(got), len(wantQ))
	}
	if n := checkReplaces(t, l.Main) + checkReplaces(t, l.Quarantine); n != 2 {
		t.Errorf("%d replace snapshots, want 2", n)
	}
	everySnapshotWhole(t, l.Main, want)

	// The merged file: in its partition, the table's field ids, the union
	// of the batch ids, the writer's settings.
	m := byPart[signIns11][0]
	if !strings.HasPrefix(m.Rel, "azure_audit/data/"+signIns11+"/part-") || m.Rows != 12 {
		t.Errorf("merged file %+v", m)
	}
	f, err := os.Open(filepath.Join(dir, m.Rel))
	if err != nil {
		t.Fatal(err)
	}
	info, err := pqmerge.Read(f, nil)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	ids := strings.Split(info.Meta[iceberg.FooterBatches], ",")
	slices.Sort(ids)
	if wantIDs := []string{icebergtest.BatchID("a"), icebergtest.BatchID("b"), icebergtest.BatchID("c")}; !slices.Equal(ids, sortedCopy(wantIDs)) {
		t.Errorf("merged file's batches %v, want %v", ids, wantIDs)
	}
	if fid, ok := info.Schema.Field(info.Schema.FieldIndices("p_event_time")[0]).Metadata.GetValue("PARQUET:field_id"); !ok || fid == "" {
		t.Error("merged file has no field ids")
	}
	if info.Plain {
		t.Error("merged file lost the writer's DELTA encodings")
	}

	// Nothing left to do: a second run changes nothing.
	if st, err := maintain.Run(ctx, maintain.Config{Before: icebergtest.Day(12)}, l.Main, l.Quarantine); err != nil || st.FilesIn != 0 {
		t.Errorf("second run: %+v, %v", st, err)
	}

	// Expiry removes the snapshots before the replace and, with them, the
	// replaced files; batches stay known through the merged footer.
	time.Sleep(5 * time.Millisecond) // a snapshot older than the next instant
	st, err = maintain.Run(ctx, maintain.Config{Before: icebergtest.Day(12), ExpireOlderThan: time.Millisecond}, l.Main, l.Quarantine)
	if err != nil {
		t.Fatal(err)
	}
	if st.Expired == 0 {
		t.Errorf("expired nothing: %+v", st)
	}
	for _, rel := range inputs {
		if exists(t, l.Main, rel) {
			t.Errorf("replaced file %s still there after expiry", rel)
		}
	}
	if got := scan(t, l.Main, 0); !slices.Equal(got, want) {
		t.Errorf("after expiry: %d rows, want %d", len(got), len(want))
	}
	if _, err := l.Main.IndexFooters(ctx); err != nil {
		t.Fatal(err)
	}
	if got, err := l.Main.Committed(ctx, []string{icebergtest.BatchID("a"), icebergtest.BatchID("c"), icebergtest.BatchID("e")}); err != nil || len(got) != 3 {
		t.Errorf("committed after compaction and expiry: %v, %v", got, err)
	}

	// Orphans: a file a crashed writer left 4 days ago goes, a young one
	// (a commit in flight) stays, and so does every live file.
	old := icebergtest.Write(t, l.Main, "SignInLogs", icebergtest.Day(13), 1, "crashed")
	young := icebergtest.Write(t, l.Main, "SignInLogs", icebergtest.Day(13), 1, "inflight")
	then := time.Now().Add(-96 * time.Hour)
	if err := os.Chtimes(filepath.Join(dir, old), then, then); err != nil {
		t.Fatal(err)
	}
	st, err = maintain.Run(ctx, maintain.Config{Before: icebergtest.Day(12), OrphansOlderThan: 72 * time.Hour}, l.Main, l.Quarantine)
	if err != nil {
		t.Fatal(err)
	}
	if exists(t, l.Main, old) || !exists(t, l.Main, young) || st.Orphans != 1 {
		t.Errorf("orphans: old there %t, young there %t, stats %+v", exists(t, l.Main, old), exists(t, l.Main, young), st)
	}
	for _, fs := range files(t, l.Main) {
		for _, f := range fs {
			if !exists(t, l.Main, f.Rel) {
				t.Errorf("live file %s removed", f.Rel)
			}
		}
	}
	if got := scan(t, l.Main, 0); !slices.Equal(got, want) {
		t.Errorf("after orphan removal: %d rows, want %d", len(got), len(want))
	}
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}

// Hourly tables: a partition is closed when its hour is.
func TestCompactHourly(t *testing.T) {
	l := open(t, iceberg.Config{Lake: filepath.Join(t.TempDir(), "lake"), Hourly: true})
	icebergtest.Add(t, l.Main, "SignInLogs", icebergtest.Day(11).Add(10*time.Hour), 2, "a")
	icebergtest.Add(t, l.Main, "SignInLogs", icebergtest.Day(11).Add(10*time.Hour), 2, "b")
	icebergtest.Add(t, l.Main, "SignInLogs", icebergtest.Day(11).Add(11*time.Hour), 2, "c")
	icebergtest.Add(t, l.Main, "SignInLogs", icebergtest.Day(11).Add(11*time.Hour), 2, "d")
	st, err := maintain.Run(t.Context(), maintain.Config{Before: icebergtest.Day(11).Add(11 * time.Hour)}, l.Main)
	if err != nil {
		t.Fatal(err)
	}
	byPart := files(t, l.Main)
	if st.FilesIn != 2 || len(byPart["category=SignInLogs/p_event_time_hour=2025-04-11-10"]) != 1 || len(byPart["category=SignInLogs/p_event_time_hour=2025-04-11-11"]) != 2 {
		t.Errorf("stats %+v, files %v", st, byPart)
	}
}

// Files at or above the target size stay; the others are merged while
// their sum stays at or below it.
func TestCompactTargetSize(t *testing.T) {
	l, _ := localLake(t)
	for _, tag := range []string{"a", "b", "c", "d", "e"} {
		icebergtest.Add(t, l.Main, "SignInLogs", icebergtest.Day(11), 3, tag)
	}
	fs := files(t, l.Main)[signIns11]
	target := fs[0].Size*2 + fs[0].Size/2 // about two files a group
	want := scan(t, l.Main, 0)
	st, err := maintain.Run(t.Context(), maintain.Config{TargetSize: target}, l.Main)
	if err != nil {
		t.Fatal(err)
	}
	if st.FilesOut < 2 || st.FilesIn < 4 {
		t.Errorf("stats %+v with target %d (files of about %d bytes)", st, target, fs[0].Size)
	}
	if got := scan(t, l.Main, 0); !slices.Equal(got, want) {
		t.Errorf("%d rows, want %d", len(got), len(want))
	}
}

// Another compaction replaces the files first: this one's replace is
// stale, commits nothing, and deletes its merged file.
func TestCompactStale(t *testing.T) {
	l, dir := localLake(t)
	ctx := t.Context()
	for _, tag := range []string{"a", "b"} {
		icebergtest.Add(t, l.Main, "SignInLogs", icebergtest.Day(11), 3, tag)
	}
	want := scan(t, l.Main, 0)
	var inner maintain.Stats
	hooked := false
	st, err := maintain.Run(ctx, maintain.Config{Hook: func(step maintain.Step, table, part string) error {
		if hooked {
			return nil
		}
		hooked = true
		var err error
		inner, err = maintain.Run(ctx, maintain.Config{}, l.Main)
		return err
	}}, l.Main)
	if err != nil {
		t.Fatal(err)
	}
	if inner.FilesIn != 2 || st.Stale != 1 || st.FilesIn != 0 {
		t.Errorf("first compaction %+v, second %+v", inner, st)
	}
	if got := scan(t, l.Main, 0); !slices.Equal(got, want) {
		t.Errorf("%d rows, want %d", len(got), len(want))
	}
	// The partition folder holds the two inputs (until expiry) and one
	// merged file: the stale merged file is gone.
	ents, err := os.ReadDir(filepath.Join(dir, "azure_audit", "data", filepath.FromSlash(signIns11)))
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 3 {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("partition folder holds %v, want 2 inputs and 1 merged file", names)
	}
}

// A writer commits into the partition while it is compacted: the replace
// is built again on the new state, and the writer's file stays.
func TestCompactWhileWriting(t *testing.T) {
	l, _ := localLake(t)
	ctx := t.Context()
	for _, tag := range []string{"a", "b"} {
		icebergtest.Add(t, l.Main, "SignInLogs", icebergtest.Day(11), 3, tag)
	}
	late := ""
	st, err := maintain.Run(ctx, maintain.Config{Hook: func(maintain.Step, string, string) error {
		if late == "" {
			late = icebergtest.Add(t, l.Main, "SignInLogs", icebergtest.Day(11), 3, "late")
		}
		return nil
	}}, l.Main)
	if err != nil {
		t.Fatal(err)
	}
	if st.FilesIn != 2 {
		t.Errorf("stats %+v", st)
	}
	fs := files(t, l.Main)[signIns11]
	if len(fs) != 2 || !slices.ContainsFunc(fs, func(f iceberg.FileInfo) bool { return f.Rel == late }) {
		t.Errorf("files %v, want the merged file and the late one", fs)
	}
	if got := len(scan(t, l.Main, 0)); got != 9 {
		t.Errorf("%d rows, want 9", got)
	}
	checkReplaces(t, l.Main)
}

// A crash between the merge and the commit leaves the table as it was
// and an orphan, which the next run past its age removes; the next run
// compacts again.
func TestCompactCrash(t *testing.T) {
	l, dir := localLake(t)
	ctx := t.Context()
	for _, tag := range []string{"a", "b"} {
		icebergtest.Add(t, l.Main, "SignInLogs", icebergtest.Day(11), 3, tag)
	}
	want := scan(t, l.Main, 0)
	crash := errors.New("crash")
	_, err := maintain.Run(ctx, maintain.Config{Hook: func(maintain.Step, string, string) error { return crash }}, l.Main)
	if !errors.Is(err, crash) {
		t.Fatalf("run: %v", err)
	}
	if got := scan(t, l.Main, 0); !slices.Equal(got, want) || len(files(t, l.Main)[signIns11]) != 2 {
		t.Fatal("a crash before the commit changed the table")
	}
	folder := filepath.Join(dir, "azure_audit", "data", filepath.FromSlash(signIns11))
	ents, _ := os.ReadDir(folder)
	if len(ents) != 3 {
		t.Fatalf("%d files after the crash, want 2 and the merged orphan", len(ents))
	}
	then := time.Now().Add(-96 * time.Hour)
	for _, e := range ents {
		if err := os.Chtimes(filepath.Join(folder, e.Name()), then, then); err != nil {
			t.Fatal(err)
		}
	}
	st, err := maintain.Run(ctx, maintain.Config{OrphansOlderThan: 72 * time.Hour}, l.Main)
	if err != nil {
		t.Fatal(err)
	}
	// The two inputs are still named by an older snapshot: only the
	// orphan goes.
	if st.FilesIn != 2 || st.Orphans != 1 {
		t.Errorf("stats %+v", st)
	}
	if got := scan(t, l.Main, 0); !slices.Equal(got, want) {
		t.Errorf("%d rows, want %d", len(got), len(want))
	}
}

func TestConfigRefused(t *testing.T) {
	l, _ := localLake(t)
	for _, cfg := range []maintain.Config{{OrphansOlderThan: 30 * time.Minute}, {ExpireOlderThan: -time.Hour}} {
		if _, err := maintain.Run(t.Context(), cfg, l.Main); !errors.Is(err, maintain.ErrConfig) {
			t.Errorf("%+v: %v, want ErrConfig", cfg, err)
		}
	}
}
