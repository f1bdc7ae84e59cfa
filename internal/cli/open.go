package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/entralake/entralake/source/local"
	"github.com/entralake/entralake/stages/lister"
	"github.com/entralake/entralake/stages/writer"
)

// Source is what the lister lists and the parsers read.
type Source interface {
	lister.Source
	ReadRange(ctx context.Context, container, blob string, off, n int64) (io.ReadCloser, error)
}

// openSource opens --source: a local export folder.
func openSource(ctx context.Context, f SourceFlags) (Source, error) {
	info, err := os.Stat(f.Source)
	if err != nil {
		return nil, fmt.Errorf("source: %w", err)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("source %s is not a folder", f.Source)
	}
	return local.Dir{Root: f.Source, Only: f.Containers}, nil
}

// openLake opens --lake: a local folder.
func openLake(ctx context.Context, f WriterFlags, log *slog.Logger) (writer.Lake, error) {
	if err := os.MkdirAll(f.Lake, 0o755); err != nil {
		return nil, fmt.Errorf("lake: %w", err)
	}
	lake := writer.DirLake{Root: f.Lake}
	if n, err := lake.RemoveStaleTemp(time.Hour); err == nil && n > 0 {
		log.Info("removed temporary files of crashed writers", "files", n)
	}
	return lake, nil
}
