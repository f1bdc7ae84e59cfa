package azureblob_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/entralake/entralake/internal/azstorage"
	"github.com/entralake/entralake/internal/azurite"
	"github.com/entralake/entralake/schema"
	"github.com/entralake/entralake/source/azureblob"
	"github.com/entralake/entralake/source/local"
)

const testdataExport = "../../testdata/export"

// TestSourceMatchesLocal uploads testdata/export to Azurite as append blobs
// and checks that the Azure source lists and reads exactly what the local
// source does on the folder: the same containers, sub-folders, blobs,
// sizes and bytes, whatever the range.
func TestSourceMatchesLocal(t *testing.T) {
	a := startAccount(t)
	uploaded := a.srv.UploadTree(t, testdataExport)
	a.container(t, "other-container") // not an export container
	az := a.open(t, "")
	loc := local.Dir{Root: testdataExport}
	ctx := t.Context()

	gotC, err := az.Containers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantC, err := loc.Containers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(gotC)
	slices.Sort(wantC)
	if !slices.Equal(gotC, wantC) {
		t.Fatalf("Containers=%v, want %v", gotC, wantC)
	}
	blobs := 0
	var walk func(cont, prefix string)
	walk = func(cont, prefix string) {
		gd, gb, err := az.ListDir(ctx, cont, prefix)
		if err != nil {
			t.Fatal(err)
		}
		wd, wb, err := loc.ListDir(ctx, cont, prefix)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(gd, wd) {
			t.Fatalf("ListDir(%s, %q) dirs=%v, want %v", cont, prefix, gd, wd)
		}
		if got, want := names(gb), names(wb); !slices.Equal(got, want) {
			t.Fatalf("ListDir(%s, %q) blobs=%v, want %v", cont, prefix, got, want)
		}
		for i, b := range gb {
			if b.Size != wb[i].Size || b.ETag == "" || b.ModTime.IsZero() || b.Container != cont {
				t.Fatalf("blob %+v, want size %d, an etag and a time", b, wb[i].Size)
			}
			checkRanges(t, az, loc, b)
			blobs++
		}
		for _, d := range gd {
			walk(cont, d)
		}
	}
	for _, c := range gotC {
		walk(c, "")
	}
	if blobs != len(uploaded) {
		t.Fatalf("blobs=%d, want %d", blobs, len(uploaded))
	}
}

func names(bs []schema.Blob) []string {
	var out []string
	for _, b := range bs {
		out = append(out, b.Name)
	}
	slices.Sort(out)
	return out
}

// checkRanges compares a few ranges of a blob read from both sources.
func checkRanges(t *testing.T, az *azureblob.Source, loc local.Dir, b schema.Blob) {
	t.Helper()
	read := func(r interface {
		ReadRange(context.Context, string, string, int64, int64) (io.ReadCloser, error)
	}, off, n int64) []byte {
		rc, err := r.ReadRange(t.Context(), b.Container, b.Name, off, n)
		if err != nil {
			t.Fatalf("ReadRange(%s, %d, %d): %v", b.Name, off, n, err)
		}
		defer rc.Close()
		data, err := io.ReadAll(rc)
		if err != nil {
			t.Fatalf("ReadRange(%s, %d, %d) read: %v", b.Name, off, n, err)
		}
		return data
	}
	for _, r := range [][2]int64{{0, -1}, {0, b.Size}, {1, 100}, {b.Size / 2, -1}, {b.Size - 1, 1}, {b.Size, -1}, {7, 0}, {b.Size - 10, 100}} {
		got, want := read(az, r[0], r[1]), read(loc, r[0], r[1])
		if !bytes.Equal(got, want) {
			t.Fatalf("ReadRange(%s, %d, %d): %d bytes differ from the local source's %d", b.Name, r[0], r[1], len(got), len(want))
		}
	}
}

