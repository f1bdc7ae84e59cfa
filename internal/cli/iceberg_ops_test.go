package cli

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/entralake/entralake/internal/azurite"
	"github.com/entralake/entralake/lake/iceberg"
	"github.com/entralake/entralake/lake/iceberg/icebergtest"
	"github.com/entralake/entralake/schema"
	"github.com/entralake/entralake/workers"
)

// entralake runs the command line and returns its exit code and output.
func entralake(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(args, &out, &errb)
	return code, out.String(), errb.String()
}

// smallIcebergLake makes an Iceberg lake with small files: three in
// SignInLogs on 2025-04-11, two in the quarantine table.
func smallIcebergLake(t *testing.T) (string, *iceberg.Lake) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "lake")
	lt, err := schema.Load("Azure.Audit")
	if err != nil {
		t.Fatal(err)
	}
	l, err := iceberg.Open(t.Context(), iceberg.Config{Lake: dir, LogType: lt})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	for _, tag := range []string{"a", "b", "c"} {
		icebergtest.Add(t, l.Main, "SignInLogs", icebergtest.Day(11), 4, tag)
	}
	for _, tag := range []string{"q1", "q2"} {
		icebergtest.Add(t, l.Quarantine, "", icebergtest.Day(11), 1, tag)
	}
	return dir, l
}

// compact, status and ddl in Iceberg mode, through the command line.
func TestIcebergCommands(t *testing.T) {
	dir, l := smallIcebergLake(t)
	t.Setenv("ENTRALAKE_TABLE_FORMAT", "iceberg")

	code, out, errs := entralake(t, "compact", "--lake", dir, "--before", "2025-04-12T00", "--log-level", "warn")
	if code != 0 {
		t.Fatalf("compact: exit %d: %s", code, errs)
	}
	if !strings.Contains(out, "5 files") || !strings.Contains(out, "-> 2 files") || !strings.Contains(out, "14 rows") {
		t.Errorf("compact printed %q", out)
	}
	files, err := l.Main.Files(t.Context())
	if err != nil || len(files) != 1 {
		t.Errorf("files after compact: %v, %v", files, err)
	}

	code, out, errs = entralake(t, "status", "--data-dir", t.TempDir(), "--lake", dir, "--json", "--log-level", "warn")
	if code != 0 {
		t.Fatalf("status: exit %d: %s", code, errs)
	}
	var st Status
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatal(err)
	}
	if len(st.Tables) != 2 || st.Tables[0].Rows != 12 || st.Tables[0].Files != 1 || st.Tables[0].Operation != "replace" || st.Tables[1].Rows != 2 {
		t.Errorf("status tables %+v", st.Tables)
	}
	if snap := l.Main.Iceberg(); st.Tables[0].SnapshotID == 0 {
		t.Errorf("no snapshot id (table at %s)", snap.MetadataLocation())
	}

	code, out, errs = entralake(t, "ddl", "--engine", "duckdb", "--lake", dir)
	if code != 0 || !strings.Contains(out, "iceberg_scan('"+filepath.ToSlash(dir)+"/azure_audit')") {
		t.Errorf("ddl: exit %d: %s%s", code, out, errs)
	}
	code, out, _ = entralake(t, "ddl", "--engine", "duckdb", "--lake", dir, "--snapshot-files")
	if code != 0 || strings.Count(out, ".parquet'") != 2 {
		t.Errorf("ddl --snapshot-files: exit %d: %s", code, out)
	}
}

// Flags that cannot work are refused with a usage error.
func TestIcebergFlagsRefused(t *testing.T) {
	dir, _ := smallIcebergLake(t)
	for _, args := range [][]string{
		{"compact", "--table-format", "iceberg", "--lake", dir, "--remove-orphans-older-than", "30m"},
		{"ddl", "--table-format", "iceberg", "--engine", "trino", "--lake", dir, "--snapshot-files"},
		{"ddl", "--table-format", "iceberg", "--engine", "duckdb", "--lake", dir, "--table", "x.y"},
		{"ddl", "--engine", "duckdb", "--lake", dir, "--snapshot-files"},
	} {
		code, _, errs := entralake(t, args...)
		if code != ExitUsage || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
			t.Errorf("%v: exit %d, %q; want a one-line usage error", args, code, errs)
		}
	}
	if code, _, errs := entralake(t, "ddl", "--table-format", "iceberg", "--engine", "athena", "--lake", dir); code != 1 || !strings.Contains(errs, "Amazon S3 only") {
		t.Errorf("athena on a local lake: exit %d, %q", code, errs)
	}
}

// compact on an Azure lake in the file catalog commits under the
// writers' lock on their NATS server (here --nats), and merges.
func TestIcebergCompactAzure(t *testing.T) {
	az := azurite.Start(t)
	t.Setenv("AZURE_STORAGE_CONNECTION_STRING", az.ConnectionString)
	cl, err := azblob.NewClientFromConnectionString(az.ConnectionString, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.CreateContainer(t.Context(), "lake", nil); err != nil {
		t.Fatal(err)
	}
	lake := az.URL("lake") + "/entra"
	lt, err := schema.Load("Azure.Audit")
	if err != nil {
		t.Fatal(err)
	}
	l, err := iceberg.Open(t.Context(), iceberg.Config{Lake: lake, LogType: lt})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for _, tag := range []string{"a", "b"} {
		icebergtest.Add(t, l.Main, "SignInLogs", icebergtest.Day(11), 3, tag)
	}
	url, js := startJetStream(t, QueueFlags{})
	code, out, errs := entralake(t, "compact", "--table-format", "iceberg", "--lake", lake, "--nats", url, "--before", "2025-04-12T00", "--log-level", "warn")
	if code != 0 || !strings.Contains(out, "2 files") || !strings.Contains(out, "-> 1 files") {
		t.Fatalf("compact: exit %d: %s%s", code, out, errs)
	}
	if _, err := js.KeyValue(t.Context(), workers.BucketLocks); err != nil {
		t.Errorf("compact took no lock on the NATS server: %v", err)
	}
	files, err := l.Main.Files(t.Context())
	if err != nil || len(files) != 1 || files[0].Rows != 6 {
		t.Errorf("files after compact: %+v, %v", files, err)
	}
}
