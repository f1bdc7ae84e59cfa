// Package local reads an export laid out in a local folder the way
// `az storage blob download-batch` writes a storage account:
// <root>/<container>/<blob path>. It implements lister.Source and
// parser.BlobReader. Errors that no retry fixes (permission denied, a file
// where a folder should be) have Unusable() true (internal/fsfault).
package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/entralake/entralake/internal/fsfault"
	"github.com/entralake/entralake/schema"
)

// Dir is an export folder.
type Dir struct {
	Root string
	// Only limits the containers read; empty means every
	// insights-logs-* folder.
	Only []string
}

// ErrBadName reports a container or blob name that would leave the folder.
var ErrBadName = errors.New("bad blob name")

// Containers implements lister.Source.
func (d Dir) Containers(ctx context.Context) ([]string, error) {
	if len(d.Only) > 0 {
		return d.Only, nil
	}
	entries, err := os.ReadDir(d.Root)
	if err != nil {
		return nil, fmt.Errorf("read export folder: %w", fsfault.Classify(err))
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() && strings.HasPrefix(e.Name(), schema.ContainerPrefix) {
			out = append(out, e.Name())
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("export folder %s has no %s* folders", d.Root, schema.ContainerPrefix)
	}
	return out, nil
}

// ListDir implements lister.Source.
func (d Dir) ListDir(ctx context.Context, container, prefix string) ([]string, []schema.Blob, error) {
	dir, err := d.path(container, prefix)
	if err != nil {
		return nil, nil, err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, fsfault.Classify(err)
	}
	var dirs []string
	var blobs []schema.Blob
	for _, e := range entries {
		name := prefix + e.Name()
		if e.IsDir() {
			dirs = append(dirs, name+"/")
			continue
		}
		if !e.Type().IsRegular() {
			continue
		}
		info, err := e.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return nil, nil, err
		}
		blobs = append(blobs, schema.Blob{Container: container, Name: name, Size: info.Size(), ModTime: info.ModTime(),
			ETag: strconv.FormatInt(info.ModTime().UnixNano(), 36)})
	}
	slices.Sort(dirs)
	return dirs, blobs, nil
}

// ReadRange implements parser.BlobReader.
func (d Dir) ReadRange(ctx context.Context, container, blob string, off, n int64) (io.ReadCloser, error) {
	p, err := d.path(container, blob)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, fsfault.Classify(err)
	}
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	if n < 0 {
		return f, nil
	}
	return struct {
		io.Reader
		io.Closer
	}{io.LimitReader(f, n), f}, nil
}

func (d Dir) path(container, name string) (string, error) {
	rel := filepath.Join(container, filepath.FromSlash(name))
	if container == "" || strings.ContainsAny(container, `/\`) || (rel != "." && !filepath.IsLocal(rel)) {
		return "", fmt.Errorf("%w: %q/%q", ErrBadName, container, name)
	}
	return filepath.Join(d.Root, rel), nil
}
