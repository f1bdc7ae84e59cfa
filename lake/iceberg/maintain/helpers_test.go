package maintain_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	iceio "github.com/apache/iceberg-go/io"
	"github.com/apache/iceberg-go/table"

	"github.com/entralake/entralake/lake/iceberg"
	"github.com/entralake/entralake/schema"
)

// open opens the lake's tables, closing them when the test ends.
func open(t testing.TB, cfg iceberg.Config) *iceberg.Lake {
	t.Helper()
	lt, err := schema.Load("Azure.Audit")
	if err != nil {
		t.Fatal(err)
	}
	cfg.LogType = lt
	l, err := iceberg.Open(t.Context(), cfg)
	if err != nil {
		t.Fatalf("open %s: %v", cfg.Lake, err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// localLake opens a lake in a new temporary folder.
func localLake(t testing.TB) (*iceberg.Lake, string) {
	dir := filepath.Join(t.TempDir(), "lake")
	return open(t, iceberg.Config{Lake: dir}), dir
}

func batchID(name string) string {
	s := sha256.Sum256([]byte(name))
	return hex.EncodeToString(s[:16])
}

func day(d int) time.Time { return time.Date(2025, 4, d, 0, 0, 0, 0, time.UTC) }

// rows returns n JSON rows of category cat on d, their p_row_id tagged
// with tag; for the quarantine table when cat is "".
func rows(cat string, d time.Time, n int, tag string) string {
	var b strings.Builder
	for i := range n {
		if cat == "" {
			fmt.Fprintf(&b, `{"p_log_type":"Azure.Audit","p_row_id":"q-%s-%d","p_parse_time":"2025-04-11T10:00:00.000001Z","reason":"not JSON","raw":"eyJicm9rZW4=","raw_size":9,"p_source_file":{"blob":"b","offset":%d,"index":0}}`+"\n", tag, i, i)
			continue
		}
		ts := d.Add(time.Duration(i)*time.Minute + 123456*time.Microsecond).Format("2006-01-02T15:04:05.000000Z")
		fmt.Fprintf(&b, `{"Level":%d,"callerIpAddress":"10.0.0.%d","category":%q,"operationName":"Sign-in activity","time":%q,`+
			`"properties":{"userPrincipalName":"user%d@example.com","additionalDetails":[{"key":"k","value":"v%d"}]},`+
			`"p_log_type":"Azure.Audit","p_event_time":%q,"p_row_id":"%s-%s-%d","p_any_ip_addresses":["10.0.0.%d"]}`+"\n",
			i%5, i%250, cat, ts, i, i, ts, tag, cat, i, i%250)
	}
	return b.String()
}

// add writes the rows as a Parquet file the way the writer does (the
// table's field ids, the writer's properties, the batch id in the footer)
// into the rows' partition of tab, and commits it; it returns its path.
func add(t testing.TB, tab *iceberg.Table, cat string, d time.Time, n int, tag string) string {
	t.Helper()
	rel := write(t, tab, cat, d, n, tag)
	if _, err := tab.Commit(t.Context(), []iceberg.File{{Rel: rel, Batches: []string{batchID(tag)}}}); err != nil {
		t.Fatalf("commit %s: %v", rel, err)
	}
	return rel
}

// write writes the file add commits, without committing it.
func write(t testing.TB, tab *iceberg.Table, cat string, d time.Time, n int, tag string) string {
	t.Helper()
	var vals map[string]any
	if cat != "" {
		vals = map[string]any{"category": cat, "p_event_time": d}
	}
	pp, err := tab.PartitionPath(vals)
	if err != nil {
		t.Fatal(err)
	}
	rel := tab.DataFileRel(pp, "part-"+tag+".parquet")
	sc := tab.ArrowSchema()
	rec, _, err := array.RecordFromJSON(memory.DefaultAllocator, sc, strings.NewReader("["+strings.ReplaceAll(strings.TrimSpace(rows(cat, d, n, tag)), "\n", ",")+"]"))
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()
	var buf bytes.Buffer
	props := schema.ParquetProperties(memory.DefaultAllocator, sc, schema.ParquetConfig{}, schema.NullLeaves([]arrow.RecordBatch{rec})...)
	fw, err := pqarrow.NewFileWriter(sc, &buf, props, pqarrow.NewArrowWriterProperties())
	if err != nil {
		t.Fatal(err)
	}
	if err := fw.WriteBuffered(rec); err != nil {
		t.Fatal(err)
	}
	if err := fw.AppendKeyValueMetadata(iceberg.FooterBatches, batchID(tag)); err != nil {
		t.Fatal(err)
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := storage(t, tab).(iceio.WriteFileIO).WriteFile(tab.FileLocation(rel), buf.Bytes()); err != nil {
		t.Fatal(err)
	}
	return rel
}

func storage(t testing.TB, tab *iceberg.Table) iceio.IO {
	t.Helper()
	fs, err := tab.Iceberg().FS(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

// exists reports whether rel is in tab's storage.
func exists(t testing.TB, tab *iceberg.Table, rel string) bool {
	t.Helper()
	f, err := storage(t, tab).Open(tab.FileLocation(rel))
	if err != nil {
		return false
	}
	f.Close()
	return true
}

// scan reads a snapshot of tab (the current one for 0) with iceberg-go's
// scan and returns its rows as sorted JSON lines.
func scan(t testing.TB, tab *iceberg.Table, snapshot int64) []string {
	t.Helper()
	ctx := t.Context()
	tbl, err := tab.Refresh(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var opts []table.ScanOption
	if snapshot != 0 {
		opts = append(opts, table.WithSnapshotID(snapshot))
	}
	at, err := tbl.Scan(opts...).ToArrowTable(ctx)
	if err != nil {
		t.Fatalf("scan %s: %v", tab.Name(), err)
	}
	defer at.Release()
	var out []string
	tr := array.NewTableReader(at, 1<<16)
	defer tr.Release()
	for tr.Next() {
		b, err := tr.RecordBatch().MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		var rs []json.RawMessage
		if err := json.Unmarshal(b, &rs); err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			out = append(out, string(r))
		}
	}
	slices.Sort(out)
	return out
}

// everySnapshotWhole checks that each retained snapshot of tab reads
// exactly want (rows sorted) or a subset of it taken whole, never a row
// twice: a reader at any moment sees before or after a replace, never
// both.
func everySnapshotWhole(t testing.TB, tab *iceberg.Table, want []string) {
	t.Helper()
	tbl, err := tab.Refresh(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range tbl.Metadata().Snapshots() {
		got := scan(t, tab, s.SnapshotID)
		if c := slices.Compact(slices.Clone(got)); len(c) != len(got) {
			t.Errorf("snapshot %d (%s) has %d rows twice", s.SnapshotID, s.Summary.Operation, len(got)-len(c))
		}
		for _, r := range got {
			if _, ok := slices.BinarySearch(want, r); !ok {
				t.Errorf("snapshot %d (%s) has a row that is not in the table: %.80s", s.SnapshotID, s.Summary.Operation, r)
				break
			}
		}
	}
}

// files returns the live files of tab by partition.
func files(t testing.TB, tab *iceberg.Table) map[string][]iceberg.FileInfo {
	t.Helper()
	fs, err := tab.Files(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]iceberg.FileInfo{}
	for _, f := range fs {
		out[f.Partition] = append(out[f.Partition], f)
	}
	return out
}

// locker is an in-process iceberg.Locker: one lock per key.
type locker struct {
	mu    sync.Mutex
	locks map[string]chan struct{}
	calls int
}

func (l *locker) Lock(ctx context.Context, key string) (func(), error) {
	l.mu.Lock()
	if l.locks == nil {
		l.locks = map[string]chan struct{}{}
	}
	ch, ok := l.locks[key]
	if !ok {
		ch = make(chan struct{}, 1)
		l.locks[key] = ch
	}
	l.calls++
	l.mu.Unlock()
	select {
	case ch <- struct{}{}:
		return func() { <-ch }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
