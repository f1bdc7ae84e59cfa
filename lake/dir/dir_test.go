package dir_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/entralake/entralake/lake/dir"
	"github.com/entralake/entralake/lake/laketest"
)

func TestConformance(t *testing.T) {
	laketest.Run(t, dir.Lake{Root: t.TempDir()})
}

// TestRemoveStaleTemp checks that the temporary files of a crashed writer
// go once they are old, and that a running writer's young ones stay.
func TestRemoveStaleTemp(t *testing.T) {
	root := t.TempDir()
	l := dir.Lake{Root: root}
	ctx := t.Context()
	for _, rel := range []string{"azure_audit/category=A/date=2025-04-11/hour=16/part-old.parquet", "azure_audit/category=A/date=2025-04-11/hour=16/part-new.parquet"} {
		f, err := l.Create(ctx, rel)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write([]byte("x")); err != nil {
			t.Fatal(err)
		}
		// Never committed nor aborted: a crash.
	}
	temps := func() []string {
		m, err := filepath.Glob(filepath.Join(root, "azure_audit/category=A/date=2025-04-11/hour=16/.part-*.tmp-*"))
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	tmp := temps()
	if len(tmp) != 2 {
		t.Fatalf("temporary files %v, want 2", tmp)
	}
	old := time.Now().Add(-2 * time.Hour)
	var oldOne string
	for _, p := range tmp {
		if strings.Contains(p, "part-old") {
			oldOne = p
			if err := os.Chtimes(p, old, old); err != nil {
				t.Fatal(err)
			}
		}
	}
	n, err := l.RemoveStaleTemp(time.Hour)
	if err != nil || n != 1 {
		t.Fatalf("RemoveStaleTemp=%d, %v; want 1", n, err)
	}
	if left := temps(); len(left) != 1 || left[0] == oldOne {
		t.Fatalf("left %v, want only the young temporary file", left)
	}
}

// TestProbeAndFolders checks that a lake folder that cannot take a file
// fails at start with an error no retry fixes, and that the tables'
// folders are made.
func TestProbeAndFolders(t *testing.T) {
	root := filepath.Join(t.TempDir(), "lake")
	l := dir.Lake{Root: root}
	if err := l.Probe(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := l.Folders("azure_audit", "azure_audit_quarantine"); err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"azure_audit", "azure_audit_quarantine"} {
		if info, err := os.Stat(filepath.Join(root, table)); err != nil || !info.IsDir() {
			t.Errorf("table folder %s: %v", table, err)
		}
	}
	if ents, _ := os.ReadDir(root); len(ents) != 2 {
		t.Errorf("lake holds %d entries after the probe, want the 2 table folders", len(ents))
	}
	// A file where the lake folder should be.
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	err := dir.Lake{Root: file}.Probe(context.Background())
	var u interface{ Unusable() bool }
	if !errors.As(err, &u) || !u.Unusable() {
		t.Fatalf("Probe of a file: err=%v, want an Unusable error", err)
	}
}
