// Package pqmerge merges Parquet files of one table into one file with the
// lake's Parquet settings (schema.ParquetProperties): what compaction does
// to a partition's small files, in a folder or object-store lake
// (stages/compact) and in an Iceberg table (lake/iceberg/maintain). It reads what
// planning needs from a file's footer alone (Read), and writes the merged
// file to any io.Writer (Merge), so that the caller decides where files
// live.
//
// A merged file is as engine-safe as its inputs: a leaf column without a
// value in every input has no value in it either (no dictionary, no
// compression: schema.EmptyChunk), and it is written without DELTA
// encodings when any input was (a lake written with --no-parquet-delta
// stays readable to old readers).
package pqmerge

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/metadata"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/entralake/entralake/schema"
)

// arrowSchemaKey is the footer key under which pqarrow stores the Arrow
// schema; Read leaves it out of Info.Meta.
const arrowSchemaKey = "ARROW:schema"

// Info is what Read learns of a Parquet file from its footer.
type Info struct {
	// Rows is the file's number of rows.
	Rows int64
	// Schema is the file's Arrow schema, without schema-level metadata.
	Schema *arrow.Schema
	// Meta is the footer's key-value metadata (the stored Arrow schema
	// aside), e.g. the batch ids under lake.MetaBatches.
	Meta map[string]string
	// Empty are the leaf columns (dotted Parquet paths) without a value in
	// the file: each of their chunks is schema.EmptyChunk.
	Empty []string
	// Plain is set when no column chunk uses a DELTA encoding.
	Plain bool
}

// Read reads the footer of the Parquet file r.
func Read(r parquet.ReaderAtSeeker, mem memory.Allocator) (Info, error) {
	pr, err := file.NewParquetReader(r)
	if err != nil {
		return Info{}, fmt.Errorf("open parquet: %w", err)
	}
	defer pr.Close()
	fr, err := pqarrow.NewFileReader(pr, pqarrow.ArrowReadProperties{}, mem)
	if err != nil {
		return Info{}, fmt.Errorf("read parquet: %w", err)
	}
	sc, err := fr.Schema()
	if err != nil {
		return Info{}, fmt.Errorf("arrow schema: %w", err)
	}
	md := pr.MetaData()
	in := Info{Rows: pr.NumRows(), Schema: arrow.NewSchema(sc.Fields(), nil), Meta: map[string]string{},
		Empty: EmptyLeaves(md), Plain: !UsesDelta(md)}
	kv := md.KeyValueMetadata()
	for i, k := range kv.Keys() {
		if k != arrowSchemaKey {
			in.Meta[k] = kv.Values()[i]
		}
	}
	return in, nil
}

// SameColumns reports whether a and b have the same columns: names,
// types (nested ones too) and nullability, in the same order. Field
// metadata (such as Parquet field ids) is not compared.
func SameColumns(a, b *arrow.Schema) bool {
	if a.NumFields() != b.NumFields() {
		return false
	}
	for i := range a.NumFields() {
		fa, fb := a.Field(i), b.Field(i)
		if fa.Name != fb.Name || fa.Nullable != fb.Nullable || !arrow.TypeEqual(fa.Type, fb.Type) {
			return false
		}
	}
	return true
}

// EmptyLeaves lists the leaf columns that hold no value in the file.
func EmptyLeaves(md *metadata.FileMetaData) []string {
	var out []string
	for i := range md.Schema.NumColumns() {
		empty := md.NumRowGroups() > 0
		for rg := 0; rg < md.NumRowGroups() && empty; rg++ {
			cc, err := md.RowGroup(rg).ColumnChunk(i)
			empty = err == nil && schema.EmptyChunk(cc)
		}
		if empty {
			out = append(out, md.Schema.Column(i).ColumnPath().String())
		}
	}
	return out
}

