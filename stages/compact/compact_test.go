package compact_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/entralake/entralake/internal/lakecheck"
	"github.com/entralake/entralake/lake"
	"github.com/entralake/entralake/lake/dir"
	"github.com/entralake/entralake/schema"
	"github.com/entralake/entralake/stages/compact"
	"github.com/entralake/entralake/stages/writer"
	"github.com/entralake/entralake/stages/writer/writertest"
)

var (
	_ compact.Ledger = (*writertest.Ledger)(nil)
	_ writer.Ledger  = (*writertest.Ledger)(nil)
)

const (
	part  = "azure_audit/category=AuditLogs/date=2025-04-11/hour=16"
	part2 = "azure_audit/category=SignInLogs/date=2025-04-11/hour=17"
	qpart = "azure_audit_quarantine/date=2025-04-11"
)

// rowsJSON makes n Azure.Audit rows with nested values; ids start at first.
func rowsJSON(first, n int, hour int) string {
	var b strings.Builder
	b.WriteString("[")
	for i := first; i < first+n; i++ {
		if i > first {
			b.WriteString(",")
		}
		ts := fmt.Sprintf("2025-04-11T%02d:%02d:%02d.%06dZ", hour, i%60, (i/60)%60, i)
		if i == 7 { // the one row with a resultDescription
			b.WriteString(`{"resultDescription": "seven",`)
		} else {
			b.WriteString("{")
		}
		fmt.Fprintf(&b, `"time": %q, "category": "AuditLogs", "operationName": "Add member to role", "resourceId": "/tenants/t",
 "properties": {"targetResources": [{"displayName": "user%d", "modifiedProperties": [{"displayName": "Role.DisplayName", "newValue": "\"Global Administrator\""}]}],
  "status": "{\"errorCode\":%d}"},
 "p_log_type": "Azure.Audit", "p_event_time": %q, "p_row_id": "row-%06d", "p_any_ip_addresses": ["192.0.2.%d"]}`, ts, i, i%3, ts, i, i%250)
	}
	b.WriteString("]")
	return b.String()
}

// addFile writes one file of n rows into a partition with the real writer.
func addFile(t *testing.T, lake string, ledger *writertest.Ledger, rel string, first, n int) {
	t.Helper()
	addFileWith(t, writer.Config{}, lake, ledger, rel, first, n)
}

// addFileWith is addFile with a writer configured by cfg.
func addFileWith(t *testing.T, cfg writer.Config, lake string, ledger *writertest.Ledger, rel string, first, n int) {
	t.Helper()
	addFileTo(t, cfg, dir.Lake{Root: lake}, ledger, rel, first, n)
}