func TestContainers(t *testing.T) {
	a := startAccount(t)
	for _, c := range []string{"insights-logs-auditlogs", "insights-logs-signinlogs", "lake"} {
		a.container(t, c)
	}
	tests := []struct {
		name, path string
		only       []string
		want       []string
		err        error
	}{
		{"account: every export container", "", nil, []string{"insights-logs-auditlogs", "insights-logs-signinlogs"}, nil},
		{"account and --containers", "", []string{"insights-logs-signinlogs"}, []string{"insights-logs-signinlogs"}, nil},
		{"container", "insights-logs-auditlogs", nil, []string{"insights-logs-auditlogs"}, nil},
		{"container among --containers", "insights-logs-auditlogs", []string{"insights-logs-auditlogs", "x"}, []string{"insights-logs-auditlogs"}, nil},
		{"container not among --containers", "insights-logs-auditlogs", []string{"insights-logs-signinlogs"}, nil, azureblob.ErrNoContainers},
		{"folder", "insights-logs-auditlogs/tenantId=x", nil, nil, azstorage.ErrBadURL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, err := azureblob.Open(azureblob.Config{URL: a.srv.URL(tt.path), Auth: a.auth, Containers: tt.only})
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("Open err=%v, want %v", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := src.Containers(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("Containers=%v, want %v", got, tt.want)
			}
		})
	}
	empty := startAccount(t)
	empty.container(t, "lake")
	if _, err := empty.open(t, "").Containers(t.Context()); !errors.Is(err, azureblob.ErrNoContainers) {
		t.Fatalf("Containers of an account without export containers: err=%v, want ErrNoContainers", err)
	}
}

// counting counts the requests whose query holds comp=list.
type counting struct{ lists atomic.Int32 }

func (c *counting) Do(req *http.Request) (*http.Response, error) {
	if req.URL.Query().Get("comp") == "list" {
		c.lists.Add(1)
	}
	return http.DefaultClient.Do(req)
}