// UsesDelta reports whether any column chunk of the file uses a DELTA
// encoding.
func UsesDelta(md *metadata.FileMetaData) bool {
	for rg := range md.NumRowGroups() {
		for i := range md.Schema.NumColumns() {
			cc, err := md.RowGroup(rg).ColumnChunk(i)
			if err != nil {
				continue
			}
			for _, e := range cc.Encodings() {
				switch e {
				case parquet.Encodings.DeltaBinaryPacked, parquet.Encodings.DeltaByteArray, parquet.Encodings.DeltaLengthByteArray:
					return true
				}
			}
		}
	}
	return false
}

// Input is a file to merge.
type Input struct {
	// Name names it in errors.
	Name string
	// Info is what Read returned for it.
	Info Info
	// Open opens it for reading; Merge closes it.
	Open func() (ReadAtSeekCloser, error)
}

// ReadAtSeekCloser is an open Parquet file (an *os.File, iceberg-go's
// io.File).
type ReadAtSeekCloser interface {
	io.ReaderAt
	io.Seeker
	io.Closer
}

// Merge writes the rows of inputs, in order, into one Parquet file on w,
// with the columns of sc (each input's columns must be sc's:
// SameColumns), the Parquet settings cfg (NoDelta is implied when an
// input is Plain), and meta as the footer's key-value metadata. It
// returns the rows written, and fails when they differ from the inputs'
// footers. It does not close w.
func Merge(ctx context.Context, w io.Writer, sc *arrow.Schema, cfg schema.ParquetConfig, mem memory.Allocator, inputs []Input, meta map[string]string) (int64, error) {
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	var empty []string
	var want int64
	for i, in := range inputs {
		if i == 0 {
			empty = slices.Clone(in.Info.Empty)
		} else {
			empty = slices.DeleteFunc(empty, func(p string) bool { return !slices.Contains(in.Info.Empty, p) })
		}
		cfg.NoDelta = cfg.NoDelta || in.Info.Plain
		want += in.Info.Rows
	}
	fw, err := pqarrow.NewFileWriter(sc, writerOnly{w}, schema.ParquetProperties(mem, sc, cfg, empty...),
		pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema(), pqarrow.WithAllocator(mem)))
	if err != nil {
		return 0, fmt.Errorf("start merged file: %w", err)
	}
	var rows int64
	for _, in := range inputs {
		n, err := copyRows(ctx, in, fw, sc, mem)
		rows += n
		if err != nil {
			fw.Close()
			return rows, fmt.Errorf("merge %s: %w", in.Name, err)
		}
	}
	if rows != want {
		fw.Close()
		return rows, fmt.Errorf("merge: read %d rows, the inputs' footers say %d", rows, want)
	}
	for _, k := range slices.Sorted(maps.Keys(meta)) {
		if err := fw.AppendKeyValueMetadata(k, meta[k]); err != nil {
			fw.Close()
			return rows, err
		}
	}
	if err := fw.Close(); err != nil {
		return rows, fmt.Errorf("finish merged file: %w", err)
	}
	return rows, nil
}

// copyRows appends the rows of one input to fw.
func copyRows(ctx context.Context, in Input, fw *pqarrow.FileWriter, sc *arrow.Schema, mem memory.Allocator) (int64, error) {
	f, err := in.Open()
	if err != nil {
		return 0, err
	}
	defer f.Close()
	r, err := file.NewParquetReader(f)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	fr, err := pqarrow.NewFileReader(r, pqarrow.ArrowReadProperties{BatchSize: 16 * 1024}, mem)
	if err != nil {
		return 0, err
	}
	rr, err := fr.GetRecordReader(ctx, nil, nil)
	if err != nil {
		return 0, err
	}
	defer rr.Release()
	var n int64
	for rr.Next() {
		rec := rr.RecordBatch()
		batch := array.NewRecordBatch(sc, rec.Columns(), rec.NumRows())
		err := fw.WriteBuffered(batch)
		batch.Release()
		if err != nil {
			return n, err
		}
		n += rec.NumRows()
	}
	return n, rr.Err()
}

// writerOnly hides a Close, so that closing the Parquet writer leaves the
// file open for the caller (to sync it, or to commit an upload).
type writerOnly struct{ w io.Writer }

func (w writerOnly) Write(b []byte) (int, error) { return w.w.Write(b) }
