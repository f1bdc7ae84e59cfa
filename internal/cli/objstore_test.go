package cli

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/entralake/entralake/internal/objtest"
)

// s3Files lists the files of bucket (versitygw's posix backend keeps
// object k as the file <Dir>/<bucket>/k), without the server's own
// folders, as slash-separated keys.
func s3Files(t testing.TB, srv *objtest.S3, bucket string) []string {
	t.Helper()
	root := filepath.Join(srv.Dir, bucket)
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && strings.HasPrefix(d.Name(), ".sgw") {
			return fs.SkipDir
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(root, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// mainOut runs the command line and returns its exit code, stdout and
// stderr.
func mainOut(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := Main(args, &out, &errb)
	return code, out.String(), errb.String()
}

// TestRunOnceS3 runs `run --once` on testdata/export into a lake on S3
// (versitygw), under a folder: the rows are those a local lake gets,
// nothing but finished Parquet files is under the tables, and a second
// run adds nothing.
func TestRunOnceS3(t *testing.T) {
	srv := objtest.StartS3(t)
	srv.Env(t)
	srv.Bucket(t, "lake")
	local := t.TempDir()
	if code, _, errs := mainOut("run", "--source", testdataExport, "--lake", local, "--data-dir", t.TempDir(), "--once", "--log-level", "warn"); code != 0 {
		t.Fatalf("local run: exit %d: %s", code, errs)
	}
	store := t.TempDir()
	args := []string{"run", "--source", testdataExport, "--lake", srv.URL("lake/entra/v1"), "--data-dir", store, "--once", "--log-level", "warn"}
	code, out, errs := mainOut(args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	t.Log(strings.TrimSpace(out))
	files := s3Files(t, srv, "lake")
	for _, f := range files {
		// Besides the tables: the marker, and the empty files of DuckDB's
		// views in folders of their own (<table>.empty/).
		ok := f == "entra/v1/"+lakeMarker || strings.Contains(f, ".empty/") && strings.HasSuffix(f, "/empty.parquet") ||
			(strings.HasPrefix(f, "entra/v1/azure_audit/") || strings.HasPrefix(f, "entra/v1/azure_audit_quarantine/")) &&
				strings.HasSuffix(f, ".parquet") && !strings.HasPrefix(filepath.Base(f), ".")
		if !ok {
			t.Errorf("unexpected object in the bucket: %s", f)
		}
	}
	root := filepath.Join(srv.Dir, "lake", "entra", "v1")
	for _, table := range []string{"azure_audit", "azure_audit_quarantine"} {
		got, want := lakeRows(t, root, table), lakeRows(t, local, table)
		if len(got) == 0 || len(got) != len(want) {
			t.Fatalf("%s: %d rows in S3, %d in a local lake", table, len(got), len(want))
		}
		ids := map[string]bool{}
		for _, r := range want {
			ids[r.id] = true
		}
		for _, r := range got {
			if !ids[r.id] {
				t.Fatalf("%s: row %s is not in the local lake", table, r.id)
			}
			delete(ids, r.id)
		}
	}
	// Again on the same state: nothing new is read, nothing written.
	before := map[string][]byte{}
	for _, f := range files {
		before[f], _ = os.ReadFile(filepath.Join(srv.Dir, "lake", f))
	}
	if code, _, errs := mainOut(args...); code != 0 {
		t.Fatalf("second run: exit %d: %s", code, errs)
	}
	after := s3Files(t, srv, "lake")
	if !slices.Equal(after, files) {
		t.Fatalf("second run changed the lake: %d objects before, %d after", len(files), len(after))
	}
	for _, f := range after {
		if data, _ := os.ReadFile(filepath.Join(srv.Dir, "lake", f)); !bytes.Equal(data, before[f]) {
			t.Errorf("second run rewrote %s", f)
		}
	}
}

// TestObjectLakeUnusable: an S3 lake that can never be used (a missing
// bucket, a wrong secret, an unknown access key) or a GCS lake without
// credentials ends `run --once` at start with exit 1 and one line naming
// what failed, without a secret, and nothing is written.
func TestObjectLakeUnusable(t *testing.T) {
	srv := objtest.StartS3(t)
	srv.Env(t)
	srv.Bucket(t, "lake")
	for _, tc := range []struct {
		name, lake string
		env        []string
		mention    []string
	}{
		{"missing bucket", srv.URL("nobucket/entra"), nil, []string{"s3://nobucket/entra/", "NoSuchBucket", "the bucket does not exist"}},
		{"wrong secret", srv.URL("lake/entra"), []string{"AWS_SECRET_ACCESS_KEY", "wrong-secret"}, []string{"s3://lake/entra/", "403 SignatureDoesNotMatch", "credentials: the AWS chain"}},
		{"unknown key", srv.URL("lake/entra"), []string{"AWS_ACCESS_KEY_ID", "nobody"}, []string{"s3://lake/entra/", "credentials: the AWS chain"}},
		{"no credentials", srv.URL("lake/entra"), []string{"AWS_ACCESS_KEY_ID", ""}, []string{"s3://lake/entra/"}},
		{"no GCS credentials", "gs://lake/entra", []string{"GOOGLE_APPLICATION_CREDENTIALS", filepath.Join(t.TempDir(), "none.json")}, []string{"gs://lake/entra/"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.env != nil {
				t.Setenv(tc.env[0], tc.env[1])
			}
			store := filepath.Join(t.TempDir(), "state")
			code, out, errs := mainOut("run", "--source", testdataExport, "--lake", tc.lake, "--data-dir", store, "--once", "--log-level", "error")
			if code != ExitFailure {
				t.Fatalf("exit %d, want %d; stdout %q stderr:\n%s", code, ExitFailure, out, errs)
			}
			lines := strings.Split(strings.TrimSpace(errs), "\n")
			line := lines[len(lines)-1]

			if len(lines) != 1 {
				t.Errorf("stderr has %d lines, want 1:\n%s", len(lines), errs)
			}
			for _, want := range tc.mention {
				if !strings.Contains(line, want) {
					t.Errorf("error %q does not mention %q", line, want)
				}
			}
			if strings.Contains(errs, objtest.SecretKey) || strings.Contains(errs, "wrong-secret") {
				t.Errorf("stderr holds a secret: %s", errs)
			}
			if files := s3Files(t, srv, "lake"); len(files) != 0 {
				t.Errorf("written into the bucket: %v", files)
			}
			if _, err := os.Stat(filepath.Join(srv.Dir, "nobucket")); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("bucket created: %v", err)
			}
		})
	}
}

// TestCompactS3 compacts a lake on S3 written in small files: the rows
// stay the same, the partitions hold fewer files, no journal or lock is
// left, and a second run of the same state afterwards changes nothing.
// (That the ledger points at the merged files: stages/compact's
// TestCompactObjectStore.)
func TestCompactS3(t *testing.T) {
	srv := objtest.StartS3(t)
	srv.Env(t)
	srv.Bucket(t, "lake")
	store, lake := t.TempDir(), srv.URL("lake/entra")
	args := []string{"run", "--source", testdataExport, "--lake", lake, "--data-dir", store, "--once", "--log-level", "warn", "--roll-rows", "2"}
	if code, _, errs := mainOut(args...); code != 0 {
		t.Fatalf("run: exit %d: %s", code, errs)
	}
	root := filepath.Join(srv.Dir, "lake", "entra")
	before := s3Files(t, srv, "lake")
	rowsBefore := lakeRows(t, root, "azure_audit")
	code, out, errs := mainOut("compact", "--lake", lake, "--data-dir", store, "--log-level", "warn")
	if code != 0 {
		t.Fatalf("compact: exit %d: %s", code, errs)
	}
	t.Log(strings.TrimSpace(out))
	after := s3Files(t, srv, "lake")
	if len(after) >= len(before) {
		t.Fatalf("%d objects before compaction, %d after", len(before), len(after))
	}
	for _, f := range after {
		if strings.Contains(f, ".compact/") {
			t.Errorf("left behind: %s", f)
		}
	}
	rowsAfter := lakeRows(t, root, "azure_audit")
	ids := func(rows []row) []string {
		var s []string
		for _, r := range rows {
			s = append(s, r.id)
		}
		slices.Sort(s)
		return s
	}
	if !slices.Equal(ids(rowsAfter), ids(rowsBefore)) {
		t.Fatalf("rows changed: %d before, %d after", len(rowsBefore), len(rowsAfter))
	}
	if code, _, errs := mainOut(args...); code != 0 {
		t.Fatalf("run after compaction: exit %d: %s", code, errs)
	}
	if again := s3Files(t, srv, "lake"); !slices.Equal(again, after) {
		t.Fatalf("the run after compaction changed the lake: %d objects, %d before", len(again), len(after))
	}
}

// TestDdlS3Lake: ddl for Athena and Trino takes the writer's --lake URL
// of an S3 lake and prints the tables' locations in it (Athena's
// LOCATION 's3://bucket/folder/<table>/', Trino's external_location
// without the last '/'), without the writer's query (region, endpoint).
func TestDdlS3Lake(t *testing.T) {
	for engine, end := range map[string]string{"athena": "/'", "trino": "'"} {
		code, out, errs := mainOut("ddl", "--engine", engine, "--lake", "s3://my-bucket/entra/lake/?region=eu-west-1&endpoint=http://127.0.0.1:9000&use_path_style=true")
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", engine, code, errs)
		}
		for _, want := range []string{"'s3://my-bucket/entra/lake/azure_audit" + end, "'s3://my-bucket/entra/lake/azure_audit_quarantine" + end} {
			if !strings.Contains(out, want) {
				t.Errorf("%s: no %s in:\n%s", engine, want, out)
			}
		}
		if strings.Contains(out, "region=") || strings.Contains(out, "127.0.0.1") {
			t.Errorf("%s: the writer's query is in the DDL:\n%s", engine, out)
		}
	}
}

// TestIcebergS3 runs `run --once --table-format iceberg` into a lake on
// S3 (versitygw; the file catalog, whose commits take the NATS lock
// there): the tables hold the rows parquet mode writes, and a second run
// adds no snapshot.
func TestIcebergS3(t *testing.T) {
	srv := objtest.StartS3(t)
	srv.Env(t)
	srv.Bucket(t, "lake")
	parquetRows, parquetQ, _ := runOnceCounts(t, t.TempDir(), "--source", testdataExport, "--data-dir", t.TempDir())
	lake := srv.URL("lake/entra")
	args := []string{"run", "--source", testdataExport, "--lake", lake, "--once", "--log-level", "warn", "--table-format", "iceberg", "--data-dir", t.TempDir()}
	runMain(t, args...)
	main, q := readTables(t, lake, "")
	if main.n != parquetRows || q.n != parquetQ {
		t.Fatalf("S3 iceberg tables hold %d rows, %d quarantined; parquet mode wrote %d, %d", main.n, q.n, parquetRows, parquetQ)
	}
	runMain(t, args...)
	if again, _ := readTables(t, lake, ""); again.snapshot != main.snapshot || again.n != main.n {
		t.Errorf("second run changed the table: snapshot %d -> %d, rows %d -> %d", main.snapshot, again.snapshot, main.n, again.n)
	}
	for _, f := range s3Files(t, srv, "lake") {
		if !strings.HasSuffix(f, ".parquet") && !strings.Contains(f, "/metadata/") && f != "entra/"+lakeMarker {
			t.Errorf("unexpected object: %s", f)
		}
	}
}
