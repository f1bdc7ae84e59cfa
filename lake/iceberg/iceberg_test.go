package iceberg

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/iceberg-go/table"

	"github.com/entralake/entralake/schema"
)

// The file catalog lays the tables out as <lake>/<table>/{metadata,data}:
// both exist, empty, before any row; with the partition spec, sort order
// and properties of the design; and opening again changes nothing.
func TestOpenCreatesEmptyTables(t *testing.T) {
	lake := filepath.Join(t.TempDir(), "lake")
	l := openLake(t, Config{Lake: lake, ZstdLevel: 5})
	for _, tab := range []*Table{l.Main, l.Quarantine} {
		hint, err := os.ReadFile(filepath.Join(lake, tab.Rel(), "metadata", "version-hint.text"))
		if err != nil {
			t.Fatalf("%s: %v", tab.Name(), err)
		}
		if got, want := tab.Name(), "lake."+tab.Rel(); got != want {
			t.Errorf("name=%s, want %s", got, want)
		}
		if got, want := tab.Location(), filepath.ToSlash(filepath.Join(lake, tab.Rel())); got != want {
			t.Errorf("location=%s, want %s", got, want)
		}
		tbl := tab.Iceberg()
		if tbl.CurrentSnapshot() != nil {
			t.Errorf("%s: a new table has a snapshot", tab.Name())
		}
		rows, _ := scanRows(t, tab)
		if len(rows) != 0 {
			t.Errorf("%s: %d rows in a new table", tab.Name(), len(rows))
		}
		props := tbl.Properties()
		for k, want := range map[string]string{
			"write.parquet.compression-codec":         "zstd",
			"write.parquet.compression-level":         "5",
			table.WriteTargetFileSizeBytesKey:         strconv.Itoa(DefaultTargetFileSize),
			table.ManifestMergeEnabledKey:             "true",
			table.MetadataDeleteAfterCommitEnabledKey: "true",
			table.MetadataPreviousVersionsMaxKey:      strconv.Itoa(DefaultMetadataVersions),
		} {
			if got := props[k]; got != want {
				t.Errorf("%s: %s=%q, want %q", tab.Name(), k, got, want)
			}
		}
		if props[table.DefaultNameMappingKey] == "" {
			t.Errorf("%s: no name mapping", tab.Name())
		}
		if v := tbl.Metadata().Version(); v != 2 {
			t.Errorf("%s: format version %d, want 2", tab.Name(), v)
		}
		t.Logf("%s: version hint %s", tab.Name(), hint)
	}
	spec := l.Main.Iceberg().Spec()
	var fields []string
	for _, f := range spec.Fields() {
		fields = append(fields, f.Name+"="+f.Transform.String())
	}
	if got, want := strings.Join(fields, ","), "category=identity,p_event_time_day=day"; got != want {
		t.Errorf("main spec %s, want %s", got, want)
	}
	if qs := l.Quarantine.Iceberg().Spec(); qs.NumFields() != 0 {
		n := qs.NumFields()
		t.Errorf("quarantine spec has %d fields, want unpartitioned", n)
	}
	so := l.Main.Iceberg().SortOrder()
	evt, _ := l.Main.Iceberg().Schema().FindFieldByName(schema.ColEventTime)
	var sf []table.SortField
	for _, f := range so.Fields() {
		sf = append(sf, f)
	}
	if len(sf) != 1 || sf[0].SourceIDs[0] != evt.ID || sf[0].Direction != table.SortASC {
		t.Errorf("main sort order %v, want p_event_time (id %d) ascending", so, evt.ID)
	}

	before := l.Main.Iceberg().MetadataLocation()
	l2 := openLake(t, Config{Lake: lake})
	if got := l2.Main.Iceberg().MetadataLocation(); got != before {
		t.Errorf("opening again wrote %s (was %s)", got, before)
	}
}

