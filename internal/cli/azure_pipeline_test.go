package cli

// The pipeline of `entralake run`, as begin wires it, on an export in
// Azurite laid out as Azure writes it, driven pass by pass.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/entralake/entralake/internal/azurite"
	"github.com/entralake/entralake/schema"
	"github.com/entralake/entralake/stages/parser"
	"github.com/entralake/entralake/stages/parser/parsertest"
	"github.com/entralake/entralake/workers"
)

// corpusDir holds real (anonymised) Entra exports, one file per category.
const corpusDir = "../../../shared/corpus/entra-export"

// testdataExport is the repository's sample export.
const testdataExport = "../../testdata/export"

// runFlags parses `entralake run args` as the command line does: every
// flag has its default.
func runFlags(t testing.TB, args ...string) *RunCmd {
	t.Helper()
	var c CLI
	k, err := newParser(&c, t.Output(), t.Output(), func(code int) { t.Fatalf("entralake run %s: exit %d", strings.Join(args, " "), code) })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := k.Parse(append([]string{"run"}, args...)); err != nil {
		t.Fatal(err)
	}
	return &c.Run
}

// startPipeline opens the process of `entralake run --once --source
// <srv>/path --lake lake --data-dir store args...` with the Azurite
// account's key and starts its parsers and writer, but not its lister:
// the test lists, pass by pass, with p.lister. The process closes when
// the test ends.
func startPipeline(t *testing.T, srv *azurite.Server, path, store, lake string, args ...string) *process {
	t.Helper()
	t.Setenv("AZURE_STORAGE_CONNECTION_STRING", srv.ConnectionString)
	r := runFlags(t, append([]string{"--source", srv.URL(path), "--lake", lake, "--data-dir", store, "--once"}, args...)...)
	src, err := openSource(t.Context(), r.SourceFlags)
	if err != nil {
		t.Fatal(err)
	}
	env := &Env{Ctx: t.Context(), Log: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))}
	p, err := begin(env, r.process(src))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.close)
	p.runStages()
	return p
}

// waitPipeline returns once every task and batch is done (batches are
// acked only once their file is in the lake).
func waitPipeline(t testing.TB, p *process) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	if err := workers.WaitIdle(ctx, p.c.js, 50*time.Millisecond, nil); err != nil {
		t.Fatalf("wait for the pipeline: %v", err)
	}
	if n := p.writer.Totals.Failures.Load(); n > 0 {
		t.Fatalf("writer failures=%d, want 0", n)
	}
}

