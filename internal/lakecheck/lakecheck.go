// Package lakecheck inspects a lake Parquet file for the properties that
// make it readable, with the same values, by DuckDB, Trino, Athena, Spark
// and Snowflake: INT64 microsecond UTC timestamps (never INT96 or
// nanoseconds), the standard three-level LIST, no unsigned integers, no JSON
// logical annotation, zstd pages (no compression only where a column chunk
// holds no value), the encodings of parquet-mr's writers only, column
// statistics and a page index.
//
// It reads only the file's footer and page index, with arrow-go's
// parquet/file and parquet/metadata readers, so it is cheap to run on every
// file of a lake.
//
// # Errors
//
// [CheckFile] returns an error only when the file cannot be opened or its
// metadata cannot be read; what it finds wrong with a readable file are
// [Problem] values.
package lakecheck

import (
	"fmt"
	"slices"

	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/metadata"
	pqschema "github.com/apache/arrow-go/v18/parquet/schema"
	"github.com/entralake/entralake/schema"
)

// Problem is one property of a file that an engine may read differently or
// not at all.
type Problem struct {
	// Column is the dotted path of the column (leaf or group), or "" for the
	// whole file.
	Column string
	// Issue says what is wrong.
	Issue string
}

func (p Problem) String() string {
	if p.Column == "" {
		return p.Issue
	}
	return p.Column + ": " + p.Issue
}

// Options say which columns must carry min/max statistics.
type Options struct {
	// MinMax lists leaf column paths (e.g. "p_event_time") whose statistics
	// must have a min and a max in every row group with a non-null value.
	MinMax []string
}

// Report is what CheckFile found.
type Report struct {
	Rows, RowGroups, Columns int
	// KeyValue is the file's key-value metadata.
	KeyValue map[string]string
	// Encodings lists, per leaf column path, the encodings of its chunks.
	Encodings map[string][]parquet.Encoding
	Problems  []Problem
}

// CheckFile inspects the Parquet file at path.
func CheckFile(path string, opt Options) (*Report, error) {
	r, err := file.OpenParquetFile(path, false)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	defer r.Close()
	md := r.MetaData()
	rep := &Report{Rows: int(md.NumRows), RowGroups: r.NumRowGroups(), Columns: md.Schema.NumColumns(), KeyValue: map[string]string{},
		Encodings: map[string][]parquet.Encoding{}}
	for _, kv := range md.KeyValueMetadata() {
		if kv.Value != nil {
			rep.KeyValue[kv.Key] = *kv.Value
		}
	}
	add := func(col, format string, args ...any) {
		rep.Problems = append(rep.Problems, Problem{Column: col, Issue: fmt.Sprintf(format, args...)})
	}
	checkNodes(md.Schema.Root(), "", add)
	for i, c := range md.Schema.Columns() {
		checkLeaf(c, add)
		_ = i
	}
	if err := checkChunks(r, md, opt, rep, add); err != nil {
		return nil, fmt.Errorf("read metadata of %s: %w", path, err)
	}
	return rep, nil
}

// checkNodes walks the schema tree: every LIST is the three-level form
// <list> (LIST) { repeated group list { <element> } }, and nothing carries
// the JSON annotation.
func checkNodes(n pqschema.Node, path string, add func(string, string, ...any)) {
	g, ok := n.(*pqschema.GroupNode)
	if !ok {
		return
	}
	for i := 0; i < g.NumFields(); i++ {
		f := g.Field(i)
		p := f.Name()
		if path != "" {
			p = path + "." + p
		}
		if _, isList := f.LogicalType().(pqschema.ListLogicalType); isList {
			checkList(f, p, add)
		} else if f.RepetitionType() == parquet.Repetitions.Repeated && path == "" {
			add(p, "repeated field outside a LIST (a two-level or bare repeated list)")
		}
		checkNodes(f, p, add)
	}
}

func checkList(n pqschema.Node, path string, add func(string, string, ...any)) {
	g, ok := n.(*pqschema.GroupNode)
	if !ok || g.NumFields() != 1 {
		add(path, "LIST is not a group with one child")
		return
	}
	mid, ok := g.Field(0).(*pqschema.GroupNode)
	if !ok || mid.RepetitionType() != parquet.Repetitions.Repeated || mid.Name() != "list" || mid.NumFields() != 1 {
		add(path, "LIST child is not `repeated group list` with one field (not the three-level form)")
		return
	}
	if el := mid.Field(0); el.Name() != "element" {
		add(path, "LIST element is named %q, want \"element\"", el.Name())
	} else if el.RepetitionType() == parquet.Repetitions.Repeated {
		add(path, "LIST element is repeated")
	}
}

