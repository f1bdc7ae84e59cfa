package iceberg

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	iceio "github.com/apache/iceberg-go/io"

	"github.com/entralake/entralake/schema"
)

// auditType is the project's log type.
func auditType(t testing.TB) *schema.LogType {
	t.Helper()
	lt, err := schema.Load("Azure.Audit")
	if err != nil {
		t.Fatal(err)
	}
	return lt
}

// batchID makes a batch id (32 hex digits) from a name, as the parser's
// are hashes.
func batchID(name string) string {
	s := sha256.Sum256([]byte(name))
	return hex.EncodeToString(s[:16])
}

// openLake opens cfg, closing it when the test ends.
func openLake(t testing.TB, cfg Config) *Lake {
	t.Helper()
	if cfg.LogType == nil {
		cfg.LogType = auditType(t)
	}
	l, err := Open(t.Context(), cfg)
	if err != nil {
		t.Fatalf("open %s: %v", cfg.Lake, err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// auditRows returns n rows of category cat on day (JSON as our Arrow
// schema reads it): nested structs, a list of structs, lists of strings,
// timestamps with microseconds, a float and a boolean.
func auditRows(cat string, day time.Time, n int, tag string) string {
	var b strings.Builder
	for i := range n {
		ts := day.Add(time.Duration(i)*time.Minute + 123456*time.Microsecond).UTC().Format("2006-01-02T15:04:05.000000Z")
		fmt.Fprintf(&b, `{"Level":%d,"callerIpAddress":"10.0.%d.%d","category":%q,"operationName":"Sign-in activity","time":%q,`+
			`"properties":{"aadTenantId":"tenant-%s","additionalDetails":[{"key":"k%d","value":"v%d"},{"key":"x","value":null}],`+
			`"createdDateTime":%q,"_billedSize":%d.5,"flaggedForReview":%t,"initiatedBy":{"user":{"id":"u%d","userPrincipalName":"user%d@example.com"}}},`+
			`"p_log_type":"Azure.Audit","p_event_time":%q,"p_parse_time":%q,"p_row_id":"%s-%s-%d",`+
			`"p_source_file":{"blob":"insights-logs-x/PT1H.json","offset":%d,"index":0},"p_any_ip_addresses":["10.0.%d.%d"],"p_any_usernames":null}`+"\n",
			i%5, i/250, i%250, cat, ts, tag, i, i, ts, i, i%2 == 0, i, i, ts, ts, tag, cat, i, 100*i, i/250, i%250)
	}
	return b.String()
}

// quarantineRows returns n quarantine rows (raw is binary: base64 in JSON).
func quarantineRows(n int, tag string) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, `{"p_log_type":"Azure.Audit","p_row_id":"q-%s-%d","p_parse_time":"2025-04-11T10:00:00.000001Z","reason":"not JSON","raw":"eyJicm9rZW4=","raw_size":%d,"p_source_file":{"blob":"b","offset":%d,"index":0}}`+"\n", tag, i, 9+i, i)
	}
	return b.String()
}

// record reads JSON rows into a record of sc.
func record(t testing.TB, sc *arrow.Schema, rows string) arrow.RecordBatch {
	t.Helper()
	rec, _, err := array.RecordFromJSON(memory.DefaultAllocator, sc, strings.NewReader("["+strings.ReplaceAll(strings.TrimSpace(rows), "\n", ",")+"]"))
	if err != nil {
		t.Fatalf("rows: %v", err)
	}
	return rec
}