// --partition hour: hour(p_event_time); the partition paths follow the
// spec.
func TestPartitionPath(t *testing.T) {
	at := dayOf(11).Add(16*60*60e9 + 5*60e9)
	for _, c := range []struct {
		hourly bool
		want   string
	}{
		{false, "category=SignInLogs/p_event_time_day=2025-04-11"},
		{true, "category=SignInLogs/p_event_time_hour=2025-04-11-16"},
	} {
		l := openLake(t, Config{Lake: filepath.Join(t.TempDir(), "lake"), Hourly: c.hourly})
		got, err := l.Main.PartitionPath(map[string]any{"category": "SignInLogs", "p_event_time": at})
		if err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Errorf("hourly=%v: %s, want %s", c.hourly, got, c.want)
		}
		if got, want := l.Main.DataFileRel(got, "part-1.parquet"), "azure_audit/data/"+c.want+"/part-1.parquet"; got != want {
			t.Errorf("rel %s, want %s", got, want)
		}
		if _, err := l.Main.PartitionPath(map[string]any{"category": "SignInLogs"}); err == nil {
			t.Error("a missing p_event_time gave a partition path")
		}
		q, err := l.Quarantine.PartitionPath(nil)
		if err != nil || q != "" {
			t.Errorf("quarantine partition %q, %v; want unpartitioned", q, err)
		}
	}
}

// The Arrow schema to write with is ours, in our order and types, with the
// table's field ids on every field, nested ones too.
func TestArrowSchemaFieldIDs(t *testing.T) {
	l := openLake(t, Config{Lake: filepath.Join(t.TempDir(), "lake")})
	for _, tab := range []*Table{l.Main, l.Quarantine} {
		sc := tab.ArrowSchema()
		ice := tab.Iceberg().Schema()
		if sc.NumFields() != tab.ours.NumFields() {
			t.Fatalf("%s: %d columns, ours %d", tab.Name(), sc.NumFields(), tab.ours.NumFields())
		}
		for i, f := range tab.ours.Fields() {
			// TypeEqual ignores field metadata: the ids are the only difference.
			if g := sc.Field(i); g.Name != f.Name || !arrow.TypeEqual(g.Type, f.Type) || g.Nullable != f.Nullable {
				t.Errorf("%s: column %d is %s %s, ours %s %s", tab.Name(), i, g.Name, g.Type, f.Name, f.Type)
			}
		}
		n := 0
		var walk func(path string, f arrow.Field)
		walk = func(path string, f arrow.Field) {
			i := f.Metadata.FindKey("PARQUET:field_id")
			if i < 0 {
				t.Errorf("%s: %s has no field id", tab.Name(), path)
				return
			}
			n++
			want, ok := ice.FindFieldByName(path)
			if !ok || strconv.Itoa(want.ID) != f.Metadata.Values()[i] {
				t.Errorf("%s: %s id %s, table %d", tab.Name(), path, f.Metadata.Values()[i], want.ID)
			}
			switch ft := f.Type.(type) {
			case *arrow.StructType:
				for _, c := range ft.Fields() {
					walk(path+"."+c.Name, c)
				}
			case *arrow.ListType:
				walk(path+".element", ft.ElemField())
			}
		}
		for _, f := range sc.Fields() {
			walk(f.Name, f)
		}
		if n < len(sc.Fields()) {
			t.Errorf("%s: %d ids", tab.Name(), n)
		}
		t.Logf("%s: %d fields with ids", tab.Name(), n)
	}
}

