package dir

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/entralake/entralake/internal/fsfault"
	"github.com/entralake/entralake/lake"
)

// Lake is a lake in a local folder. A file is written under a temporary
// name that starts with '.', which query engines ignore, synced, renamed
// into place, and its folder synced: a crash leaves the old state or the
// whole new file, never a part of it. Errors that no retry fixes
// (permission denied, read-only, a file where a folder should be, a full
// disk) have Unusable() true (internal/fsfault).
type Lake struct {
	Root string
}

// Create starts a file at rel, written under a temporary name until it
// is committed.
func (d Lake) Create(_ context.Context, rel string) (lake.File, error) {
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
func (d Lake) Probe(context.Context) error {
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

// Exists reports whether a committed file is at rel.
func (d Lake) Exists(_ context.Context, rel string) (bool, error) {
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
func (d Lake) ReadFile(_ context.Context, rel string) ([]byte, error) {
	p, err := d.path(rel)
	if err != nil {
		return nil, err
	}
	return os.ReadFile(p)
}

// path is the file path of rel, a clean relative lake path
// (lake.CheckPath) that is also local to the folder on this system
// (filepath.IsLocal: no reserved name on Windows).
func (d Lake) path(rel string) (string, error) {
	if err := lake.CheckPath(rel); err != nil {
		return "", err
	}
	if !filepath.IsLocal(filepath.FromSlash(rel)) {
		return "", fmt.Errorf("%w: %q", lake.ErrUnsafePath, rel)
	}
	return filepath.Join(d.Root, filepath.FromSlash(rel)), nil
}

// Folders creates the folders rels (lake paths) if they are missing:
// engines that register a table on a folder (Trino's external_location,
// sync_partition_metadata) refuse one that does not exist.
func (d Lake) Folders(rels ...string) error {
	for _, rel := range rels {
		p, err := d.path(rel)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(p, 0o755); err != nil {
			return fsfault.Classify(err)
		}
	}
	return nil
}

// RemoveStaleTemp deletes temporary files older than age, left by writers
// that crashed; younger ones may belong to a running writer.
func (d Lake) RemoveStaleTemp(age time.Duration) (int, error) {
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