// addFileTo is addFileWith into any lake.
func addFileTo(t *testing.T, cfg writer.Config, l writer.Lake, ledger *writertest.Ledger, rel string, first, n int) {
	t.Helper()
	lt, err := schema.Load("Azure.Audit")
	if err != nil {
		t.Fatal(err)
	}
	tbl, partition, _ := strings.Cut(rel, "/")
	var sc = lt.ArrowSchema()
	js := rowsJSON(first, n, 16)
	if tbl == lt.QuarantineTable() {
		sc = schema.QuarantineSchema()
		var b strings.Builder
		b.WriteString("[")
		for i := first; i < first+n; i++ {
			if i > first {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, `{"p_log_type": "Azure.Audit", "p_row_id": "row-%06d", "reason": "not JSON", "raw": "eA==", "raw_size": 1}`, i)
		}
		b.WriteString("]")
		js = b.String()
	}
	rec, _, err := array.RecordFromJSON(memory.DefaultAllocator, sc, strings.NewReader(js))
	if err != nil {
		t.Fatalf("build record: %v", err)
	}
	w := writer.New(cfg, l, ledger, nil)
	var acked atomic.Int32
	err = w.Add(context.Background(), tbl, partition, fmt.Sprintf("batch-%06d", first), rec,
		writer.Pending{Ack: func(context.Context) error { acked.Add(1); return nil }, Nak: func() error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	w.Flush(context.Background())
	if acked.Load() != 1 {
		t.Fatalf("batch %d not written", first)
	}
}

// lakeOf builds a lake: part with files files of 40 rows, part2 with one
// file, qpart with two quarantine files. It returns the rows per partition.
func lakeOf(t *testing.T, files int) (string, *writertest.Ledger, map[string]int) {
	t.Helper()
	lake, ledger := t.TempDir(), writertest.NewLedger()
	for i := range files {
		addFile(t, lake, ledger, part, i*40, 40)
	}
	addFile(t, lake, ledger, part2, 10_000, 40)
	addFile(t, lake, ledger, qpart, 20_000, 3)
	addFile(t, lake, ledger, qpart, 20_100, 2)
	return lake, ledger, map[string]int{part: files * 40, part2: 40, qpart: 5}
}

// readPartition lists a partition and reads the p_row_id of every file it
// listed. vanished reports a file that was listed but gone when opened.
func readPartition(lake, rel string) (files, rows int, ids map[string]int, vanished bool, err error) {
	dir := filepath.Join(lake, rel)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0, 0, nil, false, err
	}
	ids = map[string]int{}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") || !strings.HasSuffix(e.Name(), ".parquet") {
			continue
		}
		files++
		r, err := file.OpenParquetFile(filepath.Join(dir, e.Name()), false)
		if errors.Is(err, fs.ErrNotExist) {
			return files, rows, ids, true, nil
		}
		if err != nil {
			return 0, 0, nil, false, err
		}
		col := r.MetaData().Schema.ColumnIndexByName(schema.ColRowID)
		fr, err := pqarrow.NewFileReader(r, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
		if err != nil {
			r.Close()
			return 0, 0, nil, false, err
		}
		rr, err := fr.GetRecordReader(context.Background(), []int{col}, nil)
		if err != nil {
			r.Close()
			return 0, 0, nil, false, err
		}
		for rr.Next() {
			a := rr.RecordBatch().Column(0).(*array.String)
			for i := 0; i < a.Len(); i++ {
				ids[a.Value(i)]++
				rows++
			}
		}
		err = rr.Err()
		rr.Release()
		r.Close()
		if err != nil {
			return 0, 0, nil, false, err
		}
	}
	return files, rows, ids, false, nil
}

// checkPartition checks a partition holds want rows with distinct ids.
func checkPartition(t *testing.T, lake, rel string, want int) int {
	t.Helper()
	files, rows, ids, vanished, err := readPartition(lake, rel)
	if err != nil || vanished {
		t.Fatalf("read %s: %v (vanished %v)", rel, err, vanished)
	}
	if rows != want || len(ids) != want {
		t.Errorf("%s: rows = %d, distinct p_row_id = %d, want %d and %d", rel, rows, len(ids), want, want)
	}
	return files
}

// checkLedger checks that every batch id of the ledger points at a file
// that exists and lists the id in its metadata.
func checkLedger(t *testing.T, root string, ledger *writertest.Ledger, wantIDs int) {
	t.Helper()
	files := ledger.Files()
	if got := len(files); got != wantIDs {
		t.Errorf("ledger has %d batch ids, want %d", got, wantIDs)
	}
	for id, f := range files {
		rep, err := lakecheck.CheckFile(filepath.Join(root, filepath.FromSlash(f)), lakecheck.Options{MinMax: []string{schema.ColEventTime}})
		if err != nil {
			t.Errorf("ledger: batch %s -> %s: %v", id, f, err)
			continue
		}
		if ids := strings.Split(rep.KeyValue[lake.MetaBatches], ","); !slices.Contains(ids, id) {
			t.Errorf("ledger: batch %s -> %s, whose %s is %q", id, f, lake.MetaBatches, ids)
		}
		for _, p := range rep.Problems {
			t.Errorf("%s: %s", f, p)
		}
	}
}

// checkNoHidden fails on any entry of the lake whose name starts with '.'.
func checkNoHidden(t *testing.T, lake string) {
	t.Helper()
	_ = filepath.WalkDir(lake, func(p string, d fs.DirEntry, err error) error {
		if err == nil && p != lake && strings.HasPrefix(d.Name(), ".") {
			t.Errorf("hidden leftover %s", p)
		}
		return nil
	})
}

