package fsfault

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestClassify(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, notDir := os.Create(filepath.Join(file, "x")) // a file where a folder should be
	_, missing := os.Open(filepath.Join(dir, "missing"))
	for _, tc := range []struct {
		name     string
		err      error
		unusable bool
	}{
		{"permission", &fs.PathError{Op: "open", Path: "/lake/x", Err: syscall.EACCES}, true},
		{"read-only", fmt.Errorf("create: %w", &fs.PathError{Op: "open", Path: "/lake/x", Err: syscall.EROFS}), true},
		{"disk full", &fs.PathError{Op: "write", Path: "/lake/x", Err: syscall.ENOSPC}, true},
		{"not a folder", notDir, true},
		{"missing", missing, false},
		{"other", errors.New("boom"), false},
		{"nil", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Classify(tc.err)
			var u interface{ Unusable() bool }
			if got := errors.As(err, &u) && u.Unusable(); got != tc.unusable {
				t.Errorf("Unusable=%v, want %v (%v)", got, tc.unusable, err)
			}
			if tc.err != nil && err.Error() != tc.err.Error() {
				t.Errorf("text %q, want the cause's %q", err, tc.err)
			}
			if !errors.Is(err, tc.err) {
				t.Errorf("%v does not wrap its cause", err)
			}
		})
	}
}
