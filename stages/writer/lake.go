package writer

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/entralake/entralake/internal/fsfault"
)

// Lake stores the files of the lake.
type Lake interface {
	// Create starts a file at rel (a slash-separated path inside the
	// lake); it becomes visible only when committed.
	Create(ctx context.Context, rel string) (File, error)
	// Exists reports whether a committed file is at rel.
	Exists(ctx context.Context, rel string) (bool, error)
}

// File is a lake file being written.
type File interface {
	io.Writer
	// Commit makes the file visible, whole, under its name.
	Commit(ctx context.Context) error
	// Abort discards it.
	Abort() error
}

// ErrUnsafePath reports a lake path that would leave the lake folder.
var ErrUnsafePath = errors.New("unsafe lake path")

// DirLake is a lake in a local folder. A file is written under a temporary
// name that starts with '.', which query engines ignore, synced, renamed
// into place, and its folder synced: a crash leaves the old state or the
// whole new file, never a part of it. Errors that no retry fixes
// (permission denied, read-only, a file where a folder should be, a full
// disk) have Unusable() true (internal/fsfault).
type DirLake struct {
	Root string
}

// Create implements Lake.
func (d DirLake) Create(_ context.Context, rel string) (File, error) {
	p, err := d.path(rel)
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(p)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create lake folder: %w", fsfault.Classify(err))
	}
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	tmp := filepath.Join(dir, "."+filepath.Base(p)+".tmp-"+hex.EncodeToString(rnd[:]))
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("create lake file: %w", fsfault.Classify(err))
	}
	return &dirFile{f: f, tmp: tmp, final: p}, nil
}

// Probe checks that the lake folder takes a file: it creates one (and the
// folder, if missing), writes a byte and removes it.
func (d DirLake) Probe(context.Context) error {
	if err := os.MkdirAll(d.Root, 0o755); err != nil {
		return fmt.Errorf("lake %s is not usable: %w", d.Root, fsfault.Classify(err))
	}
	f, err := os.CreateTemp(d.Root, ".entralake-probe-*")
	if err != nil {
		return fmt.Errorf("lake %s is not writable: %w", d.Root, fsfault.Classify(err))
	}
	_, err = f.Write([]byte{'\n'})
	err = errors.Join(err, f.Close(), os.Remove(f.Name()))
	if err != nil {
		return fmt.Errorf("lake %s is not writable: %w", d.Root, fsfault.Classify(err))
	}
	return nil
}

// Exists implements Lake.
func (d DirLake) Exists(_ context.Context, rel string) (bool, error) {
	p, err := d.path(rel)
	if err != nil {
		return false, err
	}
	_, err = os.Stat(p)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	}
	return false, fsfault.Classify(err)
}

// ReadFile returns the bytes of the file at rel (small files: the lake's
// marker); a missing file is an error matching fs.ErrNotExist.
func (d DirLake) ReadFile(_ context.Context, rel string) ([]byte, error) {
	p, err := d.path(rel)
	if err != nil {
		return nil, err
	}
	return os.ReadFile(p)
}

func (d DirLake) path(rel string) (string, error) {
	if !filepath.IsLocal(filepath.FromSlash(rel)) || strings.Contains(rel, "\\") {
		return "", fmt.Errorf("%w: %q", ErrUnsafePath, rel)
	}
	return filepath.Join(d.Root, filepath.FromSlash(rel)), nil
}

// RemoveStaleTemp deletes temporary files older than age, left by writers
// that crashed; younger ones may belong to a running writer.
func (d DirLake) RemoveStaleTemp(age time.Duration) (int, error) {
	n := 0
	err := filepath.WalkDir(d.Root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if e.IsDir() || !strings.HasPrefix(e.Name(), ".") || !strings.Contains(e.Name(), ".tmp-") {
			return nil
		}
		if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > age {
			if os.Remove(p) == nil {
				n++
			}
		}
		return nil
	})
	return n, err
}

type dirFile struct {
	f          *os.File
	tmp, final string
}

func (f *dirFile) Write(b []byte) (int, error) {
	n, err := f.f.Write(b)
	return n, fsfault.Classify(err)
}

func (f *dirFile) Commit(context.Context) error {
	if err := f.f.Sync(); err != nil {
		f.Abort()
		return fmt.Errorf("sync %s: %w", f.tmp, fsfault.Classify(err))
	}
	if err := f.f.Close(); err != nil {
		os.Remove(f.tmp)
		return fmt.Errorf("close %s: %w", f.tmp, fsfault.Classify(err))
	}
	if err := os.Rename(f.tmp, f.final); err != nil {
		os.Remove(f.tmp)
		return fmt.Errorf("rename into place: %w", fsfault.Classify(err))
	}
	dir, err := os.Open(filepath.Dir(f.final))
	if err != nil {
		return fmt.Errorf("sync lake folder: %w", err)
	}
	defer dir.Close()
	if err := dir.Sync(); err != nil {
		return fmt.Errorf("sync lake folder: %w", err)
	}
	return nil
}

func (f *dirFile) Abort() error {
	f.f.Close()
	return os.Remove(f.tmp)
}
