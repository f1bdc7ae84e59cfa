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
	"strings"
	"sync/atomic"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/entralake/entralake/internal/azstorage"
	"github.com/entralake/entralake/internal/azurite"
	"github.com/entralake/entralake/lake"
	"github.com/entralake/entralake/lake/laketest"
	"github.com/entralake/entralake/lake/objstore"
	"github.com/entralake/entralake/schema"
	"github.com/entralake/entralake/stages/parser"
	"github.com/entralake/entralake/stages/parser/parsertest"
	"github.com/entralake/entralake/stages/writer"
	"github.com/entralake/entralake/stages/writer/writertest"
)

// env is an Azurite account with a lake in container "lake", folder
// "entra/v1".
type env struct {
	srv  *azurite.Server
	lake *objstore.Lake
	cc   *container.Client
}

func start(t *testing.T, blockSize int) *env {
	t.Helper()
	srv := azurite.Start(t)
	lake, err := objstore.OpenAzure(t.Context(), objstore.AzureConfig{URL: srv.URL("lake/entra/v1"),
		Auth: azstorage.Auth{ConnectionString: srv.ConnectionString}, PartSize: blockSize})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := service.NewClientFromConnectionString(srv.ConnectionString, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &env{srv: srv, lake: lake, cc: svc.NewContainerClient("lake")}
}

// blobs lists the committed blobs of the container.
func (e *env) blobs(t *testing.T) []string {
	t.Helper()
	var out []string
	pager := e.cc.NewListBlobsFlatPager(nil)
	for pager.More() {
		page, err := pager.NextPage(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Segment.BlobItems {
			out = append(out, *it.Name)
		}
	}
	return out
}

func (e *env) download(t *testing.T, name string) []byte {
	t.Helper()
	resp, err := e.cc.NewBlobClient(name).DownloadStream(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestCommitAbort checks that a file appears whole at Commit and never
// before, and that a file aborted, or left unfinished as by a crash,
// leaves no visible blob.
func TestCommitAbortAzure(t *testing.T) {
	const block = 1 << 20
	e := start(t, block)
	ctx := t.Context()
	data := make([]byte, 2*block+block/2) // three blocks, the last one short
	rand.Read(data)
	tests := []struct {
		name string
		size int
		end  func(lake.File) error // nil: never ended (a crash)
		want bool
	}{
		{"committed", len(data), func(f lake.File) error { return f.Commit(ctx) }, true},
		{"committed, exactly one block", block, func(f lake.File) error { return f.Commit(ctx) }, true},
		{"committed, empty", 0, func(f lake.File) error { return f.Commit(ctx) }, true},
		{"aborted", len(data), func(f lake.File) error { return f.Abort() }, false},
		{"crashed before commit", len(data), nil, false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rel := "azure_audit/category=SignInLogs/date=2025-04-11/hour=16/part-" + string(rune('a'+i)) + ".parquet"
			f, err := e.lake.Create(ctx, rel)
			if err != nil {
				t.Fatal(err)
			}
			write(t, f, data[:tt.size])
			if ok, err := e.lake.Exists(ctx, rel); err != nil || ok {
				t.Fatalf("Exists before Commit=%t, %v; want false", ok, err)
			}
			if tt.end != nil {
				if err := tt.end(f); err != nil {
					t.Fatal(err)
				}
				if _, err := f.Write([]byte("x")); !errors.Is(err, objstore.ErrClosed) {
					t.Fatalf("Write after the end: err=%v, want ErrClosed", err)
				}
			}
			ok, err := e.lake.Exists(ctx, rel)
			if err != nil || ok != tt.want {
				t.Fatalf("Exists=%t, %v; want %t", ok, err, tt.want)
			}
			name := "entra/v1/" + rel
			listed := false
			for _, b := range e.blobs(t) {
				listed = listed || b == name
			}
			if listed != tt.want {
				t.Fatalf("listed=%t, want %t", listed, tt.want)
			}
			if tt.want {
				if got := e.download(t, name); !bytes.Equal(got, data[:tt.size]) {
					t.Fatalf("downloaded %d bytes, not the %d written", len(got), tt.size)
				}
				return
			}
			if tt.end != nil {
				return // aborted: the upload was cancelled mid-way
			}
			// A crash: not visible, yet its full blocks were sent while it
			// was written; only the commit is missing.
			defer f.Abort()
			bl, err := e.cc.NewBlockBlobClient(name).GetBlockList(ctx, blockblob.BlockListTypeUncommitted, nil)
			if err != nil {
				t.Fatal(err)
			}
			want := tt.size/block - 1 // a crash may cut the last block's upload
			if got := len(bl.UncommittedBlocks); got < want {
				t.Fatalf("uncommitted blocks=%d, want at least %d", got, want)
			}
		})
	}
}

func TestAzureURLs(t *testing.T) {
	e := start(t, 0)
	for _, rel := range laketest.UnsafePaths {
		if _, err := e.lake.Create(t.Context(), rel); !errors.Is(err, lake.ErrUnsafePath) {
			t.Errorf("Create(%q) err=%v, want ErrUnsafePath", rel, err)
		}
	}
	auth := azstorage.Auth{ConnectionString: e.srv.ConnectionString}
	if _, err := objstore.OpenAzure(t.Context(), objstore.AzureConfig{URL: e.srv.Endpoint, Auth: auth}); !errors.Is(err, azstorage.ErrBadURL) {
		t.Errorf("Open(account URL) err=%v, want ErrBadURL", err)
	}
	// A lake in a container that does not exist yet: Open creates it.
	l, err := objstore.OpenAzure(t.Context(), objstore.AzureConfig{URL: e.srv.URL("newlake"), Auth: auth})
	if err != nil {
		t.Fatal(err)
	}
	f, err := l.Create(t.Context(), "x.parquet")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Commit(t.Context()); err != nil {
		t.Fatal(err)
	}
}

// TestWriterToAzure runs the writer on the Azurite lake with the batches of
// testdata/export: every row is in a Parquet file readable with pqarrow
// after download, and a batch delivered again is recognised as written
// (Exists through the ledger) and not written twice.
func TestWriterToAzure(t *testing.T) {
	e := start(t, 256<<10) // small blocks: files of several blocks
	ctx := t.Context()
	p := parsertest.New(t, parser.Config{})
	ledger := writertest.NewLedger()
	w := writer.New(writer.Config{Concurrency: 2}, e.lake, ledger, nil)
	var acks, naks atomic.Int64
	pending := writer.Pending{
		Ack: func(context.Context) error { acks.Add(1); return nil },
		Nak: func() error { naks.Add(1); return nil },
	}
	var batches, wantRows, wantQ int64
	var first *parser.Batch
	var firstID string
	root := "../../testdata/export"
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".json") {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		cont, blob, _ := strings.Cut(filepath.ToSlash(rel), "/")
		task := schema.Task{SourceID: "test", Container: cont, Blob: blob, Size: int64(len(data)), End: int64(len(data)), Final: true}
		st, err := p.Parse(ctx, task, 0, bytes.NewReader(data), func(b parser.Batch) error {
			batches++
			if first == nil {
				b.Record.Retain()
				first, firstID = &b, task.ID()+"/"+b.Key
			}
			return w.Add(ctx, b.Table, b.Partition, task.ID()+"/"+b.Key, b.Record, pending)
		})
		wantRows += st.Rows
		wantQ += st.Quarantined
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	w.Flush(ctx)
	if naks.Load() > 0 || w.Totals.Failures.Load() > 0 {
		t.Fatalf("naks=%d failures=%d, want 0", naks.Load(), w.Totals.Failures.Load())
	}
	if got := acks.Load(); got != batches {
		t.Fatalf("acks=%d, want %d", got, batches)
	}

	var rows, qrows int64
	names := e.blobs(t)
	for _, name := range names {
		if !strings.HasPrefix(name, "entra/v1/azure_audit") || !strings.HasSuffix(name, ".parquet") {
			t.Fatalf("unexpected blob %s", name)
		}
		tbl, err := pqarrow.ReadTable(ctx, bytes.NewReader(e.download(t, name)), nil, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
		if err != nil {
			t.Fatalf("read %s: %v", name, err)
		}
		if strings.HasPrefix(name, "entra/v1/azure_audit_quarantine/") {
			qrows += tbl.NumRows()
		} else {
			rows += tbl.NumRows()
		}
		tbl.Release()
	}
	if rows != wantRows || qrows != wantQ || rows == 0 || qrows == 0 {
		t.Fatalf("rows=%d quarantined=%d in %d files, want %d and %d", rows, qrows, len(names), wantRows, wantQ)
	}
	t.Logf("%d rows, %d quarantined, in %d files", rows, qrows, len(names))

	// The first batch again, as after a crash between commit and ack.
	before := acks.Load()
	if err := w.Add(ctx, first.Table, first.Partition, firstID, first.Record, pending); err != nil {
		t.Fatal(err)
	}
	w.Flush(ctx)
	if got := w.Totals.Duplicates.Load(); got != 1 || acks.Load() != before+1 || len(e.blobs(t)) != len(names) {
		t.Fatalf("duplicates=%d, acks +%d, files %d; want 1, +1, %d", got, acks.Load()-before, len(e.blobs(t)), len(names))
	}
}
