package lake_test

import (
	"errors"
	"testing"

	"github.com/entralake/entralake/lake"
	"github.com/entralake/entralake/lake/laketest"
)

func TestCheckPath(t *testing.T) {
	for _, rel := range []string{"x.parquet", "_entralake.json", "azure_audit/category=SignInLogs/date=2025-04-11/hour=16/part-0.parquet", "azure_audit.empty/category=none/date=1970-01-01/empty.parquet"} {
		if err := lake.CheckPath(rel); err != nil {
			t.Errorf("CheckPath(%q)=%v, want nil", rel, err)
		}
	}
	for _, rel := range laketest.UnsafePaths {
		if err := lake.CheckPath(rel); !errors.Is(err, lake.ErrUnsafePath) {
			t.Errorf("CheckPath(%q)=%v, want ErrUnsafePath", rel, err)
		}
	}
}

// TestFileName checks that a file's name depends on the names it holds,
// not on their order: the writer and compaction name the same batches
// alike.
func TestFileName(t *testing.T) {
	a := lake.FileName([]string{"b2", "a1", "c3"})
	if b := lake.FileName([]string{"c3", "b2", "a1"}); a != b {
		t.Errorf("FileName depends on the order: %s, %s", a, b)
	}
	if c := lake.FileName([]string{"a1", "b2"}); c == a {
		t.Errorf("FileName of other batches is the same: %s", c)
	}
	if c := lake.FileName([]string{"a1b2", "c3"}); c == a {
		t.Errorf("FileName does not separate the names: %s", c)
	}
	if got, want := len(a), len("part-")+24+len(".parquet"); got != want || a[:5] != "part-" || a[len(a)-8:] != ".parquet" {
		t.Errorf("FileName=%q, want part-<24 hex digits>.parquet", a)
	}
}
