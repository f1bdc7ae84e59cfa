package maintain_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/iceberg-go/table"

	"github.com/entralake/entralake/lake/iceberg"
	"github.com/entralake/entralake/lake/iceberg/icebergtest"
	"github.com/entralake/entralake/schema"
)

// open opens the lake's tables, closing them when the test ends.
func open(t testing.TB, cfg iceberg.Config) *iceberg.Lake {
	t.Helper()
	lt, err := schema.Load("Azure.Audit")
	if err != nil {
		t.Fatal(err)
	}
	cfg.LogType = lt
	l, err := iceberg.Open(t.Context(), cfg)
	if err != nil {
		t.Fatalf("open %s: %v", cfg.Lake, err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// localLake opens a lake in a new temporary folder.
func localLake(t testing.TB) (*iceberg.Lake, string) {
	dir := filepath.Join(t.TempDir(), "lake")
	return open(t, iceberg.Config{Lake: dir}), dir
}

// exists reports whether rel is in tab's storage.
func exists(t testing.TB, tab *iceberg.Table, rel string) bool {
	t.Helper()
	f, err := icebergtest.Storage(t, tab).Open(tab.FileLocation(rel))
	if err != nil {
		return false
	}
	f.Close()
	return true
}

// scan reads a snapshot of tab (the current one for 0) with iceberg-go's
// scan and returns its rows as sorted JSON lines.
func scan(t testing.TB, tab *iceberg.Table, snapshot int64) []string {
	t.Helper()
	ctx := t.Context()
	tbl, err := tab.Refresh(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var opts []table.ScanOption
	if snapshot != 0 {
		opts = append(opts, table.WithSnapshotID(snapshot))
	}
	at, err := tbl.Scan(opts...).ToArrowTable(ctx)
	if err != nil {
		t.Fatalf("scan %s: %v", tab.Name(), err)
	}
	defer at.Release()
	var out []string
	tr := array.NewTableReader(at, 1<<16)
	defer tr.Release()
	for tr.Next() {
		b, err := tr.RecordBatch().MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		var rs []json.RawMessage
		if err := json.Unmarshal(b, &rs); err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			out = append(out, string(r))
		}
	}
	slices.Sort(out)
	return out
}

// everySnapshotWhole checks that each retained snapshot of tab reads
// exactly want (rows sorted) or a subset of it taken whole, never a row
// twice: a reader at any moment sees before or after a replace, never
// both.
func everySnapshotWhole(t testing.TB, tab *iceberg.Table, want []string) {
	t.Helper()
	tbl, err := tab.Refresh(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range tbl.Metadata().Snapshots() {
		got := scan(t, tab, s.SnapshotID)
		if c := slices.Compact(slices.Clone(got)); len(c) != len(got) {
			t.Errorf("snapshot %d (%s) has %d rows twice", s.SnapshotID, s.Summary.Operation, len(got)-len(c))
		}
		for _, r := range got {
			if _, ok := slices.BinarySearch(want, r); !ok {
				t.Errorf("snapshot %d (%s) has a row that is not in the table: %.80s", s.SnapshotID, s.Summary.Operation, r)
				break
			}
		}
	}
}

// files returns the live files of tab by partition.
func files(t testing.TB, tab *iceberg.Table) map[string][]iceberg.FileInfo {
	t.Helper()
	fs, err := tab.Files(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]iceberg.FileInfo{}
	for _, f := range fs {
		out[f.Partition] = append(out[f.Partition], f)
	}
	return out
}

// locker is an in-process iceberg.Locker: one lock for every key.
type locker struct {
	mu    sync.Mutex
	calls atomic.Int32
}

func (l *locker) Lock(context.Context, string) (func(), error) {
	l.mu.Lock()
	l.calls.Add(1)
	return l.mu.Unlock, nil
}