// Files committed in one append read back, through iceberg-go's scan,
// exactly as written: types (timestamps in microseconds, UTC), nested
// structs, lists; the files carry the field ids; the snapshot's summary
// holds the batch ids and the commit id.
func TestCommitReadBack(t *testing.T) {
	ctx := t.Context()
	l := openLake(t, Config{Lake: filepath.Join(t.TempDir(), "lake")})
	sign := auditRows("SignInLogs", dayOf(11), 30, "a")
	audit := auditRows("AuditLogs", dayOf(11), 7, "b")
	sign12 := auditRows("SignInLogs", dayOf(12), 5, "c")
	files := []File{
		{Rel: relFor(t, l.Main, "SignInLogs", dayOf(11), "part-a.parquet"), Batches: []string{batchID("a1"), batchID("a2")}},
		{Rel: relFor(t, l.Main, "AuditLogs", dayOf(11), "part-b.parquet"), Batches: []string{batchID("b1")}},
		{Rel: relFor(t, l.Main, "SignInLogs", dayOf(12), "part-c.parquet"), Batches: []string{batchID("c1")}},
	}
	for i, rows := range []string{sign, audit, sign12} {
		writeFile(t, l.Main, files[i].Rel, rows, files[i].Batches...)
	}
	res, err := l.Main.Commit(ctx, files)
	if err != nil {
		t.Fatal(err)
	}
	if res.Duplicate || res.SnapshotID == 0 || res.Attempts != 1 {
		t.Errorf("result %+v, want a new snapshot in 1 attempt", res)
	}
	got, sc := scanRows(t, l.Main)
	if want := wantRows(t, l.Main.ours, sign, audit, sign12); !slices.Equal(got, want) {
		t.Fatalf("read back %d rows, want %d; first got %s\nwant %s", len(got), len(want), first(got), first(want))
	}
	if !sc.Equal(l.Main.ours) {
		t.Errorf("scan schema differs from ours:\n%s", sc)
	}
	ts, _ := sc.FieldsByName(schema.ColEventTime)
	if tt := ts[0].Type.(*arrow.TimestampType); tt.Unit != arrow.Microsecond || tt.TimeZone != "UTC" {
		t.Errorf("p_event_time is %s", tt)
	}
	ids := footerFieldIDs(t, l.Main, files[0].Rel)
	evt, _ := l.Main.Iceberg().Schema().FindFieldByName(schema.ColEventTime)
	if got, want := ids[schema.ColEventTime], strconv.Itoa(evt.ID); got != want {
		t.Errorf("file's p_event_time field id %q, want %s", got, want)
	}
	snap := l.Main.Iceberg().CurrentSnapshot()
	if got := snap.Summary.Properties["added-data-files"]; got != "3" {
		t.Errorf("added-data-files=%s, want 3", got)
	}
	keys := decodeBatches(snap.Summary.Properties[SummaryBatches])
	if len(keys) != 4 || snap.Summary.Properties[SummaryCommit] == "" {
		t.Errorf("summary %v: want 4 batches and a commit id", snap.Summary.Properties)
	}
	if got := len(snap.Summary.Properties[SummaryBatches]); got != 86 {
		t.Errorf("4 batch ids take %d characters, want 86 (22 a batch)", got)
	}

	// The quarantine table: unpartitioned, binary raw.
	q := quarantineRows(3, "q")
	qrel := relFor(t, l.Quarantine, "", dayOf(11), "part-q.parquet")
	writeFile(t, l.Quarantine, qrel, q, batchID("q1"))
	if _, err := l.Quarantine.Commit(ctx, []File{{Rel: qrel, Batches: []string{batchID("q1")}}}); err != nil {
		t.Fatal(err)
	}
	if got, want := first(scanRowsOnly(t, l.Quarantine)), first(wantRows(t, l.Quarantine.ours, q)); got != want {
		t.Errorf("quarantine row %s, want %s", got, want)
	}
}

func scanRowsOnly(t testing.TB, tab *Table) []string { r, _ := scanRows(t, tab); return r }

func first(s []string) string {
	if len(s) == 0 {
		return "(none)"
	}
	return s[0]
}

