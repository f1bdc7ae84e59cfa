package azureblob_test

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/entralake/entralake/internal/azstorage"
	"github.com/entralake/entralake/internal/azurite"
	"github.com/entralake/entralake/lake/dir"
	"github.com/entralake/entralake/schema"
	"github.com/entralake/entralake/source/azureblob"
	"github.com/entralake/entralake/stages/lister"
	"github.com/entralake/entralake/stages/parser"
	"github.com/entralake/entralake/stages/parser/parsertest"
	"github.com/entralake/entralake/stages/writer"
	"github.com/entralake/entralake/workers"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Compile-time checks: a Source is what the lister and the parsers use.
var (
	_ lister.Source     = (*azureblob.Source)(nil)
	_ parser.BlobReader = (*azureblob.Source)(nil)
)

// fastRetry keeps failing tests quick.
var fastRetry = azstorage.Options{Retry: policy.RetryOptions{MaxRetries: 2, RetryDelay: 10 * time.Millisecond, MaxRetryDelay: 50 * time.Millisecond}}

// account is an Azurite account: the server, an SDK client to arrange
// fixtures, and the auth a Source uses.
type account struct {
	srv  *azurite.Server
	svc  *service.Client
	auth azstorage.Auth
}

func startAccount(t testing.TB) *account {
	t.Helper()
	srv := azurite.Start(t)
	svc, err := service.NewClientFromConnectionString(srv.ConnectionString, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &account{srv: srv, svc: svc, auth: azstorage.Auth{ConnectionString: srv.ConnectionString}}
}

// open opens a Source on url (relative to the account's endpoint).
func (a *account) open(t testing.TB, path string, only ...string) *azureblob.Source {
	t.Helper()
	src, err := azureblob.Open(azureblob.Config{URL: a.srv.URL(path), Auth: a.auth, Containers: only, Options: fastRetry})
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func (a *account) container(t testing.TB, name string) *container.Client {
	t.Helper()
	cc := a.svc.NewContainerClient(name)
	if _, err := cc.Create(t.Context(), nil); err != nil && !strings.Contains(err.Error(), "ContainerAlreadyExists") {
		t.Fatalf("create container %s: %v", name, err)
	}
	return cc
}

// appendBlob creates an append blob and appends each chunk as one block,
// as Azure Monitor does with each batch of records.
func appendBlob(t testing.TB, cc *container.Client, name string, chunks ...[]byte) {
	t.Helper()
	if err := createAppendBlob(context.WithoutCancel(t.Context()), cc, name, chunks...); err != nil {
		t.Fatal(err)
	}
}

// createAppendBlob is appendBlob for other goroutines than the test's.
func createAppendBlob(ctx context.Context, cc *container.Client, name string, chunks ...[]byte) error {
	if _, err := cc.NewAppendBlobClient(name).Create(ctx, nil); err != nil {
		return fmt.Errorf("create append blob %s: %w", name, err)
	}
	return appendBlocks(ctx, cc, name, chunks...)
}

// appendTo appends each chunk as one block to an existing append blob.
func appendTo(t testing.TB, cc *container.Client, name string, chunks ...[]byte) {
	t.Helper()
	if err := appendBlocks(context.WithoutCancel(t.Context()), cc, name, chunks...); err != nil {
		t.Fatal(err)
	}
}

func appendBlocks(ctx context.Context, cc *container.Client, name string, chunks ...[]byte) error {
	ab := cc.NewAppendBlobClient(name)
	for _, c := range chunks {
		if len(c) == 0 {
			continue
		}
		if _, err := ab.AppendBlock(ctx, streaming.NopCloser(bytes.NewReader(c)), nil); err != nil {
			return fmt.Errorf("append to %s: %w", name, err)
		}
	}
	return nil
}

// blobFile is a blob uploaded by a test, with its bytes.
type blobFile struct {
	container, name string
	data            []byte
}

// uploadTree uploads a local export folder (<container>/<blob path>) as
// append blobs, byte for byte, a block per two lines as Azure appends them.
func uploadTree(t testing.TB, a *account, root string) []blobFile {
	t.Helper()
	var out []blobFile
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".json") {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		cont, name, _ := strings.Cut(filepath.ToSlash(rel), "/")
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		appendBlob(t, a.container(t, cont), name, splitLines(data, 2)...)
		out = append(out, blobFile{cont, name, data})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// parseAll parses blobs in memory: what the pipeline must find.
func parseAll(t testing.TB, blobs []blobFile) parser.Stats {
	t.Helper()
	p := parsertest.New(t, parser.Config{})
	var tot parser.Stats
	for _, b := range blobs {
		task := schema.Task{SourceID: "test", Container: b.container, Blob: b.name, Size: int64(len(b.data)), End: int64(len(b.data)), Final: true}
		st, err := p.Parse(t.Context(), task, 0, bytes.NewReader(b.data), func(b parser.Batch) error {
			b.Record.Release()
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		tot.Records += st.Records
		tot.Rows += st.Rows
		tot.Quarantined += st.Quarantined
	}
	return tot
}

// splitLines cuts data after every n-th newline.
func splitLines(data []byte, n int) [][]byte {
	var out [][]byte
	seen, start := 0, 0
	for i, c := range data {
		if c == '\n' {
			seen++
			if seen%n == 0 {
				out = append(out, data[start:i+1])
				start = i + 1
			}
		}
	}
	if start < len(data) {
		out = append(out, data[start:])
	}
	return out
}

// pipeline is the wiring of `entralake run` (internal/cli RunCmd.Run) on
// an embedded JetStream, driven pass by pass by the test.
type pipeline struct {
	js      jetstream.JetStream
	parsers *parser.Handler
	writer  *writer.Writer
	lake    string
	log     *slog.Logger
	// stop stops the stages in order (parsers, writer intake, writer
	// flush) and the server; it is also a cleanup.
	stop func()
}

// startPipeline starts parsers reading src and a writer writing a dir.Lake
// in lake, on a JetStream server storing its state in store.
func startPipeline(t testing.TB, src parser.BlobReader, store, lake string) *pipeline {
	t.Helper()
	ctx := context.WithoutCancel(t.Context())
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	s, err := workers.StartServer(workers.ServerConfig{Dir: store, Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(s.ClientURL())
	if err != nil {
		s.Shutdown()
		t.Fatal(err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if err := workers.Setup(ctx, js, workers.DefaultTopology()); err != nil {
		t.Fatal(err)
	}
	lt, err := schema.Load("Azure.Audit")
	if err != nil {
		t.Fatal(err)
	}
	out := &parser.Stream{
		Publisher:  workers.Publisher{JS: js},
		Subject:    func(table string) string { return workers.SubjectBatches + "." + table },
		MaxPayload: int(nc.MaxPayload()),
	}
	ph, err := parser.NewHandler(parser.HandlerConfig{Parser: parser.Config{LogType: lt}}, src, out, log)
	if err != nil {
		t.Fatal(err)
	}
	ledger, err := workers.NewLedger(ctx, js)
	if err != nil {
		t.Fatal(err)
	}
	w := writer.New(writer.Config{IdleFlush: 150 * time.Millisecond, Concurrency: 2}, dir.Lake{Root: lake}, ledger, log)

	parseCtx, stopParse := context.WithCancel(ctx)
	writeCtx, stopWrite := context.WithCancel(ctx)
	var parsing, writing sync.WaitGroup
	run := func(ctx context.Context, wg *sync.WaitGroup, stream, consumer string, h workers.Handler, n int) {
		cons, err := js.Consumer(ctx, stream, consumer)
		if err != nil {
			t.Fatal(err)
		}
		pool, err := workers.NewPool(js, cons, h, workers.WithConcurrency(n), workers.WithLogger(log))
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			if err := pool.Run(ctx); err != nil {
				log.Error("pool stopped", "consumer", consumer, "err", err)
			}
		})
	}
	run(parseCtx, &parsing, workers.StreamTasks, workers.ConsumerParsers, ph, 2)
	run(writeCtx, &writing, workers.StreamBatches, workers.ConsumerWriters, w, 4)
	writing.Go(func() { w.Run(writeCtx, 50*time.Millisecond) })
	stop := sync.OnceFunc(func() {
		stopParse()
		parsing.Wait()
		stopWrite()
		writing.Wait()
		w.Close(context.Background()) // write what the writer holds
		_ = nc.Drain()
		s.Shutdown()
		s.WaitForShutdown()
	})
	t.Cleanup(stop)
	return &pipeline{js: js, parsers: ph, writer: w, lake: lake, log: log, stop: stop}
}

// lister returns a lister of src publishing to the pipeline.
func (p *pipeline) lister(t testing.TB, src lister.Source, cfg lister.Config) *lister.Lister {
	t.Helper()
	off, err := workers.NewOffsets(t.Context(), p.js)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Subject = workers.SubjectTasks
	if cfg.SourceID == "" {
		cfg.SourceID = "test"
	}
	return lister.New(cfg, src, off, workers.Publisher{JS: p.js}, p.log)
}

// wait returns once every task and batch is done (batches are acked only
// once their file is in the lake).
func (p *pipeline) wait(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	if err := workers.WaitIdle(ctx, p.js, 50*time.Millisecond, nil); err != nil {
		t.Fatalf("wait for the pipeline: %v", err)
	}
	if n := p.writer.Totals.Failures.Load(); n > 0 {
		t.Fatalf("writer failures=%d, want 0", n)
	}
}

// row is what the tests check of a lake row.
type row struct{ id, blob string }

// lakeRows reads every Parquet file of a table in a dir.Lake with pqarrow.
func lakeRows(t testing.TB, lake, table string) []row {
	t.Helper()
	var rows []row
	err := filepath.WalkDir(filepath.Join(lake, table), func(p string, d fs.DirEntry, err error) error {
		if os.IsNotExist(err) {
			return nil
		}
		if err != nil || d.IsDir() {
			return err
		}
		if strings.HasPrefix(d.Name(), ".") || !strings.HasSuffix(d.Name(), ".parquet") {
			return fmt.Errorf("unexpected file in the lake: %s", p)
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		rows = append(rows, parquetRows(t, f)...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// parquetRows reads p_row_id and p_source_file.blob of a Parquet file.
func parquetRows(t testing.TB, f *os.File) []row {
	t.Helper()
	tbl, err := pqarrow.ReadTable(t.Context(), f, nil, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		t.Fatalf("read %s: %v", f.Name(), err)
	}
	defer tbl.Release()
	col := func(name string) int {
		idx := tbl.Schema().FieldIndices(name)
		if len(idx) != 1 {
			t.Fatalf("%s: no column %s", f.Name(), name)
		}
		return idx[0]
	}
	ids, files := tbl.Column(col(schema.ColRowID)).Data().Chunks(), tbl.Column(col(schema.ColSourceFile)).Data().Chunks()
	var out []row
	for i, c := range ids {
		s, sf := c.(*array.String), files[i].(*array.Struct)
		blobs := sf.Field(0).(*array.String)
		for j := range s.Len() {
			out = append(out, row{id: s.Value(j), blob: blobs.Value(j)})
		}
	}
	return out
}
