package schema

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
)

// Defaults of the lake's Parquet settings, for the writer and compaction.
const (
	DefaultZstdLevel    = 3
	DefaultRowGroupRows = 128 * 1024
)

// uniqueColumns hold values that are (nearly) all distinct: a dictionary
// only costs time and space there. Measured on generated sign-in and audit
// data, turning it off for these makes files about 7% smaller and encoding
// faster (stages/writer BenchmarkWrite).
var uniqueColumns = []string{
	"time", "correlationId", ColEventTime, ColRowID, ColAnyTraceIDs + ".list.element", ColSourceFile + ".offset",
	"properties.id", "properties.correlationId", "properties.originalRequestId", "properties.uniqueTokenIdentifier",
	"properties.createdDateTime", "properties.activityDateTime", "properties.timeGenerated", "properties.requestId",
	"properties.operationId", "properties.clientRequestId", "properties.signInActivityId", "properties.durationMs",
	"properties.__UDI_RequiredFields_UniqueId", "properties.__UDI_RequiredFields_EventTime",
}

// ParquetProperties are the settings of every lake file, written by the
// writer or by compaction: zstd at level, row groups of at most
// rowGroupRows rows, statistics and a page index on every column,
// dictionaries except on near-unique columns. The columns empty names
// (dotted paths, from NullLeaves) hold no value: they get neither a
// dictionary nor compression, as zstd cannot shrink their few bytes of
// levels and costs a call per page.
func ParquetProperties(mem memory.Allocator, level int, rowGroupRows int64, empty ...string) *parquet.WriterProperties {
	opts := []parquet.WriterProperty{
		parquet.WithAllocator(mem),
		parquet.WithCompression(compress.Codecs.Zstd),
		parquet.WithCompressionLevel(level),
		parquet.WithMaxRowGroupLength(rowGroupRows),
		parquet.WithStats(true),
		parquet.WithPageIndexEnabled(true),
		parquet.WithDictionaryDefault(true),
		parquet.WithCreatedBy("entralake"),
	}
	for _, c := range uniqueColumns {
		opts = append(opts, parquet.WithDictionaryFor(c, false))
	}
	for _, c := range empty {
		opts = append(opts, parquet.WithDictionaryFor(c, false), parquet.WithCompressionFor(c, compress.Codecs.Uncompressed))
	}
	return parquet.NewWriterProperties(opts...)
}

// NullLeaves returns the Parquet paths of the leaf columns that hold no
// value in any of recs (lists as <name>.list.element). A wide schema
// leaves most columns empty in a small file, and a dictionary or zstd
// there costs an empty dictionary page, a compression call per page and
// footer entries: in the 24-hour bench run, 69% of 41,256 column chunks
// were empty.
func NullLeaves(recs []arrow.RecordBatch) []string {
	empty := map[string]bool{}
	var order []string
	var visit func(path string, a arrow.Array)
	visit = func(path string, a arrow.Array) {
		switch a := a.(type) {
		case *array.Struct:
			st := a.DataType().(*arrow.StructType)
			for i, f := range st.Fields() {
				visit(path+"."+f.Name, a.Field(i))
			}
			return
		case *array.List:
			visit(path+".list.element", a.ListValues())
			return
		}
		none := a.NullN() == a.Len()
		prev, seen := empty[path]
		if !seen {
			order = append(order, path)
			prev = true
		}
		empty[path] = prev && none
	}
	for _, r := range recs {
		for i, f := range r.Schema().Fields() {
			visit(f.Name, r.Column(i))
		}
	}
	var out []string
	for _, p := range order {
		if empty[p] {
			out = append(out, p)
		}
	}
	return out
}
