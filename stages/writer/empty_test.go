package writer_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/entralake/entralake/lake/dir"
	"github.com/entralake/entralake/schema"
	"github.com/entralake/entralake/stages/writer"
)

// TestWriteEmptyFiles writes the empty files of the Azure.Audit tables:
// each is a Parquet file with the table's columns and no row, and a second
// call leaves them as they are.
func TestWriteEmptyFiles(t *testing.T) {
	lt, err := schema.Load("Azure.Audit")
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	lake := dir.Lake{Root: root}
	files := schema.EmptyFiles(lt)
	ctx := context.Background()
	if err := writer.WriteEmptyFiles(ctx, lake, files, schema.ParquetConfig{}); err != nil {
		t.Fatal(err)
	}
	before := map[string][]byte{}
	for _, ef := range files {
		data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(ef.Rel)))
		if err != nil {
			t.Fatal(err)
		}
		before[ef.Rel] = data
		r, err := file.NewParquetReader(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("%s: %v", ef.Rel, err)
		}
		if n := r.NumRows(); n != 0 {
			t.Errorf("%s: %d rows", ef.Rel, n)
		}
		fr, err := pqarrow.NewFileReader(r, pqarrow.ArrowReadProperties{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		sc, err := fr.Schema()
		if err != nil {
			t.Fatal(err)
		}
		if sc.NumFields() != ef.Schema.NumFields() {
			t.Fatalf("%s: %d columns, want %d", ef.Rel, sc.NumFields(), ef.Schema.NumFields())
		}
		for i, f := range ef.Schema.Fields() { // the reader adds field ids as metadata
			if g := sc.Field(i); g.Name != f.Name || !arrow.TypeEqual(g.Type, f.Type) {
				t.Errorf("%s: column %d is %s %s, want %s %s", ef.Rel, i, g.Name, g.Type, f.Name, f.Type)
			}
		}
	}
	if err := writer.WriteEmptyFiles(ctx, lake, files, schema.ParquetConfig{}); err != nil {
		t.Fatal(err)
	}
	for _, ef := range files {
		data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(ef.Rel)))
		if err != nil || !bytes.Equal(data, before[ef.Rel]) {
			t.Errorf("%s changed on the second call (%v)", ef.Rel, err)
		}
	}
}
