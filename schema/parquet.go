package schema

import (
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
// dictionaries except on near-unique columns.
func ParquetProperties(mem memory.Allocator, level int, rowGroupRows int64) *parquet.WriterProperties {
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
	return parquet.NewWriterProperties(opts...)
}
