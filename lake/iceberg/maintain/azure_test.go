package maintain_test

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"

	"github.com/entralake/entralake/internal/azurite"
	"github.com/entralake/entralake/lake/iceberg"
	"github.com/entralake/entralake/lake/iceberg/icebergtest"
	"github.com/entralake/entralake/lake/iceberg/maintain"
)

// Compaction and expiry on an Azure Blob lake (Azurite) with the file
// catalog, which needs a Locker: a writer (another catalog instance, as
// another process would be) commits into the partition being compacted,
// under the same lock; every commit lands once, and readers see before or
// after each replace.
func TestCompactAzure(t *testing.T) {
	srv := azurite.Start(t)
	cl, err := azblob.NewClientFromConnectionString(srv.ConnectionString, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.CreateContainer(t.Context(), "lake", nil); err != nil {
		t.Fatal(err)
	}
	lk := &locker{}
	cfg := iceberg.Config{Lake: srv.URL("lake/entra"), Azure: &iceberg.AzureAuth{ConnectionString: srv.ConnectionString}, Locker: lk}
	l := open(t, cfg)
	if !l.Main.NeedsLocker() {
		t.Fatal("the file catalog on Azure does not ask for a locker")
	}
	ctx := t.Context()
	var inputs []string
	for _, tag := range []string{"a", "b", "c"} {
		inputs = append(inputs, icebergtest.Add(t, l.Main, "SignInLogs", icebergtest.Day(11), 3, tag))
	}
	for _, tag := range []string{"q1", "q2"} {
		icebergtest.Add(t, l.Quarantine, "", time.Time{}, 2, tag)
	}
	writer := open(t, cfg)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for _, tag := range []string{"w1", "w2", "w3"} {
			icebergtest.Add(t, writer.Main, "SignInLogs", icebergtest.Day(11), 2, tag)
		}
	}()
	st, err := maintain.Run(ctx, maintain.Config{Before: icebergtest.Day(12)}, l.Main, l.Quarantine)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if st.FilesOut < 2 || st.Stale != 0 {
		t.Errorf("stats %+v", st)
	}
	want := scan(t, l.Main, 0)
	if len(want) != 3*3+3*2 || len(scan(t, l.Quarantine, 0)) != 4 {
		t.Fatalf("%d rows after compaction, want 15 (and 4 quarantined)", len(want))
	}
	if n := checkReplaces(t, l.Main); n != 1 {
		t.Errorf("%d replace snapshots, want 1", n)
	}
	everySnapshotWhole(t, l.Main, want)
	if lk.calls.Load() == 0 {
		t.Error("no commit took the lock")
	}

	// Expiry deletes the replaced blobs; a new reader reads the table whole.
	time.Sleep(5 * time.Millisecond)
	st, err = maintain.Run(ctx, maintain.Config{Before: icebergtest.Day(12), ExpireOlderThan: time.Millisecond, OrphansOlderThan: 72 * time.Hour}, l.Main, l.Quarantine)
	if err != nil {
		t.Fatal(err)
	}
	if st.Expired == 0 || st.Orphans != 0 {
		t.Errorf("stats %+v: want snapshots expired, and no orphan (blob times cannot be set back)", st)
	}
	for _, rel := range inputs {
		if exists(t, l.Main, rel) {
			t.Errorf("replaced blob %s still there after expiry", rel)
		}
	}
	r := open(t, cfg)
	if got := scan(t, r.Main, 0); !slices.Equal(got, want) {
		t.Errorf("a new reader reads %d rows, want %d", len(got), len(want))
	}
}
