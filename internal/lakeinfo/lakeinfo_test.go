package lakeinfo

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

func writeFile(t *testing.T, p string, times ...time.Time) {
	t.Helper()
	sc := arrow.NewSchema([]arrow.Field{{Name: "p_event_time", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true}}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	defer b.Release()
	for _, tm := range times {
		b.Field(0).(*array.TimestampBuilder).Append(arrow.Timestamp(tm.UnixMicro()))
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	var buf bytes.Buffer
	w, err := pqarrow.NewFileWriter(sc, &buf, nil, pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestScan(t *testing.T) {
	root := t.TempDir()
	t1 := time.Date(2025, 4, 11, 16, 5, 0, 0, time.UTC)
	t2 := time.Date(2025, 4, 11, 17, 9, 0, 123000, time.UTC)
	writeFile(t, filepath.Join(root, "azure_audit/category=SignInLogs/date=2025-04-11/hour=16/part-a.parquet"), t1, t1.Add(-time.Minute))
	writeFile(t, filepath.Join(root, "azure_audit/category=SignInLogs/date=2025-04-11/hour=17/part-b.parquet"), t2)
	writeFile(t, filepath.Join(root, "azure_audit/category=AuditLogs/date=2025-04-11/hour=08/part-c.parquet"), t1)
	if err := os.WriteFile(filepath.Join(root, "azure_audit/category=AuditLogs/date=2025-04-11/hour=08/.part-d.parquet.tmp-1"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	tb, err := Scan(root, "azure_audit")
	if err != nil {
		t.Fatal(err)
	}
	if tb.Files != 3 || tb.Rows != 4 || tb.Temporary != 1 {
		t.Fatalf("files=%d rows=%d temporary=%d, want 3, 4, 1", tb.Files, tb.Rows, tb.Temporary)
	}
	if got := tb.Categories["SignInLogs"].NewestEvent; !got.Equal(t2.Truncate(time.Microsecond)) {
		t.Fatalf("newest SignInLogs event=%v, want %v", got, t2)
	}
	if got := tb.Categories["AuditLogs"].Rows; got != 1 {
		t.Fatalf("AuditLogs rows=%d, want 1", got)
	}
	if got := tb.Layouts; len(got) != 1 || got["hour"] != 3 {
		t.Errorf("layouts = %v, want 3 files by hour", got)
	}
	// A file of a parser run with --partition day beside them.
	writeFile(t, filepath.Join(root, "azure_audit/category=AuditLogs/date=2025-04-12/part-e.parquet"), t1)
	if tb, err = Scan(root, "azure_audit"); err != nil {
		t.Fatal(err)
	}
	if got := tb.Layouts; len(got) != 2 || got["hour"] != 3 || got["day"] != 1 {
		t.Errorf("layouts = %v, want 3 files by hour and 1 by day", got)
	}
	empty, err := Scan(root, "missing_table")
	if err != nil || empty.Files != 0 {
		t.Fatalf("missing table: %+v, %v", empty, err)
	}
}
