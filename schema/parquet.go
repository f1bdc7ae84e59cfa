package schema

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/metadata"
)

// Defaults of the lake's Parquet settings, for the writer and compaction.
// zstd level 1 makes files 0.4% bigger than level 3 and costs 7% fewer
// instructions to write (compaction, which has time, merges at level 3).
const (
	DefaultZstdLevel    = 1
	DefaultRowGroupRows = 128 * 1024
)

// uniqueColumns hold values that are (nearly) all distinct: a dictionary
// only costs time and space there. Measured on generated sign-in and audit
// data, turning it off for these makes files about 7% smaller and encoding
// faster (stages/writer BenchmarkWrite). durationMs and responseSizeBytes
// repeat some values, but DELTA_BINARY_PACKED still beats a dictionary on
// them (one-hour bench export: 82 -> 45 KB and 58 -> 44 KB); every other
// column was larger without its dictionary.
var uniqueColumns = []string{
	"time", "correlationId", "durationMs", ColEventTime, ColRowID, ColAnyTraceIDs + ".list.element", ColSourceFile + ".offset",
	"properties.id", "properties.correlationId", "properties.originalRequestId", "properties.uniqueTokenIdentifier",
	"properties.createdDateTime", "properties.activityDateTime", "properties.timeGenerated", "properties.requestId",
	"properties.operationId", "properties.clientRequestId", "properties.signInActivityId", "properties.durationMs",
	"properties.__UDI_RequiredFields_UniqueId", "properties.__UDI_RequiredFields_EventTime", "properties.responseSizeBytes",
}

// ParquetConfig holds the lake's Parquet settings that users choose.
type ParquetConfig struct {
	// ZstdLevel is the zstd level of every page (DefaultZstdLevel if 0).
	ZstdLevel int
	// RowGroupRows bounds a row group (DefaultRowGroupRows if 0).
	RowGroupRows int64
	// NoDelta writes the near-unique columns PLAIN instead of with the
	// DELTA encodings, for readers that know only PLAIN and dictionaries
	// (Spark before 3.3).
	NoDelta bool
}

// ParquetProperties are the settings of every lake file of schema sc,
// written by the writer or by compaction: zstd, bounded row groups,
// statistics and a page index on every column, dictionaries except on
// near-unique columns, which get DELTA_BINARY_PACKED (integers and
// timestamps) or DELTA_BYTE_ARRAY (strings) unless cfg.NoDelta. The
// columns empty names (dotted paths, from NullLeaves) hold no value: they
// get neither a dictionary nor compression, as zstd cannot shrink their
// few bytes of levels and costs a call per page.
//
// The two DELTA encodings are the ones parquet-mr's version 2 writer
// picks, read by Spark 3.3 and later, Trino, Athena, Hive and DuckDB; on
// the generated one-hour export they make the lake 6% smaller and the
// encoding faster than PLAIN (stages/writer BenchmarkWrite). Not used:
// DELTA_LENGTH_BYTE_ARRAY (Spark's vectorized reader refused it alone
// until 3.4) and BYTE_STREAM_SPLIT (newer still).
func ParquetProperties(mem memory.Allocator, sc *arrow.Schema, cfg ParquetConfig, empty ...string) *parquet.WriterProperties {
	if cfg.ZstdLevel == 0 {
		cfg.ZstdLevel = DefaultZstdLevel
	}
	if cfg.RowGroupRows <= 0 {
		cfg.RowGroupRows = DefaultRowGroupRows
	}
	opts := []parquet.WriterProperty{
		parquet.WithAllocator(mem),
		parquet.WithCompression(compress.Codecs.Zstd),
		parquet.WithCompressionLevel(cfg.ZstdLevel),
		parquet.WithMaxRowGroupLength(cfg.RowGroupRows),
		parquet.WithStats(true),
		parquet.WithPageIndexEnabled(true),
		parquet.WithDictionaryDefault(true),
		parquet.WithCreatedBy("entralake"),
	}
	leaves := leafTypes(sc)
	for _, c := range uniqueColumns {
		opts = append(opts, parquet.WithDictionaryFor(c, false))
		if enc, ok := deltaEncoding(leaves[c]); ok && !cfg.NoDelta {
			opts = append(opts, parquet.WithEncodingFor(c, enc))
		}
	}
	for _, c := range empty {
		opts = append(opts, parquet.WithDictionaryFor(c, false), parquet.WithCompressionFor(c, compress.Codecs.Uncompressed))
	}
	return parquet.NewWriterProperties(opts...)
}

// deltaEncoding is the DELTA encoding of a near-unique column of type t.
func deltaEncoding(t arrow.DataType) (parquet.Encoding, bool) {
	if t == nil {
		return 0, false
	}
	switch t.ID() {
	case arrow.INT32, arrow.INT64, arrow.TIMESTAMP:
		return parquet.Encodings.DeltaBinaryPacked, true
	case arrow.STRING, arrow.BINARY:
		return parquet.Encodings.DeltaByteArray, true
	}
	return 0, false
}

// leafTypes maps the Parquet path of every leaf column of sc (lists as
// <name>.list.element) to its Arrow type.
func leafTypes(sc *arrow.Schema) map[string]arrow.DataType {
	out := map[string]arrow.DataType{}
	if sc == nil {
		return out
	}
	var visit func(path string, t arrow.DataType)
	visit = func(path string, t arrow.DataType) {
		switch t := t.(type) {
		case *arrow.StructType:
			for _, f := range t.Fields() {
				visit(path+"."+f.Name, f.Type)
			}
		case *arrow.ListType:
			visit(path+".list.element", t.Elem())
		default:
			out[path] = t
		}
	}
	for _, f := range sc.Fields() {
		visit(f.Name, f.Type)
	}
	return out
}

// EmptyChunk reports whether a written column chunk holds no value: its
// statistics count as many nulls as values (arrow-go counts null and
// empty lists, null parents and null elements alike). It is NullLeaves'
// test on a file's footer; a chunk without statistics is not empty.
func EmptyChunk(cc *metadata.ColumnChunkMetaData) bool {
	st, err := cc.Statistics()
	return err == nil && st != nil && st.HasNullCount() && st.NullCount() == cc.NumValues()
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