// A commit is idempotent: the same files again add nothing; a file whose
// batches are partly in the table is refused whole; a bad file is refused
// and nothing is committed.
func TestCommitIdempotentAndRefusals(t *testing.T) {
	ctx := t.Context()
	l := openLake(t, Config{Lake: filepath.Join(t.TempDir(), "lake")})
	rows := auditRows("SignInLogs", dayOf(11), 4, "a")
	a := File{Rel: relFor(t, l.Main, "SignInLogs", dayOf(11), "part-a.parquet"), Batches: []string{batchID("a1"), batchID("a2")}}
	writeFile(t, l.Main, a.Rel, rows, a.Batches...)
	if _, err := l.Main.Commit(ctx, []File{a}); err != nil {
		t.Fatal(err)
	}
	snaps := len(l.Main.Iceberg().Metadata().Snapshots())

	// The same commit again (a retry after an unknown outcome).
	res, err := l.Main.Commit(ctx, []File{a})
	if err != nil || !res.Duplicate {
		t.Errorf("same commit again: %+v, %v; want a duplicate", res, err)
	}
	// The same batches in another file (a redelivery written again).
	b := File{Rel: relFor(t, l.Main, "SignInLogs", dayOf(11), "part-b.parquet"), Batches: a.Batches}
	writeFile(t, l.Main, b.Rel, rows, b.Batches...)
	if res, err := l.Main.Commit(ctx, []File{b}); err != nil || !res.Duplicate {
		t.Errorf("same batches in a new file: %+v, %v; want a duplicate", res, err)
	}
	// Some batches in the table, some not.
	c := File{Rel: relFor(t, l.Main, "SignInLogs", dayOf(11), "part-c.parquet"), Batches: []string{batchID("a2"), batchID("c1")}}
	writeFile(t, l.Main, c.Rel, rows, c.Batches...)
	if _, err := l.Main.Commit(ctx, []File{c}); !errors.Is(err, ErrBatchesCommitted) || !strings.Contains(err.Error(), batchID("a2")) {
		t.Errorf("partly committed batches: %v, want ErrBatchesCommitted naming %s", err, batchID("a2"))
	}
	// A file of two days: Iceberg cannot give it one partition.
	mixed := File{Rel: relFor(t, l.Main, "SignInLogs", dayOf(11), "part-mixed.parquet"), Batches: []string{batchID("m")}}
	writeFile(t, l.Main, mixed.Rel, auditRows("SignInLogs", dayOf(11), 2, "m")+auditRows("SignInLogs", dayOf(12), 2, "n"), mixed.Batches...)
	if _, err := l.Main.Commit(ctx, []File{mixed}); !errors.Is(err, ErrBadFile) {
		t.Errorf("file of two days: %v, want ErrBadFile", err)
	}
	// A file whose rows are not those of its folder's partition.
	elsewhere := File{Rel: relFor(t, l.Main, "AuditLogs", dayOf(11), "part-elsewhere.parquet"), Batches: []string{batchID("e")}}
	writeFile(t, l.Main, elsewhere.Rel, auditRows("SignInLogs", dayOf(11), 2, "e"), elsewhere.Batches...)
	nullCat := File{Rel: relFor(t, l.Main, "SignInLogs", dayOf(11), "part-nullcat.parquet"), Batches: []string{batchID("n")}}
	writeFile(t, l.Main, nullCat.Rel, strings.ReplaceAll(auditRows("SignInLogs", dayOf(11), 2, "n"), `"category":"SignInLogs",`, ""), nullCat.Batches...)
	for _, f := range []File{elsewhere, nullCat} {
		if _, err := l.Main.Commit(ctx, []File{f}); !errors.Is(err, ErrBadFile) || !strings.Contains(err.Error(), "its rows are in partition") {
			t.Errorf("commit %s: %v, want ErrBadFile saying the rows' partition", f.Rel, err)
		}
	}
	for _, bad := range []File{
		{Rel: "azure_audit/metadata/x.parquet"},
		{Rel: "azure_audit/data/../../azure_audit_quarantine/data/x.parquet"},
		{Rel: "azure_audit_quarantine/data/x.parquet"},
	} {
		if _, err := l.Main.Commit(ctx, []File{bad}); !errors.Is(err, ErrBadFile) {
			t.Errorf("commit %s: %v, want ErrBadFile", bad.Rel, err)
		}
	}
	if _, err := l.Main.Commit(ctx, []File{{Rel: a.Rel, Batches: []string{"b1"}}}); !errors.Is(err, ErrBadBatchID) {
		t.Errorf("batch id b1: %v, want ErrBadBatchID", err)
	}
	if got := len(l.Main.Iceberg().Metadata().Snapshots()); got != snaps {
		t.Errorf("%d snapshots after refused commits, want %d", got, snaps)
	}
	if got, want := len(scanRowsOnly(t, l.Main)), 4; got != want {
		t.Errorf("%d rows, want %d", got, want)
	}
}