// checkLeaf checks one leaf column's physical and logical types.
func checkLeaf(c *pqschema.Column, add func(string, string, ...any)) {
	p := c.ColumnPath().String()
	if c.PhysicalType() == parquet.Types.Int96 {
		add(p, "INT96 timestamp (deprecated; engines disagree on its time zone)")
	}
	switch lt := c.LogicalType().(type) {
	case *pqschema.TimestampLogicalType:
		checkTimestamp(p, c, *lt, add)
	case pqschema.TimestampLogicalType:
		checkTimestamp(p, c, lt, add)
	case *pqschema.IntLogicalType:
		if !lt.IsSigned() {
			add(p, "unsigned integer (%s): Hive, Athena and Snowflake have no unsigned types", lt)
		}
	case pqschema.IntLogicalType:
		if !lt.IsSigned() {
			add(p, "unsigned integer (%s): Hive, Athena and Snowflake have no unsigned types", lt)
		}
	case pqschema.JSONLogicalType, *pqschema.JSONLogicalType:
		add(p, "JSON logical type: Athena and older Spark read it as binary; keep json as UTF-8 strings")
	}
	if c.ConvertedType() == pqschema.ConvertedTypes.Uint8 || c.ConvertedType() == pqschema.ConvertedTypes.Uint16 ||
		c.ConvertedType() == pqschema.ConvertedTypes.Uint32 || c.ConvertedType() == pqschema.ConvertedTypes.Uint64 {
		add(p, "unsigned converted type %s", c.ConvertedType())
	}
}

func checkTimestamp(p string, c *pqschema.Column, lt pqschema.TimestampLogicalType, add func(string, string, ...any)) {
	if c.PhysicalType() != parquet.Types.Int64 {
		add(p, "timestamp stored as %s, want INT64", c.PhysicalType())
	}
	if !lt.IsAdjustedToUTC() {
		add(p, "timestamp with isAdjustedToUTC=false (a local time), want true")
	}
	if lt.TimeUnit() != pqschema.TimeUnitMicros {
		add(p, "timestamp unit %s, want MICROS (Spark and Athena lose or reject nanoseconds)", lt)
	}
}

// readableEncodings are the encodings every engine of the lake reads:
// those of parquet-mr's version 1 and 2 writers. Spark read
// DELTA_LENGTH_BYTE_ARRAY alone only from 3.4, BYTE_STREAM_SPLIT later.
var readableEncodings = []parquet.Encoding{
	parquet.Encodings.Plain, parquet.Encodings.PlainDict, parquet.Encodings.RLE, parquet.Encodings.RLEDict,
	parquet.Encodings.DeltaBinaryPacked, parquet.Encodings.DeltaByteArray,
}

// checkChunks checks every column chunk of every row group: zstd (or
// none, for a chunk that holds no value), readable encodings, statistics, a column index and
// an offset index.
func checkChunks(r *file.Reader, md *metadata.FileMetaData, opt Options, rep *Report, add func(string, string, ...any)) error {
	pir := r.GetPageIndexReader()
	for rg := 0; rg < r.NumRowGroups(); rg++ {
		rgmd := md.RowGroup(rg)
		var rgpi *metadata.RowGroupPageIndexReader
		if pir != nil {
			var err error
			if rgpi, err = pir.RowGroup(rg); err != nil {
				return fmt.Errorf("page index of row group %d: %w", rg, err)
			}
		}
		for i := 0; i < rgmd.NumColumns(); i++ {
			cc, err := rgmd.ColumnChunk(i)
			if err != nil {
				return fmt.Errorf("row group %d column %d: %w", rg, i, err)
			}
			p := cc.PathInSchema().String()
			set, err := cc.StatsSet()
			if err != nil {
				return fmt.Errorf("row group %d column %s: %w", rg, p, err)
			}
			if c := cc.Compression(); c != compress.Codecs.Zstd && !(c == compress.Codecs.Uncompressed && set && schema.EmptyChunk(cc)) {
				add(p, "row group %d: compression %s, want ZSTD (only a column chunk without values may be UNCOMPRESSED)", rg, c)
			}
			for _, e := range cc.Encodings() {
				if !slices.Contains(rep.Encodings[p], e) {
					rep.Encodings[p] = append(rep.Encodings[p], e)
				}
				if !slices.Contains(readableEncodings, e) {
					add(p, "row group %d: encoding %s; engines read only %v", rg, e, readableEncodings)
				}
			}
			hasMinMax := false
			if !set {
				add(p, "row group %d: no column statistics", rg)
			} else {
				st, err := cc.Statistics()
				if err != nil {
					return fmt.Errorf("row group %d column %s: %w", rg, p, err)
				}
				hasMinMax = st.HasMinMax()
				if slices.Contains(opt.MinMax, p) && st.NullCount() < cc.NumValues() && !hasMinMax {
					add(p, "row group %d: statistics without min/max", rg)
				}
			}
			// A column index describes the min/max of each page: a chunk with
			// values has one (arrow-go leaves it out of chunks whose values
			// are all null below a list, which nothing can prune anyway).
			if hasMinMax && cc.GetColumnIndexLocation() == nil {
				add(p, "row group %d: no column index (page index)", rg)
			}
			if cc.GetOffsetIndexLocation() == nil {
				add(p, "row group %d: no offset index (page index)", rg)
			}
			if rgpi != nil {
				if oi, err := rgpi.GetOffsetIndex(i); err != nil || oi == nil || len(oi.GetPageLocations()) == 0 {
					add(p, "row group %d: offset index unreadable or empty (%v)", rg, err)
				}
			}
		}
	}
	if pir == nil && r.NumRowGroups() > 0 {
		add("", "no page index reader")
	}
	return nil
}

// Columns returns the dotted paths of the file's leaf columns, in order.
func Columns(path string) ([]string, error) {
	r, err := file.OpenParquetFile(path, false)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	defer r.Close()
	var out []string
	for _, c := range r.MetaData().Schema.Columns() {
		out = append(out, c.ColumnPath().String())
	}
	return out, nil
}
