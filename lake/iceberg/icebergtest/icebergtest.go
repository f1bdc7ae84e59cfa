// Package icebergtest writes into lake/iceberg tables what the writer
// would, for the tests of the packages that read or maintain them: rows
// of the Azure.Audit schema, in Parquet files with the table's field ids,
// the writer's properties and the batch id in the footer, committed or
// not.
package icebergtest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	iceio "github.com/apache/iceberg-go/io"

	"github.com/entralake/entralake/lake/iceberg"
	"github.com/entralake/entralake/schema"
)

// BatchID makes a batch id (32 hex digits) from a name.
func BatchID(name string) string {
	s := sha256.Sum256([]byte(name))
	return hex.EncodeToString(s[:16])
}

// Day is 2025-04-<d> 00:00 UTC.
func Day(d int) time.Time { return time.Date(2025, 4, d, 0, 0, 0, 0, time.UTC) }

// Rows returns n JSON rows of category cat on d, their p_row_id tagged
// with tag; for the quarantine table when cat is "".
func Rows(cat string, d time.Time, n int, tag string) string {
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

// Add writes the rows as a Parquet file the way the writer does (the
// table's field ids, the writer's properties, the batch id in the footer)
// into the rows' partition of tab, and commits it; it returns its path.
func Add(t testing.TB, tab *iceberg.Table, cat string, d time.Time, n int, tag string) string {
	t.Helper()
	rel := Write(t, tab, cat, d, n, tag)
	if _, err := tab.Commit(t.Context(), []iceberg.File{{Rel: rel, Batches: []string{BatchID(tag)}}}); err != nil {
		t.Fatalf("commit %s: %v", rel, err)
	}
	return rel
}

// Write writes the file Add commits, without committing it.
func Write(t testing.TB, tab *iceberg.Table, cat string, d time.Time, n int, tag string) string {
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
	rec, _, err := array.RecordFromJSON(memory.DefaultAllocator, sc, strings.NewReader("["+strings.ReplaceAll(strings.TrimSpace(Rows(cat, d, n, tag)), "\n", ",")+"]"))
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
	if err := fw.AppendKeyValueMetadata(iceberg.FooterBatches, BatchID(tag)); err != nil {
		t.Fatal(err)
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := Storage(t, tab).(iceio.WriteFileIO).WriteFile(tab.FileLocation(rel), buf.Bytes()); err != nil {
		t.Fatal(err)
	}
	return rel
}

// Storage is the table's storage.
func Storage(t testing.TB, tab *iceberg.Table) iceio.IO {
	t.Helper()
	fs, err := tab.Iceberg().FS(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return fs
}