// TestListDirPages lists a folder of more blobs and sub-folders than a
// page holds: ListDir follows the pages to the end.
func TestListDirPages(t *testing.T) {
	a := startAccount(t)
	cc := a.container(t, "insights-logs-signinlogs")
	ctx := t.Context()
	const n, page = 1050, 100
	sem := make(chan struct{}, 16)
	errs := make(chan error, n)
	for i := range n {
		sem <- struct{}{}
		go func() {
			defer func() { <-sem }()
			name := fmt.Sprintf("y=2025/m=06/%05d.json", i)
			if i%2 == 1 {
				name = fmt.Sprintf("y=2025/m=06/%05d/PT1H.json", i) // a sub-folder
			}
			_, err := cc.NewBlockBlobClient(name).UploadBuffer(ctx, []byte("{}\n"), nil)
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	tr := &counting{}
	src, err := azureblob.Open(azureblob.Config{URL: a.srv.URL(""), Auth: a.auth, PageSize: page, Options: azstorage.Options{Transport: tr}})
	if err != nil {
		t.Fatal(err)
	}
	dirs, blobs, err := src.ListDir(ctx, "insights-logs-signinlogs", "y=2025/m=06/")
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) != n/2 || len(blobs) != n/2 {
		t.Fatalf("dirs=%d blobs=%d, want %d each", len(dirs), len(blobs), n/2)
	}
	if !slices.IsSorted(dirs) || !strings.HasSuffix(dirs[0], "/") {
		t.Fatalf("dirs are not sorted prefixes: %v...", dirs[:3])
	}
	if got, want := tr.lists.Load(), int32((n+page-1)/page); got != want {
		t.Fatalf("list requests=%d, want %d pages", got, want)
	}
}

func TestReadRangeErrors(t *testing.T) {
	a := startAccount(t)
	cc := a.container(t, "insights-logs-signinlogs")
	azurite.AppendBlob(t, cc, "a/PT1H.json", []byte("0123456789\n"))
	src := a.open(t, "")
	ctx := t.Context()

	_, err := src.ReadRange(ctx, "insights-logs-signinlogs", "a/missing.json", 0, 10)
	if !errors.Is(err, azstorage.ErrNotFound) {
		t.Fatalf("missing blob: err=%v, want ErrNotFound", err)
	}
	var p interface{ Permanent() bool }
	if !errors.As(err, &p) || !p.Permanent() {
		t.Fatalf("missing blob: err=%v is not permanent", err)
	}
	if want := "devstoreaccount1/insights-logs-signinlogs/a/missing.json: 404 BlobNotFound"; !strings.Contains(err.Error(), want) {
		t.Fatalf("err=%q, want it to contain %q", err, want)
	}
	_, err = src.ReadRange(ctx, "insights-logs-signinlogs", "a/PT1H.json", 50, 10)
	if !errors.As(err, &p) || !p.Permanent() {
		t.Fatalf("range past the end: err=%v, want a permanent error", err)
	}
	if _, err := src.ReadRange(ctx, "insights-logs-signinlogs", "a/PT1H.json", -1, 10); err == nil {
		t.Fatal("negative offset: no error")
	}
}

// TestErrorsHideSecrets checks that no error shows a SAS signature or an
// account key: bad signature (403 from Azurite), nothing listening
// (transport error, whose text holds the request URL), bad key.
func TestErrorsHideSecrets(t *testing.T) {
	a := startAccount(t)
	cc := a.container(t, "insights-logs-signinlogs")
	azurite.AppendBlob(t, cc, "a/PT1H.json", []byte("{}\n"))
	const sig = "U2VjcmV0U2lnbmF0dXJlVmFsdWU%3D" // what must not leak
	const sas = "?sv=2024-11-04&ss=b&srt=sco&sp=rl&se=2099-01-01T00%3A00%3A00Z&spr=https%2Chttp&sig=" + sig
	closed := "http://127.0.0.1:1/devstoreaccount1"
	noRetry := azstorage.Options{Retry: policy.RetryOptions{MaxRetries: -1}}
	badKey := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0, 0, 0x1b, 0x6d, 0xb6, 0xdb}, 10)) // "AAAbbbbb..."

	tests := []struct {
		name, url string
		auth      azstorage.Auth
		secret    string
		status    int
	}{
		{"bad SAS signature", a.srv.Endpoint + "/insights-logs-signinlogs" + sas, azstorage.Auth{}, "U2VjcmV0U2lnbmF0dXJl", 403},
		{"SAS token, nothing listening", closed + "/insights-logs-signinlogs", azstorage.Auth{SASToken: sas}, "U2VjcmV0U2lnbmF0dXJl", 0},
		{"SAS URL, nothing listening", closed + "/insights-logs-signinlogs" + sas, azstorage.Auth{}, "U2VjcmV0U2lnbmF0dXJl", 0},
		{"bad account key", a.srv.Endpoint + "/insights-logs-signinlogs", azstorage.Auth{AccountKey: badKey}, "AAAbbbbb", 403},
		{"bad key in a connection string", a.srv.Endpoint + "/insights-logs-signinlogs",
			azstorage.Auth{ConnectionString: "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=" + badKey}, "AAAbbbbb", 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, err := azureblob.Open(azureblob.Config{URL: tt.url, Auth: tt.auth, Options: noRetry})
			if err != nil {
				t.Fatal(err)
			}
			_, _, lerr := src.ListDir(t.Context(), "insights-logs-signinlogs", "a/")
			_, rerr := src.ReadRange(t.Context(), "insights-logs-signinlogs", "a/PT1H.json", 0, 3)
			for _, err := range []error{lerr, rerr} {
				if err == nil {
					t.Fatal("no error")
				}
				msg := err.Error()
				if strings.Contains(msg, tt.secret) || strings.Contains(msg, "sig=") {
					t.Fatalf("error %q shows a secret", msg)
				}
				if !strings.Contains(msg, "devstoreaccount1/insights-logs-signinlogs/a") {
					t.Fatalf("error %q does not name the account, container and blob", msg)
				}
				var e *azstorage.Error
				if !errors.As(err, &e) || e.StatusCode != tt.status {
					t.Fatalf("error %q: want an *Error with status %d", msg, tt.status)
				}
				if tt.status == 403 && !strings.Contains(msg, "(auth: ") {
					t.Fatalf("error %q does not say which credential was used", msg)
				}
				t.Logf("%s", msg)
			}
		})
	}
}