func run(t *testing.T, lake string, ledger compact.Ledger, mod func(*compact.Config)) (compact.Stats, error) {
	t.Helper()
	cfg := compact.Config{Lake: lake, Tables: []string{"azure_audit", "azure_audit_quarantine"},
		Before: time.Date(2025, 4, 12, 0, 0, 0, 0, time.UTC)}
	if mod != nil {
		mod(&cfg)
	}
	c, err := compact.New(cfg, ledger)
	if err != nil {
		t.Fatal(err)
	}
	return c.Run(t.Context())
}

// TestCompactPreservesRows compacts closed partitions: every row is kept
// once, small files become one file (or several near the target size), the
// ledger points at files that exist and hold the batch, the merged files
// pass the engine checks, and nothing hidden is left.
func TestCompactPreservesRows(t *testing.T) {
	lake, ledger, want := lakeOf(t, 6)
	st, err := run(t, lake, ledger, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := st.Partitions, 2; got != want {
		t.Errorf("partitions compacted = %d, want %d (part2 has one file)", got, want)
	}
	for rel, n := range want {
		if got := checkPartition(t, lake, rel, n); got != 1 {
			t.Errorf("%s: %d files after compaction, want 1", rel, got)
		}
	}
	checkLedger(t, lake, ledger, 6+1+2)
	checkNoHidden(t, lake)

	// A second run has nothing to do.
	st, err = run(t, lake, ledger, nil)
	if err != nil || st.Partitions != 0 {
		t.Errorf("second run: %+v, %v; want nothing done", st, err)
	}
}

// TestCompactEmptyColumns checks that a merged file leaves uncompressed
// only the columns without a value in every input, as the writer does:
// resultDescription has a value in the first input alone, so it is
// compressed in the merged file though the other inputs left it plain.
func TestCompactEmptyColumns(t *testing.T) {
	lake, ledger, _ := lakeOf(t, 3)
	codecs := func() map[string]compress.Compression {
		t.Helper()
		ents, err := os.ReadDir(filepath.Join(lake, part))
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]compress.Compression{}
		for _, e := range ents {
			r, err := file.OpenParquetFile(filepath.Join(lake, part, e.Name()), false)
			if err != nil {
				t.Fatal(err)
			}
			for _, col := range []string{"resultDescription", "properties.userId", "properties.status"} {
				cc, err := r.MetaData().RowGroup(0).ColumnChunk(r.MetaData().Schema.ColumnIndexByName(col))
				if err != nil {
					t.Fatal(err)
				}
				out[e.Name()+" "+col] = cc.Compression()
			}
			r.Close()
		}
		return out
	}
	plain := 0
	for k, c := range codecs() {
		if strings.HasSuffix(k, " resultDescription") && c == compress.Codecs.Uncompressed {
			plain++
		}
	}
	if plain != 2 {
		t.Fatalf("before: %d files with resultDescription uncompressed, want 2 of 3: %v", plain, codecs())
	}
	if _, err := run(t, lake, ledger, nil); err != nil {
		t.Fatal(err)
	}
	got := codecs()
	if len(got) != 3 {
		t.Fatalf("after: %v, want one file", got)
	}
	for k, c := range got {
		want := compress.Codecs.Zstd
		if strings.HasSuffix(k, " properties.userId") {
			want = compress.Codecs.Uncompressed
		}
		if c != want {
			t.Errorf("merged %s: %s, want %s", k, c, want)
		}
	}
	checkLedger(t, lake, ledger, 3+1+2)
}

// TestCompactKeepsPlainEncodings checks that a merged file uses DELTA
// encodings only if all its inputs do: a lake written with
// --no-parquet-delta (for old readers) stays readable to them.
func TestCompactKeepsPlainEncodings(t *testing.T) {
	for _, c := range []struct {
		name      string
		noDelta   []bool // per input file
		wantDelta bool
	}{
		{"all delta", []bool{false, false}, true},
		{"all plain", []bool{true, true}, false},
		{"mixed", []bool{false, true}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			lake, ledger := t.TempDir(), writertest.NewLedger()
			for i, nd := range c.noDelta {
				addFileWith(t, writer.Config{Parquet: schema.ParquetConfig{NoDelta: nd}}, lake, ledger, part, i*40, 40)
			}
			if _, err := run(t, lake, ledger, nil); err != nil {
				t.Fatal(err)
			}
			ents, err := os.ReadDir(filepath.Join(lake, part))
			if err != nil || len(ents) != 1 {
				t.Fatalf("partition after compaction: %d files, %v; want 1", len(ents), err)
			}
			rep, err := lakecheck.CheckFile(filepath.Join(lake, part, ents[0].Name()), lakecheck.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got := slices.Contains(rep.Encodings[schema.ColRowID], parquet.Encodings.DeltaByteArray); got != c.wantDelta {
				t.Errorf("p_row_id encodings %v: DELTA_BYTE_ARRAY %v, want %v", rep.Encodings[schema.ColRowID], got, c.wantDelta)
			}
			for _, p := range rep.Problems {
				t.Error(p)
			}
		})
	}
}

