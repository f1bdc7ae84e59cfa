package iceberg

import (
	"errors"
	"os"
	"testing"

	"github.com/entralake/entralake/internal/objtest"
)

// TestS3Lake: the tables on S3 (versitygw) through the file catalog, with
// the AWS chain's credentials: created, committed to, read back through a
// new catalog instance; the file catalog asks for a Locker there.
func TestS3Lake(t *testing.T) {
	srv := objtest.StartS3(t)
	srv.Env(t)
	srv.Bucket(t, "lakes")
	lake := srv.URL("lakes/entra/lake")
	ctx := t.Context()
	l := openLake(t, Config{Lake: lake})
	if got, want := l.Main.Location(), "s3://lakes/entra/lake/azure_audit"; got != want {
		t.Errorf("location %s, want %s", got, want)
	}
	if !l.Main.NeedsLocker() {
		t.Error("the file catalog on S3 does not ask for a locker")
	}
	rows := auditRows("SignInLogs", dayOf(11), 3, "s3")
	f := File{Rel: relFor(t, l.Main, "SignInLogs", dayOf(11), "part-s3.parquet"), Batches: []string{batchID("s3")}}
	writeFile(t, l.Main, f.Rel, rows, f.Batches...)
	if _, err := l.Main.Commit(ctx, []File{f}); err != nil {
		t.Fatal(err)
	}
	r := openLake(t, Config{Lake: lake})
	if got := scanRowsOnly(t, r.Main); len(got) != 3 {
		t.Errorf("read back %d rows, want 3", len(got))
	}
	if got, err := r.Main.Committed(ctx, []string{batchID("s3")}); err != nil || len(got) != 1 {
		t.Errorf("committed %v, %v", got, err)
	}
}

// TestObjectStoreBadLakes: what the Iceberg tables cannot use on an object
// store is refused with ErrConfig: GCS, an S3 parameter iceberg-go has no
// property for, an S3 lake without a region.
func TestObjectStoreBadLakes(t *testing.T) {
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	t.Setenv("AWS_CONFIG_FILE", os.DevNull)
	for _, lake := range []string{"gs://bucket/lake", "s3://bucket/lake?profile=p", "s3://bucket/lake"} {
		if _, err := Open(t.Context(), Config{Lake: lake, LogType: auditType(t)}); !errors.Is(err, ErrConfig) {
			t.Errorf("Open(%s): %v, want ErrConfig", lake, err)
		}
	}
}