// flaky answers the first n requests with status, then passes them on.
type flaky struct {
	n      int32
	status int
	calls  atomic.Int32
}

func (f *flaky) Do(req *http.Request) (*http.Response, error) {
	if f.calls.Add(1) <= f.n {
		return &http.Response{StatusCode: f.status, Status: http.StatusText(f.status), Header: http.Header{"Retry-After": {"0"}},
			Body: io.NopCloser(strings.NewReader("")), Request: req}, nil
	}
	return http.DefaultClient.Do(req)
}

// TestRetries checks that the SDK's retry policy rides out throttling
// (429) and unavailability (503) on listing and reading.
func TestRetries(t *testing.T) {
	a := startAccount(t)
	cc := a.container(t, "insights-logs-signinlogs")
	azurite.AppendBlob(t, cc, "a/PT1H.json", []byte("{}\n"))
	for _, status := range []int{http.StatusTooManyRequests, http.StatusServiceUnavailable} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			f := &flaky{n: 2, status: status}
			src, err := azureblob.Open(azureblob.Config{URL: a.srv.URL(""), Auth: a.auth,
				Options: azstorage.Options{Retry: policy.RetryOptions{MaxRetries: 3, RetryDelay: 5 * time.Millisecond}, Transport: f}})
			if err != nil {
				t.Fatal(err)
			}
			_, blobs, err := src.ListDir(t.Context(), "insights-logs-signinlogs", "a/")
			if err != nil || len(blobs) != 1 {
				t.Fatalf("ListDir after 2 x %d: %d blobs, err %v", status, len(blobs), err)
			}
			if got, want := f.calls.Load(), int32(3); got != want {
				t.Fatalf("requests=%d, want %d", got, want)
			}
			f.calls.Store(0)
			rc, err := src.ReadRange(t.Context(), "insights-logs-signinlogs", "a/PT1H.json", 0, -1)
			if err != nil {
				t.Fatalf("ReadRange after 2 x %d: %v", status, err)
			}
			data, _ := io.ReadAll(rc)
			rc.Close()
			if string(data) != "{}\n" {
				t.Fatalf("read %q, want %q", data, "{}\n")
			}
		})
	}
}

// TestMissingContainerIsUnusable checks that a missing container is not a
// task's fault (Permanent, dead-lettered at once) but the source's
// (Unusable: run --once stops, watch mode retries and reports not-ready),
// while a missing blob stays Permanent.
func TestMissingContainerIsUnusable(t *testing.T) {
	a := startAccount(t)
	cc := a.container(t, "insights-logs-signinlogs")
	azurite.AppendBlob(t, cc, "a/PT1H.json", []byte("0123456789\n"))
	src := a.open(t, "")
	var p interface{ Permanent() bool }
	var u interface{ Unusable() bool }
	_, err := src.ReadRange(t.Context(), "insights-logs-missing", "a/PT1H.json", 0, 10)
	if !errors.As(err, &u) || !u.Unusable() || (errors.As(err, &p) && p.Permanent()) {
		t.Errorf("missing container: %v, want Unusable and not Permanent", err)
	}
	_, err = src.ReadRange(t.Context(), "insights-logs-signinlogs", "a/missing.json", 0, 10)
	if !errors.As(err, &p) || !p.Permanent() || (errors.As(err, &u) && u.Unusable()) {
		t.Errorf("missing blob: %v, want Permanent and not Unusable", err)
	}
}