// TestCompactTargetSize merges into several files when the inputs add up
// to more than the target size.
func TestCompactTargetSize(t *testing.T) {
	lake, ledger, want := lakeOf(t, 6)
	info, err := os.ReadDir(filepath.Join(lake, part))
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := info[0].Info()
	target := 2*fi.Size() + fi.Size()/2 // two files fit, three do not
	if _, err := run(t, lake, ledger, func(c *compact.Config) { c.TargetSize = target }); err != nil {
		t.Fatal(err)
	}
	if got, want := checkPartition(t, lake, part, want[part]), 3; got != want {
		t.Errorf("files = %d, want %d (6 inputs, 2 per output)", got, want)
	}
	checkLedger(t, lake, ledger, 9)
}

// TestCompactOnlyClosed leaves partitions whose hour has not ended before
// Before.
func TestCompactOnlyClosed(t *testing.T) {
	lake, ledger, want := lakeOf(t, 3)
	// hour 16 ends at 17:00; the quarantine day at midnight.
	if _, err := run(t, lake, ledger, func(c *compact.Config) { c.Before = time.Date(2025, 4, 11, 16, 59, 0, 0, time.UTC) }); err != nil {
		t.Fatal(err)
	}
	if got := checkPartition(t, lake, part, want[part]); got != 3 {
		t.Errorf("open hour compacted: %d files, want 3", got)
	}
	if _, err := run(t, lake, ledger, func(c *compact.Config) { c.Before = time.Date(2025, 4, 11, 17, 0, 0, 0, time.UTC) }); err != nil {
		t.Fatal(err)
	}
	if got := checkPartition(t, lake, part, want[part]); got != 1 {
		t.Errorf("closed hour: %d files, want 1", got)
	}
	if got := checkPartition(t, lake, qpart, want[qpart]); got != 2 {
		t.Errorf("quarantine day not over yet, compacted anyway: %d files, want 2", got)
	}
}

// TestCompactDayPartitions compacts a table partitioned by day (parsers'
// --partition day): its partition closes when the day ends, not the hour.
func TestCompactDayPartitions(t *testing.T) {
	const dayPart = "azure_audit/category=AuditLogs/date=2025-04-11"
	lake, ledger := t.TempDir(), writertest.NewLedger()
	for i := range 3 {
		addFile(t, lake, ledger, dayPart, i*40, 40)
	}
	if _, err := run(t, lake, ledger, func(c *compact.Config) { c.Before = time.Date(2025, 4, 11, 23, 0, 0, 0, time.UTC) }); err != nil {
		t.Fatal(err)
	}
	if got := checkPartition(t, lake, dayPart, 120); got != 3 {
		t.Errorf("day not over: %d files, want 3", got)
	}
	if _, err := run(t, lake, ledger, func(c *compact.Config) { c.Before = time.Date(2025, 4, 12, 0, 0, 0, 0, time.UTC) }); err != nil {
		t.Fatal(err)
	}
	if got := checkPartition(t, lake, dayPart, 120); got != 1 {
		t.Errorf("day over: %d files, want 1", got)
	}
	checkLedger(t, lake, ledger, 3)
	checkNoHidden(t, lake)
}