// TestPipelineExport runs the whole pipeline (lister, parsers, writer on an
// embedded JetStream, wired as `entralake run --once` wires them) on an
// export in Azurite laid out as Azure writes it: insights-logs-<category> containers,
// both path forms, append blobs with CRLF lines (testdata/export byte for
// byte, and the shared corpus with CRLF). Every record is a row or a
// quarantined row, exactly once.
func TestPipelineExport(t *testing.T) {
	entries, err := os.ReadDir(corpusDir)
	if os.IsNotExist(err) {
		t.Skipf("no corpus at %s", corpusDir)
	}
	if err != nil {
		t.Fatal(err)
	}
	srv := azurite.Start(t)
	blobs := srv.UploadTree(t, testdataExport)
	hour := time.Date(2025, 4, 20, 0, 0, 0, 0, time.UTC)
	for i, e := range entries {
		data, err := os.ReadFile(filepath.Join(corpusDir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		var first struct{ Category string }
		line, _, _ := bytes.Cut(data, []byte("\n"))
		if err := json.Unmarshal(line, &first); err != nil || first.Category == "" {
			t.Fatalf("%s: first line has no category (%v)", e.Name(), err)
		}
		crlf := bytes.ReplaceAll(bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n")), []byte("\n"), []byte("\r\n"))
		b := azurite.Blob{Container: schema.ContainerPrefix + strings.ToLower(first.Category), Name: azurite.BlobName(hour.Add(time.Duration(i)*time.Hour), i%2 == 1), Data: crlf}
		azurite.AppendBlob(t, srv.Container(t, b.Container), b.Name, azurite.SplitLines(crlf, 5)...)
		blobs = append(blobs, b)
	}
	want := parseAll(t, blobs)

	// Once with one task per blob, once with the blobs cut into tasks of
	// about 1,500 bytes (parsers move the cuts to record boundaries): the
	// same rows, by id.
	var whole map[string]bool
	for _, taskSize := range []int64{0, 1500} {
		t.Run(fmt.Sprintf("task-size=%d", taskSize), func(t *testing.T) {
			ids := runExport(t, srv, blobs, want, taskSize)
			if whole == nil {
				whole = ids
				return
			}
			if !maps.Equal(ids, whole) {
				t.Fatalf("cut tasks gave %d row ids, one task per blob %d, not the same", len(ids), len(whole))
			}
		})
	}
}

// runExport runs the pipeline over the account's export with the lister's
// --task-size and checks the lake against want; it returns the row ids.
func runExport(t *testing.T, srv *azurite.Server, blobs []azurite.Blob, want parser.Stats, taskSize int64) map[string]bool {
	lake := t.TempDir()
	p := startPipeline(t, srv, "", t.TempDir(), lake, "--final-after", "0s", "--task-size", strconv.FormatInt(taskSize, 10))
	l := p.lister
	if err := l.Pass(t.Context(), time.Time{}, time.Time{}); err != nil {
		t.Fatal(err)
	}
	waitPipeline(t, p)

	tasks := l.Stats.Tasks.Load()
	if taskSize == 0 && tasks != int64(len(blobs)) || taskSize > 0 && tasks <= int64(len(blobs)) {
		t.Fatalf("tasks=%d for %d blobs with task size %d", tasks, len(blobs), taskSize)
	}
	tot := &p.parser.Totals
	if got := tot.Records.Load(); got != want.Records {
		t.Fatalf("records=%d, want %d (parsing the same bytes in memory)", got, want.Records)
	}
	if got := tot.Quarantined.Load(); got != want.Quarantined || got == 0 {
		t.Fatalf("quarantined=%d, want %d (testdata has bad records)", got, want.Quarantined)
	}
	rows := lakeRows(t, lake, "azure_audit")
	qrows := lakeRows(t, lake, "azure_audit_quarantine")
	if got, want := int64(len(rows)), tot.Records.Load()-tot.Quarantined.Load(); got != want {
		t.Fatalf("rows in the lake=%d, want records-quarantined=%d", got, want)
	}
	if got, want := int64(len(qrows)), tot.Quarantined.Load(); got != want {
		t.Fatalf("quarantined rows in the lake=%d, want %d", got, want)
	}
	ids := map[string]bool{}
	files := map[string]bool{}
	for _, r := range append(rows, qrows...) {
		if ids[r.id] {
			t.Fatalf("row %s is in the lake twice", r.id)
		}
		ids[r.id] = true
		files[r.blob] = true
	}
	if got, want := len(files), len(blobs); got != want {
		t.Fatalf("rows come from %d blobs, want %d", got, want)
	}
	t.Logf("%d blobs in %d tasks, %d records: %d rows, %d quarantined", len(blobs), tasks, want.Records, len(rows), len(qrows))
	return ids
}

// signIn is one export line (no line end) of an hour, with id n.
func signIn(h time.Time, n int) string {
	return fmt.Sprintf(`{ "time": "%s", "resourceId": "/tenants/%s/providers/Microsoft.aadiam", "operationName": "Sign-in activity", "category": "SignInLogs", "tenantId": "%s", "resultType": "0", "correlationId": "00000000-0000-4000-8000-%012d", "Level": 4, "properties": {"id": "%d", "userPrincipalName": "user%d@fabrikam.example", "ipAddress": "203.0.113.%d"}}`,
		h.Add(time.Duration(n%3600)*time.Second).Format(time.RFC3339Nano), azurite.Tenant, azurite.Tenant, n, n, n, n%250)
}

// TestReplayOneDay replays one day of a month of hourly blobs: the lister
// descends only into that day (few ListDir calls), processes every blob of
// it and none of the others; a second replay publishes nothing.
func TestReplayOneDay(t *testing.T) {
	srv := azurite.Start(t)
	cc := srv.Container(t, "insights-logs-signinlogs")
	start := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	const hours = 30 * 24
	sem := make(chan struct{}, 16)
	errs := make(chan error, hours)
	for i := range hours {
		sem <- struct{}{}
		go func() {
			defer func() { <-sem }()
			h := start.Add(time.Duration(i) * time.Hour)
			errs <- azurite.CreateAppendBlob(t.Context(), cc, azurite.BlobName(h, false), []byte(signIn(h, i)+"\r\n"))
		}()
	}
	for range hours {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}

	from, to := time.Date(2025, 6, 15, 0, 0, 0, 0, time.UTC), time.Date(2025, 6, 15, 23, 0, 0, 0, time.UTC)
	store, lake := t.TempDir(), t.TempDir()
	day := []string{"--final-after", "0s", "--from", from.Format("2006-01-02T15"), "--to", to.Format("2006-01-02T15")}
	p := startPipeline(t, srv, "insights-logs-signinlogs", store, lake, day...)
	l := p.lister
	if err := l.Pass(t.Context(), from, to); err != nil {
		t.Fatal(err)
	}
	waitPipeline(t, p)
	// container, tenantId=, y=, m=, d=15, then h=HH/ and m=00/ for each hour:
	// 5 + 2*24 = 53, against 5 + 30 + 2*720 = 1475 for the whole month.
	calls := l.Stats.ListCalls.Load()
	t.Logf("ListDir calls for one day of a month: %d", calls)
	if calls > 53 {
		t.Fatalf("ListDir calls=%d, want at most 53", calls)
	}
	if got, want := l.Stats.Tasks.Load(), int64(24); got != want {
		t.Fatalf("tasks=%d, want %d", got, want)
	}
	rows := lakeRows(t, lake, "azure_audit")
	seen := map[string]bool{}
	for _, r := range rows {
		if !strings.Contains(r.blob, "/y=2025/m=06/d=15/") {
			t.Fatalf("row of blob %s, outside the replayed day", r.blob)
		}
		seen[r.blob] = true
	}
	if got, want := len(rows), 24; got != want || len(seen) != want {
		t.Fatalf("rows=%d from %d blobs, want %d from %d", got, len(seen), want, want)
	}
	p.close()

	// A second run on the same JetStream state.
	p2 := startPipeline(t, srv, "insights-logs-signinlogs", store, lake, day...)
	l2 := p2.lister
	if err := l2.Pass(t.Context(), from, to); err != nil {
		t.Fatal(err)
	}
	if got := l2.Stats.Tasks.Load(); got != 0 {
		t.Fatalf("second replay: tasks=%d, want 0", got)
	}
	if got, want := l2.Stats.ListCalls.Load(), calls; got != want {
		t.Fatalf("second replay: ListDir calls=%d, want %d", got, want)
	}
}

// TestAppendsBetweenPolls appends to export blobs between lister passes
// (watch mode: recent hours, so tasks are not final), with a line
// cut across two appends, in the current hour and in an hour a day old.
// Every line ends up as one row, once.
func TestAppendsBetweenPolls(t *testing.T) {
	srv := azurite.Start(t)
	cc := srv.Container(t, "insights-logs-signinlogs")
	now := time.Now().UTC().Truncate(time.Hour)
	h0, h1 := now, now.Add(-24*time.Hour)
	b0, b1 := azurite.BlobName(h0, false), azurite.BlobName(h1, true)
	n := 0
	lines := func(h time.Time, k int) []byte {
		var b bytes.Buffer
		for range k {
			b.WriteString(signIn(h, n) + "\r\n")
			n++
		}
		return b.Bytes()
	}

	lake := t.TempDir()
	p := startPipeline(t, srv, "", t.TempDir(), lake, "--final-after", "0s")
	l := p.lister
	// pass lists once, waits until the lake has it all, and checks the
	// tasks published and the records parsed so far (a line cut in two
	// is parsed once whole, never as two broken records).
	pass := func(wantTasks, wantRecords int64) {
		t.Helper()
		before := l.Stats.Tasks.Load()
		if err := l.Pass(t.Context(), time.Time{}, time.Time{}); err != nil {
			t.Fatal(err)
		}
		if got := l.Stats.Tasks.Load() - before; got != wantTasks {
			t.Fatalf("pass published %d tasks, want %d", got, wantTasks)
		}
		waitPipeline(t, p)
		if got := p.parser.Totals.Records.Load(); got != wantRecords {
			t.Fatalf("records parsed=%d, want %d", got, wantRecords)
		}
	}

	azurite.AppendBlob(t, cc, b0, lines(h0, 3))
	azurite.AppendBlob(t, cc, b1, lines(h1, 2))
	pass(2, 5)

	cut := []byte(signIn(h0, n) + "\r\n")
	n++
	half := len(cut) / 2
	azurite.AppendTo(t, cc, b0, lines(h0, 2), cut[:half]) // the line's first half only
	azurite.AppendTo(t, cc, b1, lines(h1, 1))
	pass(2, 8)

	azurite.AppendTo(t, cc, b0, cut[half:], lines(h0, 1)) // its rest, and one more line
	pass(1, 10)

	cut2 := []byte(signIn(h1, n) + "\r\n")
	n++
	azurite.AppendTo(t, cc, b1, cut2[:10])
	pass(1, 10)
	azurite.AppendTo(t, cc, b1, cut2[10:len(cut2)-2])
	pass(1, 10)
	azurite.AppendTo(t, cc, b1, cut2[len(cut2)-2:]) // the CRLF alone
	pass(1, 11)
	pass(0, 11)

	rows := lakeRows(t, lake, "azure_audit")
	if q := lakeRows(t, lake, "azure_audit_quarantine"); len(q) > 0 {
		t.Fatalf("quarantined rows=%d, want 0", len(q))
	}
	count := map[string]int{}
	for _, r := range rows {
		count[r.id]++
	}
	var dup []string
	for id, c := range count {
		if c > 1 {
			dup = append(dup, id)
		}
	}
	slices.Sort(dup)
	if len(dup) > 0 || len(rows) != n || len(count) != n {
		t.Fatalf("rows=%d with %d distinct ids (duplicates %v), want %d lines, each once", len(rows), len(count), dup, n)
	}
	if got, want := p.parser.Totals.Records.Load(), int64(n); got != want {
		t.Fatalf("records parsed=%d, want %d", got, want)
	}
}

// parseAll parses blobs in memory: what the pipeline must find.
func parseAll(t testing.TB, blobs []azurite.Blob) parser.Stats {
	t.Helper()
	p := parsertest.New(t, parser.Config{})
	var tot parser.Stats
	for _, b := range blobs {
		task := schema.Task{SourceID: "test", Container: b.Container, Blob: b.Name, Size: int64(len(b.Data)), End: int64(len(b.Data)), Final: true}
		st, err := p.Parse(t.Context(), task, 0, bytes.NewReader(b.Data), func(b parser.Batch) error {
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
