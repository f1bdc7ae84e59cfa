package iceberg

import (
	"path/filepath"
	"slices"
	"testing"
)

// The table itself says which batches it holds: a new process (a new
// catalog instance) finds the committed batch ids in the snapshots'
// summaries; once the snapshots have expired, it finds them in the live
// files' footers (IndexFooters), so expiry loses nothing.
func TestCommittedFromSummariesThenFooters(t *testing.T) {
	ctx := t.Context()
	lake := filepath.Join(t.TempDir(), "lake")
	w := openLake(t, Config{Lake: lake})
	var all []string
	for i, name := range []string{"a", "b", "c"} {
		ids := []string{batchID(name + "1"), batchID(name + "2")}
		all = append(all, ids...)
		f := File{Rel: relFor(t, w.Main, "SignInLogs", dayOf(10+i), "part-"+name+".parquet"), Batches: ids}
		writeFile(t, w.Main, f.Rel, auditRows("SignInLogs", dayOf(10+i), 2, name), ids...)
		if _, err := w.Main.Commit(ctx, []File{f}); err != nil {
			t.Fatal(err)
		}
	}
	never := batchID("never")
	ask := append(slices.Clone(all), never)

	r := openLake(t, Config{Lake: lake}) // another process
	got, err := r.Main.Committed(ctx, ask)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, all) {
		t.Errorf("committed %v, want %v", got, all)
	}
	if got, _ := r.Quarantine.Committed(ctx, all); len(got) != 0 {
		t.Errorf("quarantine holds %v, want none", got)
	}

	// Expire every snapshot but the last: the summaries of a and b go.
	n, err := w.Main.ExpireSnapshots(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("expired %d snapshots, want 2", n)
	}
	fresh := openLake(t, Config{Lake: lake}) // a new state on the table
	if _, err := fresh.Main.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := fresh.Main.Known(ask), all[4:]; !slices.Equal(got, want) {
		t.Errorf("after expiry, from summaries: %v, want %v", got, want)
	}
	// Committed is asked about batches a caller once wrote: a batch no
	// summary names makes it read the footers, so the expired ones are
	// found (without it, a batch redelivered after its snapshot expired
	// would be written twice).
	got, err = fresh.Main.Committed(ctx, ask)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, all) {
		t.Errorf("after expiry, Committed: %v, want %v", got, all)
	}
	// r read the footers when first asked about "never": it still knows
	// every batch.
	if got, _ := r.Main.Committed(ctx, ask); !slices.Equal(got, all) {
		t.Errorf("after expiry, the first reader's Committed: %v, want %v", got, all)
	}
	files, err := fresh.Main.IndexFooters(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if files != 3 {
		t.Errorf("read %d footers, want 3", files)
	}
	// And a commit of those batches again adds nothing.
	dup := File{Rel: relFor(t, fresh.Main, "SignInLogs", dayOf(10), "part-again.parquet"), Batches: all[:2]}
	writeFile(t, fresh.Main, dup.Rel, auditRows("SignInLogs", dayOf(10), 2, "a"), dup.Batches...)
	res, err := fresh.Main.Commit(ctx, []File{dup})
	if err != nil || !res.Duplicate {
		t.Errorf("commit of batches found in footers: %+v, %v; want a duplicate", res, err)
	}
	if rows := scanRowsOnly(t, fresh.Main); len(rows) != 6 {
		t.Errorf("%d rows, want 6", len(rows))
	}
}

// Batch ids take 22 characters each in a summary, and read back whole.
func TestBatchEncoding(t *testing.T) {
	var keys []batchKey
	var ids []string
	for i := range 1000 {
		id := batchID(string(rune('a'+i%26)) + string(rune(i)))
		k, err := parseBatchID(id)
		if err != nil {
			t.Fatal(err)
		}
		keys, ids = append(keys, k), append(ids, id)
	}
	v := encodeBatches(keys)
	if got, want := len(v), 21334; got != want { // ceil(16000*4/3)
		t.Errorf("1000 ids take %d characters, want %d", got, want)
	}
	back := decodeBatches(v)
	if len(back) != 1000 {
		t.Fatalf("%d ids read back", len(back))
	}
	set := map[batchKey]bool{}
	for _, k := range back {
		set[k] = true
	}
	for i, k := range keys {
		if !set[k] {
			t.Fatalf("id %s lost", ids[i])
		}
	}
	for _, bad := range []string{"", "b1", batchID("x")[:31], "ABCDEF0123456789ABCDEF0123456789", "zz" + batchID("x")[2:]} {
		if _, err := parseBatchID(bad); err == nil {
			t.Errorf("batch id %q accepted", bad)
		}
	}
	if decodeBatches("not base64!") != nil || decodeBatches("AAAA") != nil {
		t.Error("a foreign value decoded to batch ids")
	}
}

// Old metadata files are deleted after commits
// (write.metadata.delete-after-commit.enabled): at most
// MetadataVersions+1 stay, and the table still loads.
func TestOldMetadataDeleted(t *testing.T) {
	ctx := t.Context()
	lake := filepath.Join(t.TempDir(), "lake")
	l := openLake(t, Config{Lake: lake, MetadataVersions: 3})
	for i := range 6 {
		name := string(rune('a' + i))
		f := File{Rel: relFor(t, l.Main, "AuditLogs", dayOf(11), "part-"+name+".parquet"), Batches: []string{batchID(name)}}
		writeFile(t, l.Main, f.Rel, auditRows("AuditLogs", dayOf(11), 1, name), f.Batches...)
		if _, err := l.Main.Commit(ctx, []File{f}); err != nil {
			t.Fatal(err)
		}
	}
	m, err := filepath.Glob(filepath.Join(lake, "azure_audit", "metadata", "v*.metadata.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(m) > 4 || len(m) == 0 {
		t.Errorf("%d metadata files kept, want at most 4: %v", len(m), m)
	}
	if rows := scanRowsOnly(t, openLake(t, Config{Lake: lake}).Main); len(rows) != 6 {
		t.Errorf("%d rows, want 6", len(rows))
	}
}
