package writer

import (
	"context"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/entralake/entralake/schema"
)

// WriteEmptyFiles writes each of files that the lake lacks: a Parquet file
// with the file's columns and no row (see schema.EmptySuffix). It is
// idempotent; writers call it when they open the lake.
func WriteEmptyFiles(ctx context.Context, l Lake, files []schema.EmptyFile, cfg schema.ParquetConfig) error {
	for _, ef := range files {
		ok, err := l.Exists(ctx, ef.Rel)
		if err != nil {
			return fmt.Errorf("empty file %s: %w", ef.Rel, err)
		}
		if ok {
			continue
		}
		f, err := l.Create(ctx, ef.Rel)
		if err != nil {
			return fmt.Errorf("empty file %s: %w", ef.Rel, err)
		}
		props := schema.ParquetProperties(memory.DefaultAllocator, ef.Schema, cfg)
		// The file writer closes a sink that is an io.Closer: hide f's
		// Close, Commit finishes it.
		fw, err := pqarrow.NewFileWriter(ef.Schema, struct{ io.Writer }{f}, props, pqarrow.DefaultWriterProps())
		if err == nil {
			err = fw.Close()
		}
		if err == nil {
			err = f.Commit(ctx)
		}
		if err != nil {
			_ = f.Abort()
			return fmt.Errorf("empty file %s: %w", ef.Rel, err)
		}
	}
	return nil
}
