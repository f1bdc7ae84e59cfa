package iceberg

import (
	"path/filepath"
	"testing"
	"time"
)

func TestStatus(t *testing.T) {
	l := openLake(t, Config{Lake: filepath.Join(t.TempDir(), "lake")})
	ctx := t.Context()
	st, err := l.Main.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.SnapshotID != 0 || st.Rows != 0 || st.Table != "lake.azure_audit" || st.Metadata == "" {
		t.Errorf("empty table: %+v", st)
	}
	before := time.Now().Add(-time.Second)
	var size int64
	for i, name := range []string{"a", "b"} {
		f := File{Rel: relFor(t, l.Main, "SignInLogs", dayOf(11+i), "part-"+name+".parquet"), Batches: []string{batchID(name)}}
		writeFile(t, l.Main, f.Rel, auditRows("SignInLogs", dayOf(11+i), 3+i, name), f.Batches...)
		if _, err := l.Main.Commit(ctx, []File{f}); err != nil {
			t.Fatal(err)
		}
		fi, _ := tableFS(t, l.Main).Open(l.Main.FileLocation(f.Rel))
		info, _ := fi.Stat()
		fi.Close()
		size += info.Size()
	}
	st, err = l.Main.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	snap := l.Main.Iceberg().CurrentSnapshot()
	if st.SnapshotID != snap.SnapshotID || st.Files != 2 || st.Rows != 7 || st.Bytes != size || st.Snapshots != 2 || st.Operation != "append" ||
		st.LastCommit.Before(before) || st.Metadata != l.Main.Iceberg().MetadataLocation() {
		t.Errorf("status %+v (snapshot %d, %d bytes)", st, snap.SnapshotID, size)
	}
}
