package objstore_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/entralake/entralake/internal/azstorage"
	"github.com/entralake/entralake/internal/azurite"
	"github.com/entralake/entralake/internal/location"
	"github.com/entralake/entralake/internal/objtest"
	"github.com/entralake/entralake/lake"
	"github.com/entralake/entralake/lake/laketest"
	"github.com/entralake/entralake/lake/objstore"
	"github.com/entralake/entralake/stages/writer"
)

var _ writer.Lake = (*objstore.Lake)(nil)

// openS3 starts versitygw with bucket "lake" and opens the lake at
// lake/entra/v1 with the given part size.
func openS3(t *testing.T, partSize int) (*objtest.S3, *objstore.Lake) {
	t.Helper()
	srv := objtest.StartS3(t)
	srv.Env(t)
	srv.Bucket(t, "lake")
	return srv, open(t, srv.URL("lake/entra/v1"), partSize)
}

func open(t *testing.T, url string, partSize int) *objstore.Lake {
	t.Helper()
	loc, err := location.Parse(location.Lake, url)
	if err != nil {
		t.Fatal(err)
	}
	l, err := objstore.Open(t.Context(), objstore.Config{Location: loc, PartSize: partSize})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func openAzure(t *testing.T) *objstore.Lake {
	t.Helper()
	srv := azurite.Start(t)
	l, err := objstore.OpenAzure(t.Context(), objstore.AzureConfig{URL: srv.URL("lake/entra/v1"),
		Auth: azstorage.Auth{ConnectionString: srv.ConnectionString}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func openGCS(t *testing.T) *objstore.Lake {
	t.Helper()
	g := objtest.StartGCS(t)
	g.Env(t)
	g.Bucket(t, "lake")
	return open(t, "gs://lake/entra/v1", 0)
}

// stores opens the lake on each object store the tests run.
var stores = []struct {
	name string
	open func(t *testing.T) *objstore.Lake
}{
	{"s3", func(t *testing.T) *objstore.Lake { _, l := openS3(t, 5<<20); return l }},
	{"gcs", openGCS},
	{"azure", openAzure},
}

// TestConformance runs the lake drivers' suite on every store.
func TestConformance(t *testing.T) {
	for _, s := range stores {
		t.Run(s.name, func(t *testing.T) {
			l := s.open(t)
			if err := l.Probe(t.Context()); err != nil {
				t.Fatal(err)
			}
			laketest.Run(t, l)
		})
	}
}

// write writes data in uneven pieces.
func write(t *testing.T, f lake.File, data []byte) {
	t.Helper()
	for len(data) > 0 {
		n := min(len(data), 100_000+len(data)%7777)
		if k, err := f.Write(data[:n]); err != nil || k != n {
			t.Fatalf("Write=%d, %v; want %d", k, err, n)
		}
		data = data[n:]
	}
}

// TestCommitAbortS3 checks on versitygw that a file of several parts
// (a multipart upload) appears whole at Commit and never before, and
// that an aborted file leaves no object and no pending multipart upload.
func TestCommitAbortS3(t *testing.T) {
	const part = 5 << 20 // S3's smallest part
	srv, l := openS3(t, part)
	ctx := t.Context()
	data := make([]byte, 2*part+part/2)
	rand.Read(data)
	for _, tc := range []struct {
		name   string
		size   int
		commit bool
	}{
		{"committed, multipart", len(data), true},
		{"committed, one part", part / 2, true},
		{"committed, empty", 0, true},
		{"aborted, multipart", len(data), false},
		{"aborted, small", 1000, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rel := "azure_audit/category=SignInLogs/date=2025-04-11/hour=16/part-" + strings.ReplaceAll(tc.name, " ", "") + ".parquet"
			f, err := l.Create(ctx, rel)
			if err != nil {
				t.Fatal(err)
			}
			write(t, f, data[:tc.size])
			if ok, err := l.Exists(ctx, rel); err != nil || ok {
				t.Fatalf("Exists before Commit=%t, %v; want false", ok, err)
			}
			if tc.commit {
				err = f.Commit(ctx)
			} else {
				err = f.Abort()
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.Write([]byte("x")); !errors.Is(err, objstore.ErrClosed) {
				t.Fatalf("Write after the end: err=%v, want ErrClosed", err)
			}
			ok, err := l.Exists(ctx, rel)
			if err != nil || ok != tc.commit {
				t.Fatalf("Exists=%t, %v; want %t", ok, err, tc.commit)
			}
			key := "entra/v1/" + rel
			got, err := os.ReadFile(filepath.Join(srv.Dir, "lake", filepath.FromSlash(key)))
			switch {
			case tc.commit && (err != nil || !bytes.Equal(got, data[:tc.size])):
				t.Fatalf("stored %d bytes (%v), not the %d written", len(got), err, tc.size)
			case !tc.commit && !errors.Is(err, fs.ErrNotExist):
				t.Fatalf("aborted file stored: %v", err)
			}
			ups, err := srv.Client().ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String("lake")})
			if err != nil {
				t.Fatal(err)
			}
			if len(ups.Uploads) != 0 {
				t.Fatalf("%d multipart uploads left pending", len(ups.Uploads))
			}
		})
	}
}

// TestListOpenDelete checks what compaction uses: List sees committed
// files only, Open reads any range, Delete removes (twice is fine), and
// CreateExclusive refuses a taken name.
func TestListOpenDelete(t *testing.T) {
	for _, s := range stores {
		t.Run(s.name, func(t *testing.T) {
			l := s.open(t)
			ctx := t.Context()
			data := make([]byte, 300_000)
			rand.Read(data)
			put := func(rel string, data []byte) {
				f, err := l.Create(ctx, rel)
				if err != nil {
					t.Fatal(err)
				}
				write(t, f, data)
				if err := f.Commit(ctx); err != nil {
					t.Fatal(err)
				}
			}
			put("t/date=1/a.parquet", data)
			put("t/date=1/b.parquet", data[:10])
			put("u/c.parquet", data[:1])
			pending, err := l.Create(ctx, "t/date=1/pending.parquet")
			if err != nil {
				t.Fatal(err)
			}
			write(t, pending, data[:5])
			defer pending.Abort()
			objs, err := l.List(ctx, "t")
			if err != nil {
				t.Fatal(err)
			}
			var rels []string
			for _, o := range objs {
				rels = append(rels, o.Rel)
				if o.Rel == "t/date=1/a.parquet" && o.Size != int64(len(data)) {
					t.Errorf("size of %s=%d, want %d", o.Rel, o.Size, len(data))
				}
			}
			slices.Sort(rels)
			if want := []string{"t/date=1/a.parquet", "t/date=1/b.parquet"}; !slices.Equal(rels, want) {
				t.Fatalf("List(t)=%v, want %v", rels, want)
			}
			r, err := l.Open(ctx, "t/date=1/a.parquet")
			if err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 1000)
			if n, err := r.ReadAt(buf, 123_456); err != nil || n != 1000 || !bytes.Equal(buf, data[123_456:124_456]) {
				t.Fatalf("ReadAt=%d, %v; or wrong bytes", n, err)
			}
			if n, err := r.ReadAt(buf, int64(len(data)-10)); n != 10 || !errors.Is(err, io.EOF) || !bytes.Equal(buf[:10], data[len(data)-10:]) {
				t.Fatalf("ReadAt at the end=%d, %v; want 10, EOF", n, err)
			}
			if end, err := r.Seek(0, io.SeekEnd); err != nil || end != int64(len(data)) || r.Size() != end {
				t.Fatalf("Seek end=%d, %v; Size %d", end, err, r.Size())
			}
			r.Close()
			if _, err := l.Open(ctx, "t/date=1/none.parquet"); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("Open(missing) err=%v, want fs.ErrNotExist", err)
			}
			for range 2 {
				if err := l.Delete(ctx, "t/date=1/b.parquet"); err != nil {
					t.Fatal(err)
				}
			}
			if ok, err := l.Exists(ctx, "t/date=1/b.parquet"); err != nil || ok {
				t.Fatalf("Exists after Delete=%t, %v", ok, err)
			}
			f, err := l.CreateExclusive(ctx, "t/date=1/a.parquet")
			if err != nil {
				t.Fatal(err)
			}
			write(t, f, []byte("other"))
			if err := f.Commit(ctx); !errors.Is(err, lake.ErrExists) {
				t.Fatalf("CreateExclusive over a file: Commit err=%v, want lake.ErrExists", err)
			}
			if got, err := l.ReadFile(ctx, "t/date=1/a.parquet"); err != nil || !bytes.Equal(got, data) {
				t.Fatalf("the file was replaced: %d bytes, %v", len(got), err)
			}
			f, err = l.CreateExclusive(ctx, "t/lock")
			if err != nil {
				t.Fatal(err)
			}
			if err := f.Commit(ctx); err != nil {
				t.Fatalf("CreateExclusive of a new name: %v", err)
			}
		})
	}
}

