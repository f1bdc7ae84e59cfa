package lakecheck_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/entralake/entralake/internal/lakecheck"
	"github.com/entralake/entralake/lake"
	"github.com/entralake/entralake/lake/dir"
	"github.com/entralake/entralake/schema"
	"github.com/entralake/entralake/stages/writer"
	"github.com/entralake/entralake/stages/writer/writertest"
)

// rows are two Azure.Audit rows with nested structs, lists and every p_ column.
const rows = `[
{"time": "2025-04-11T16:02:44.123456Z", "Level": 4, "category": "AuditLogs", "operationName": "Add member to role",
 "resourceId": "/tenants/t", "properties": {"activityDisplayName": "Add member to role", "_billedSize": 1.5,
  "targetResources": [{"displayName": "Global Administrator", "type": "Role",
    "modifiedProperties": [{"displayName": "Role.DisplayName", "oldValue": null, "newValue": "\"Global Administrator\""}]}],
  "initiatedBy": {"user": {"userPrincipalName": "admin@fabrikam.example", "roles": "[]"}},
  "__UDI_RequiredFields_EventTime": "2025-04-11T16:02:44Z", "status": "{\"errorCode\":0}"},
 "p_log_type": "Azure.Audit", "p_event_time": "2025-04-11T16:02:44.123456Z", "p_parse_time": "2025-04-12T00:00:00Z",
 "p_row_id": "r1", "p_source_file": {"blob": "c/b", "offset": 0, "index": 0},
 "p_any_ip_addresses": ["192.0.2.1"], "p_any_usernames": ["admin@fabrikam.example"], "p_any_trace_ids": []},
{"time": "2025-04-11T16:59:59.999999Z", "category": "AuditLogs", "operationName": "Update user", "resourceId": "/tenants/t",
 "p_log_type": "Azure.Audit", "p_event_time": "2025-04-11T16:59:59.999999Z", "p_parse_time": "2025-04-12T00:00:00Z",
 "p_row_id": "r2", "p_any_ip_addresses": null}
]`

// writeWithWriter writes the rows with the real stages/writer and returns
// the path of the file.
func writeWithWriter(t *testing.T) string {
	t.Helper()
	lt, err := schema.Load("Azure.Audit")
	if err != nil {
		t.Fatal(err)
	}
	rec, _, err := array.RecordFromJSON(memory.DefaultAllocator, lt.ArrowSchema(), strings.NewReader(rows))
	if err != nil {
		t.Fatalf("build record: %v", err)
	}
	root := t.TempDir()
	w := writer.New(writer.Config{}, dir.Lake{Root: root}, writertest.NewLedger(), nil)
	acked := 0
	err = w.Add(t.Context(), lt.Table(), "category=AuditLogs/date=2025-04-11/hour=16", "batch-1", rec,
		writer.Pending{Ack: func(context.Context) error { acked++; return nil }, Nak: func() error { t.Error("nak"); return nil }})
	if err != nil {
		t.Fatal(err)
	}
	w.Flush(t.Context())
	if acked != 1 {
		t.Fatalf("acked %d batches, want 1", acked)
	}
	var files []string
	_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, ".parquet") {
			files = append(files, p)
		}
		return nil
	})
	if len(files) != 1 {
		t.Fatalf("files = %q, want one", files)
	}
	return files[0]
}

