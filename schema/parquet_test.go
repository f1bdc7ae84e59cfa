package schema

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
)

// TestParquetProperties checks the per-column settings on the Azure.Audit
// schema: every near-unique column exists in it (a renamed field would
// silently get a dictionary again), has no dictionary and, unless NoDelta,
// the DELTA encoding of its type; empty columns are neither compressed
// nor dictionary-encoded; other columns keep the defaults.
func TestParquetProperties(t *testing.T) {
	lt, err := Load("Azure.Audit")
	if err != nil {
		t.Fatal(err)
	}
	sc := lt.ArrowSchema()
	leaves := leafTypes(sc)
	for _, c := range uniqueColumns {
		if leaves[c] == nil {
			t.Errorf("near-unique column %s is not a leaf of Azure.Audit", c)
		}
	}

	props := ParquetProperties(memory.DefaultAllocator, sc, ParquetConfig{}, "properties.userId")
	plain := ParquetProperties(memory.DefaultAllocator, sc, ParquetConfig{NoDelta: true})
	for _, c := range []struct {
		path         string
		enc, noDelta parquet.Encoding
		dict         bool
	}{
		{ColRowID, parquet.Encodings.DeltaByteArray, parquet.Encodings.Plain, false},
		{ColEventTime, parquet.Encodings.DeltaBinaryPacked, parquet.Encodings.Plain, false},
		{ColSourceFile + ".offset", parquet.Encodings.DeltaBinaryPacked, parquet.Encodings.Plain, false},
		{ColAnyTraceIDs + ".list.element", parquet.Encodings.DeltaByteArray, parquet.Encodings.Plain, false},
		{"properties.durationMs", parquet.Encodings.DeltaBinaryPacked, parquet.Encodings.Plain, false},
		{"category", parquet.Encodings.Plain, parquet.Encodings.Plain, true},
		{"properties.userId", parquet.Encodings.Plain, parquet.Encodings.Plain, false},
	} {
		if got := leaves[c.path]; got == nil {
			t.Errorf("%s: not a leaf column", c.path)
		}
		if got := props.EncodingFor(c.path); got != c.enc {
			t.Errorf("%s: encoding %s, want %s", c.path, got, c.enc)
		}
		if got := plain.EncodingFor(c.path); got != c.noDelta {
			t.Errorf("%s with NoDelta: encoding %s, want %s", c.path, got, c.noDelta)
		}
		if got := props.DictionaryEnabledFor(c.path); got != c.dict {
			t.Errorf("%s: dictionary %v, want %v", c.path, got, c.dict)
		}
	}
	if got := props.CompressionFor("properties.userId"); got != compress.Codecs.Uncompressed {
		t.Errorf("empty column: compression %s, want none", got)
	}
	if got := props.CompressionFor("category"); got != compress.Codecs.Zstd {
		t.Errorf("category: compression %s, want zstd", got)
	}
	if got := props.CompressionLevelFor("category"); got != DefaultZstdLevel {
		t.Errorf("zstd level %d, want the default %d", got, DefaultZstdLevel)
	}
	if got := props.MaxRowGroupLength(); got != DefaultRowGroupRows {
		t.Errorf("row groups of %d rows, want the default %d", got, DefaultRowGroupRows)
	}
	// A schema without the columns (a custom log type) gets no encoding
	// for them: an encoding set on a column of another type would fail.
	other := arrow.NewSchema([]arrow.Field{{Name: "time", Type: arrow.FixedWidthTypes.Boolean}}, nil)
	if got := ParquetProperties(memory.DefaultAllocator, other, ParquetConfig{}).EncodingFor("time"); got != parquet.Encodings.Plain {
		t.Errorf("boolean time: encoding %s, want PLAIN", got)
	}
}