// TestUnusable checks that a missing bucket and refused credentials fail
// the probe with an unusable error that names them and holds no secret,
// and write nothing.
func TestUnusable(t *testing.T) {
	srv := objtest.StartS3(t)
	srv.Env(t)
	srv.Bucket(t, "lake")
	ctx := t.Context()
	unusable := func(t *testing.T, err error, mention ...string) {
		t.Helper()
		var u interface{ Unusable() bool }
		if err == nil || !errors.As(err, &u) || !u.Unusable() {
			t.Fatalf("err=%v, want an unusable error", err)
		}
		for _, m := range mention {
			if !strings.Contains(err.Error(), m) {
				t.Errorf("error %q does not mention %q", err, m)
			}
		}
		if strings.Contains(err.Error(), objtest.SecretKey) || strings.Contains(err.Error(), "wrong-secret") {
			t.Errorf("error %q holds the secret", err)
		}
	}
	t.Run("missing bucket", func(t *testing.T) {
		l := open(t, srv.URL("nobucket/x"), 0)
		unusable(t, l.Probe(ctx), "s3://nobucket/x/", "NoSuchBucket", "does not exist")
		f, err := l.Create(ctx, "a.parquet")
		if err != nil {
			t.Fatal(err)
		}
		write(t, f, []byte("x"))
		unusable(t, f.Commit(ctx), "nobucket")
	})
	t.Run("wrong secret", func(t *testing.T) {
		t.Setenv("AWS_SECRET_ACCESS_KEY", "wrong-secret")
		l := open(t, srv.URL("lake/x"), 0)
		unusable(t, l.Probe(ctx), "403", "SignatureDoesNotMatch", "AWS chain")
	})
	t.Run("unknown key", func(t *testing.T) {
		t.Setenv("AWS_ACCESS_KEY_ID", "nobody")
		l := open(t, srv.URL("lake/x"), 0)
		// AWS says 403 InvalidAccessKeyId; versitygw 404 XAdminUserNotFound.
		unusable(t, l.Probe(ctx), "credentials")
	})
	ents, err := os.ReadDir(filepath.Join(srv.Dir, "lake"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), ".sgw") {
			t.Errorf("written into the bucket: %s", e.Name())
		}
	}
	if _, err := os.Stat(filepath.Join(srv.Dir, "nobucket")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("bucket created: %v", err)
	}
}

// TestNoRegion: an S3 lake without a region fails at open, saying how to
// give one.
func TestNoRegion(t *testing.T) {
	srv := objtest.StartS3(t)
	srv.Env(t)
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	loc, err := location.Parse(location.Lake, "s3://lake/x?endpoint="+srv.Endpoint+"&use_path_style=true")
	if err != nil {
		t.Fatal(err)
	}
	_, err = objstore.Open(context.Background(), objstore.Config{Location: loc})
	if err == nil || !strings.Contains(err.Error(), "region") {
		t.Fatalf("err=%v, want one about the region", err)
	}
}