// TestWriterFileIsEngineSafe writes a file with the real writer and checks
// its Parquet metadata: timestamps INT64 TIMESTAMP(isAdjustedToUTC=true,
// MICROS), three-level lists with an element child, no unsigned types, no
// JSON annotation, zstd, statistics with min/max for p_event_time, and a
// page index for every column chunk.
func TestWriterFileIsEngineSafe(t *testing.T) {
	path := writeWithWriter(t)
	rep, err := lakecheck.CheckFile(path, lakecheck.Options{MinMax: []string{schema.ColEventTime, "time"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range rep.Problems {
		t.Errorf("%s", p)
	}
	if got, want := rep.Rows, 2; got != want {
		t.Errorf("rows = %d, want %d", got, want)
	}
	if got, want := rep.KeyValue[lake.MetaBatches], "batch-1"; got != want {
		t.Errorf("%s = %q, want %q", lake.MetaBatches, got, want)
	}
	// The near-unique columns are DELTA-encoded, and the check saw it.
	for col, want := range map[string]parquet.Encoding{
		schema.ColRowID: parquet.Encodings.DeltaByteArray, schema.ColEventTime: parquet.Encodings.DeltaBinaryPacked,
	} {
		if got := rep.Encodings[col]; !slices.Contains(got, want) {
			t.Errorf("%s: encodings %v, want %s among them", col, got, want)
		}
	}
	// The checker must have seen the columns it vouches for.
	for _, col := range []string{"p_event_time", "properties.targetResources.list.element.modifiedProperties.list.element.newValue", "p_any_ip_addresses.list.element"} {
		found := false
		r, _ := openSchema(t, path)
		for _, c := range r {
			if c == col {
				found = true
			}
		}
		if !found {
			t.Errorf("file has no leaf column %s", col)
		}
	}
}

func openSchema(t *testing.T, path string) ([]string, error) {
	t.Helper()
	rep, err := lakecheck.Columns(path)
	if err != nil {
		t.Fatal(err)
	}
	return rep, nil
}

// TestCheckerFindsProblems writes files the engines would misread and
// checks that each problem is reported.
func TestCheckerFindsProblems(t *testing.T) {
	tests := []struct {
		name  string
		field arrow.Field
		props []parquet.WriterProperty
		arrow []pqarrow.WriterOption
		want  string
	}{
		{"int96", arrow.Field{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Nanosecond, TimeZone: "UTC"}, Nullable: true},
			nil, []pqarrow.WriterOption{pqarrow.WithDeprecatedInt96Timestamps(true)}, "INT96"},
		{"nanos", arrow.Field{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Nanosecond, TimeZone: "UTC"}, Nullable: true},
			[]parquet.WriterProperty{parquet.WithVersion(parquet.V2_6)}, nil, "want MICROS"},
		{"local time", arrow.Field{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond}, Nullable: true},
			nil, nil, "isAdjustedToUTC=false"},
		{"unsigned", arrow.Field{Name: "n", Type: arrow.PrimitiveTypes.Uint32, Nullable: true}, nil, nil, "unsigned"},
		{"snappy", arrow.Field{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
			[]parquet.WriterProperty{parquet.WithCompression(compress.Codecs.Snappy)}, nil, "want ZSTD"},
		{"no stats", arrow.Field{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
			[]parquet.WriterProperty{parquet.WithStats(false)}, nil, "no column statistics"},
		{"delta length", arrow.Field{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
			[]parquet.WriterProperty{parquet.WithDictionaryDefault(false), parquet.WithEncoding(parquet.Encodings.DeltaLengthByteArray)}, nil, "encoding DELTA_LENGTH_BYTE_ARRAY"},
		{"no page index", arrow.Field{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
			[]parquet.WriterProperty{parquet.WithPageIndexEnabled(false)}, nil, "page index"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			props := append([]parquet.WriterProperty{parquet.WithCompression(compress.Codecs.Zstd), parquet.WithStats(true), parquet.WithPageIndexEnabled(true)}, tt.props...)
			all := problems(t, []arrow.Field{tt.field}, func(b *array.RecordBuilder) { b.Field(0).AppendNull() }, props, tt.arrow)
			if !strings.Contains(strings.Join(all, "\n"), tt.want) {
				t.Errorf("problems = %q, want one mentioning %q", all, tt.want)
			}
		})
	}
}

// TestUncompressedOnlyWhenEmpty checks the one exception to zstd: a column
// chunk without values may be UNCOMPRESSED (the writer leaves empty
// columns so); one with a value may not.
func TestUncompressedOnlyWhenEmpty(t *testing.T) {
	fields := []arrow.Field{
		{Name: "empty", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "full", Type: arrow.BinaryTypes.String, Nullable: true},
	}
	fill := func(b *array.RecordBuilder) {
		b.Field(0).AppendNull()
		b.Field(1).(*array.StringBuilder).Append("x")
	}
	props := []parquet.WriterProperty{parquet.WithCompression(compress.Codecs.Uncompressed), parquet.WithStats(true), parquet.WithPageIndexEnabled(true)}
	all := problems(t, fields, fill, props, nil)
	got := strings.Join(all, "\n")
	if !strings.Contains(got, "full") || !strings.Contains(got, "want ZSTD") || strings.Contains(got, "empty") {
		t.Fatalf("problems = %q, want only one about column full's compression", all)
	}
}

// problems writes one row (fill appends it) of fields to a Parquet file
// with props and returns what CheckFile finds in it.
func problems(t *testing.T, fields []arrow.Field, fill func(*array.RecordBuilder), props []parquet.WriterProperty, arrowOpts []pqarrow.WriterOption) []string {
	t.Helper()
	sc := arrow.NewSchema(fields, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	defer b.Release()
	fill(b)
	rec := b.NewRecordBatch()
	defer rec.Release()
	path := filepath.Join(t.TempDir(), "f.parquet")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	fw, err := pqarrow.NewFileWriter(sc, f, parquet.NewWriterProperties(props...), pqarrow.NewArrowWriterProperties(arrowOpts...))
	if err != nil {
		t.Fatal(err)
	}
	if err := fw.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	rep, err := lakecheck.CheckFile(path, lakecheck.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var all []string
	for _, p := range rep.Problems {
		all = append(all, p.String())
	}
	return all
}