// TestCompactAtomicForReaders runs readers that list and read the
// partition while it is compacted (each step made slow): no listing is
// empty and no read sees a row twice or misses one.
func TestCompactAtomicForReaders(t *testing.T) {
	lake, ledger, want := lakeOf(t, 8)
	done := make(chan struct{})
	var reads, retries atomic.Int64
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				files, rows, ids, vanished, err := readPartition(lake, part)
				switch {
				case err != nil:
					t.Errorf("reader: %v", err)
					return
				case vanished:
					retries.Add(1) // listed an old file deleted since: read again
					continue
				case files == 0:
					t.Errorf("reader saw an empty partition")
					return
				case rows != want[part] || len(ids) != want[part]:
					t.Errorf("reader saw %d rows, %d distinct, in %d files; want %d", rows, len(ids), files, want[part])
					return
				}
				reads.Add(1)
			}
		})
	}
	_, err := run(t, lake, ledger, func(c *compact.Config) {
		c.Hook = func(compact.Step, string) error { time.Sleep(30 * time.Millisecond); return nil }
	})
	time.Sleep(20 * time.Millisecond)
	close(done)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if reads.Load() < 10 {
		t.Errorf("only %d consistent reads during compaction, want at least 10", reads.Load())
	}
	t.Logf("%d consistent reads, %d retries after a listed file vanished", reads.Load(), retries.Load())
	checkPartition(t, lake, part, want[part])
}

// TestCompactCrashAndRerun injects a crash after each step, checks that the
// partition still shows one complete set of rows, then runs again: the
// result is the compacted partition, the ledger is right and no hidden
// leftovers remain.
func TestCompactCrashAndRerun(t *testing.T) {
	steps := []compact.Step{compact.StepPlanned, compact.StepWritten, compact.StepSwapped, compact.StepRecorded, compact.StepRestored}
	for _, step := range steps {
		t.Run(string(step), func(t *testing.T) {
			lake, ledger, want := lakeOf(t, 4)
			crash := errors.New("crash")
			_, err := run(t, lake, ledger, func(c *compact.Config) {
				c.Hook = func(s compact.Step, p string) error {
					if s == step && p == part {
						return crash
					}
					return nil
				}
			})
			if !errors.Is(err, crash) {
				t.Fatalf("err = %v, want the injected crash", err)
			}
			files := checkPartition(t, lake, part, want[part])
			if step == compact.StepPlanned || step == compact.StepWritten {
				if files != 4 {
					t.Errorf("after a crash before the swap: %d files, want the 4 old ones", files)
				}
			} else if files != 1 {
				t.Errorf("after a crash after the swap: %d files, want the merged one", files)
			}

			st, err := run(t, lake, ledger, nil)
			if err != nil {
				t.Fatal(err)
			}
			if st.Recovered != 1 {
				t.Errorf("recovered jobs = %d, want 1", st.Recovered)
			}
			for rel, n := range want {
				if got := checkPartition(t, lake, rel, n); got != 1 {
					t.Errorf("%s: %d files after the re-run, want 1", rel, got)
				}
			}
			checkLedger(t, lake, ledger, 4+1+2)
			checkNoHidden(t, lake)
		})
	}
}

// TestCompactKeepsLateFile adds a file to the partition while it is being
// compacted, as a writer with a late batch would: it survives the swap.
func TestCompactKeepsLateFile(t *testing.T) {
	lake, ledger, want := lakeOf(t, 3)
	_, err := run(t, lake, ledger, func(c *compact.Config) {
		c.Hook = func(s compact.Step, p string) error {
			if s == compact.StepWritten && p == part {
				addFile(t, lake, ledger, part, 50_000, 7)
			}
			return nil
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := checkPartition(t, lake, part, want[part]+7); got != 2 {
		t.Errorf("files = %d, want 2 (merged + late)", got)
	}
	checkLedger(t, lake, ledger, 3+1+2+1)
	checkNoHidden(t, lake)
}

// TestCompactLocked refuses to run while another compaction holds the lake.
func TestCompactLocked(t *testing.T) {
	lake, ledger, _ := lakeOf(t, 2)
	var inner error
	_, err := run(t, lake, ledger, func(c *compact.Config) {
		c.Hook = func(s compact.Step, _ string) error {
			if s == compact.StepPlanned && inner == nil {
				_, inner = run(t, lake, ledger, nil)
			}
			return nil
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(inner, compact.ErrLocked) {
		t.Errorf("second compaction: err = %v, want ErrLocked", inner)
	}
}