// writeFile writes rows (JSON of tab's schema) as a Parquet file at rel the
// way the writer does (schema.ParquetProperties, the batch ids in the
// footer), with tab's field ids, through the table's storage.
func writeFile(t testing.TB, tab *Table, rel, rows string, batches ...string) {
	t.Helper()
	ours := record(t, tab.ours, rows)
	defer ours.Release()
	sc := tab.ArrowSchema()
	rec := array.NewRecordBatch(sc, ours.Columns(), ours.NumRows())
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
	if len(batches) > 0 {
		if err := fw.AppendKeyValueMetadata(FooterBatches, strings.Join(batches, ",")); err != nil {
			t.Fatal(err)
		}
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	putFile(t, tab, rel, buf.Bytes())
}

// putFile stores data at rel through the table's storage.
func putFile(t testing.TB, tab *Table, rel string, data []byte) {
	t.Helper()
	loc := tab.st.location(rel)
	if !tab.st.remote {
		if err := os.MkdirAll(filepath.Dir(loc), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := tableFS(t, tab).(iceio.WriteFileIO).WriteFile(loc, data); err != nil {
		t.Fatalf("write %s: %v", loc, err)
	}
}

// tableFS is the table's storage.
func tableFS(t testing.TB, tab *Table) iceio.IO {
	t.Helper()
	fs, err := tab.Iceberg().FS(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

// exists reports whether the file at rel exists in tab's storage.
func exists(t testing.TB, tab *Table, rel string) bool {
	t.Helper()
	fs := tableFS(t, tab)
	f, err := fs.Open(tab.st.location(rel))
	if err != nil {
		return false
	}
	f.Close()
	return true
}

// dayOf is 2025-04-<d> 00:00 UTC.
func dayOf(d int) time.Time { return time.Date(2025, 4, d, 0, 0, 0, 0, time.UTC) }

// relFor returns where to write a file of cat on day in tab.
func relFor(t testing.TB, tab *Table, cat string, day time.Time, name string) string {
	t.Helper()
	vals := map[string]any{"category": cat, "p_event_time": day}
	if cat == "" {
		vals = nil
	}
	pp, err := tab.PartitionPath(vals)
	if err != nil {
		t.Fatal(err)
	}
	return tab.DataFileRel(pp, name)
}

// scanRows reads the table's current snapshot with iceberg-go's scan and
// returns its rows as sorted JSON lines, and its Arrow schema.
func scanRows(t testing.TB, tab *Table) ([]string, *arrow.Schema) {
	t.Helper()
	ctx := t.Context()
	tbl, err := tab.Refresh(ctx)
	if err != nil {
		t.Fatal(err)
	}
	at, err := tbl.Scan().ToArrowTable(ctx)
	if err != nil {
		t.Fatalf("scan %s: %v", tab.Name(), err)
	}
	defer at.Release()
	var out []string
	tr := array.NewTableReader(at, 1<<16)
	defer tr.Release()
	for tr.Next() {
		out = append(out, jsonLines(t, tr.RecordBatch())...)
	}
	slices.Sort(out)
	return out, at.Schema()
}

// jsonLines returns each row of rec as a line of JSON.
func jsonLines(t testing.TB, rec arrow.RecordBatch) []string {
	t.Helper()
	b, err := rec.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	var rows []json.RawMessage
	if err := json.Unmarshal(b, &rows); err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = string(r)
	}
	return out
}

// wantRows returns the rows (JSON of sc) as the scan's sorted JSON lines.
func wantRows(t testing.TB, sc *arrow.Schema, rows ...string) []string {
	t.Helper()
	var out []string
	for _, r := range rows {
		rec := record(t, sc, r)
		out = append(out, jsonLines(t, rec)...)
		rec.Release()
	}
	slices.Sort(out)
	return out
}

// footerFieldIDs returns the PARQUET:field_id of each top-level column of
// the Parquet file at rel.
func footerFieldIDs(t testing.TB, tab *Table, rel string) map[string]string {
	t.Helper()
	fs := tableFS(t, tab)
	f, err := fs.Open(tab.st.location(rel))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := file.NewParquetReader(f)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	fr, err := pqarrow.NewFileReader(r, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := fr.Schema()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, f := range sc.Fields() {
		if i := f.Metadata.FindKey("PARQUET:field_id"); i >= 0 {
			out[f.Name] = f.Metadata.Values()[i]
		}
	}
	return out
}

// memLocker is a Locker for one process's tests: a mutex per key.
type memLocker struct {
	mu    sync.Mutex
	locks map[string]chan struct{}
	calls int
}

func (m *memLocker) Lock(ctx context.Context, key string) (func(), error) {
	m.mu.Lock()
	if m.locks == nil {
		m.locks = map[string]chan struct{}{}
	}
	ch, ok := m.locks[key]
	if !ok {
		ch = make(chan struct{}, 1)
		m.locks[key] = ch
	}
	m.calls++
	m.mu.Unlock()
	select {
	case ch <- struct{}{}:
		return func() { <-ch }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
