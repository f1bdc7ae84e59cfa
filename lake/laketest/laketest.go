// Package laketest is the conformance suite of the lake drivers: every
// driver under lake/ runs Run against a real instance of its storage (a
// folder, Azurite), so that the writer can count on the same behaviour
// from each (as gocloud's drivertest does for its blob drivers).
package laketest

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"testing"

	"github.com/entralake/entralake/lake"
)

// Lake is what the suite checks of a driver: what the writer uses
// (Create, Exists) and what the lake check of internal/cli uses
// (ReadFile).
type Lake interface {
	Create(ctx context.Context, rel string) (lake.File, error)
	Exists(ctx context.Context, rel string) (bool, error)
	ReadFile(ctx context.Context, rel string) ([]byte, error)
}

// UnsafePaths are lake paths every driver refuses with lake.ErrUnsafePath.
var UnsafePaths = []string{"", "/abs/x.parquet", "../x.parquet", "a/../../x", "a//b", "a\\b", "a/./b", "a/"}

// Run checks l: a file is visible, whole, once committed and not before;
// an aborted file leaves nothing; a file written again under its name
// replaces it; ReadFile reads a committed file and reports a missing one
// with fs.ErrNotExist; unsafe paths are refused.
func Run(t *testing.T, l Lake) {
	t.Run("commit", func(t *testing.T) {
		ctx := t.Context()
		const rel = "azure_audit/category=SignInLogs/date=2025-04-11/hour=16/part-a.parquet"
		f := create(t, l, rel, []byte("first"))
		if ok, err := l.Exists(ctx, rel); err != nil || ok {
			t.Fatalf("Exists before Commit=%t, %v; want false", ok, err)
		}
		if _, err := l.ReadFile(ctx, rel); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("ReadFile before Commit: err=%v, want fs.ErrNotExist", err)
		}
		if err := f.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		if ok, err := l.Exists(ctx, rel); err != nil || !ok {
			t.Fatalf("Exists after Commit=%t, %v; want true", ok, err)
		}
		readBack(t, l, rel, "first")
		// The same batches written again (a redelivery after a crash):
		// the file is replaced, whole.
		f = create(t, l, rel, []byte("second"))
		if err := f.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		readBack(t, l, rel, "second")
	})
	t.Run("abort", func(t *testing.T) {
		ctx := t.Context()
		const rel = "azure_audit_quarantine/date=2025-04-11/part-b.parquet"
		f := create(t, l, rel, []byte("never"))
		if err := f.Abort(); err != nil {
			t.Fatal(err)
		}
		if ok, err := l.Exists(ctx, rel); err != nil || ok {
			t.Fatalf("Exists after Abort=%t, %v; want false", ok, err)
		}
		if _, err := l.ReadFile(ctx, rel); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("ReadFile after Abort: err=%v, want fs.ErrNotExist", err)
		}
	})
	t.Run("unsafe paths", func(t *testing.T) {
		ctx := t.Context()
		for _, rel := range UnsafePaths {
			if _, err := l.Create(ctx, rel); !errors.Is(err, lake.ErrUnsafePath) {
				t.Errorf("Create(%q) err=%v, want ErrUnsafePath", rel, err)
			}
			if _, err := l.Exists(ctx, rel); !errors.Is(err, lake.ErrUnsafePath) {
				t.Errorf("Exists(%q) err=%v, want ErrUnsafePath", rel, err)
			}
			if _, err := l.ReadFile(ctx, rel); !errors.Is(err, lake.ErrUnsafePath) {
				t.Errorf("ReadFile(%q) err=%v, want ErrUnsafePath", rel, err)
			}
		}
	})
}

func create(t *testing.T, l Lake, rel string, data []byte) lake.File {
	t.Helper()
	f, err := l.Create(t.Context(), rel)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := f.Write(data); err != nil || n != len(data) {
		t.Fatalf("Write: %d, %v", n, err)
	}
	return f
}

func readBack(t *testing.T, l Lake, rel, want string) {
	t.Helper()
	got, err := l.ReadFile(t.Context(), rel)
	if err != nil || !bytes.Equal(got, []byte(want)) {
		t.Fatalf("ReadFile=%q, %v; want %q", got, err, want)
	}
}
