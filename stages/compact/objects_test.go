package compact_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/entralake/entralake/internal/location"
	"github.com/entralake/entralake/internal/objtest"
	"github.com/entralake/entralake/lake/objstore"
	"github.com/entralake/entralake/stages/compact"
	"github.com/entralake/entralake/stages/writer"
	"github.com/entralake/entralake/stages/writer/writertest"
)

var _ compact.Store = (*objstore.Lake)(nil)

// s3Lake is lakeOf on S3 (versitygw), in folder entra of bucket lake.
// It returns the lake, the folder that holds its objects as files
// (versitygw's posix backend), the ledger and the rows per partition.
func s3Lake(t *testing.T, files int) (*objstore.Lake, string, *writertest.Ledger, map[string]int) {
	t.Helper()
	srv := objtest.StartS3(t)
	srv.Env(t)
	srv.Bucket(t, "lake")
	loc, err := location.Parse(location.Lake, srv.URL("lake/entra"))
	if err != nil {
		t.Fatal(err)
	}
	l, err := objstore.Open(t.Context(), objstore.Config{Location: loc})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	ledger := writertest.NewLedger()
	for i := range files {
		addFileTo(t, writer.Config{}, l, ledger, part, i*40, 40)
	}
	addFileTo(t, writer.Config{}, l, ledger, part2, 10_000, 40)
	addFileTo(t, writer.Config{}, l, ledger, qpart, 20_000, 3)
	addFileTo(t, writer.Config{}, l, ledger, qpart, 20_100, 2)
	return l, filepath.Join(srv.Dir, "lake", "entra"), ledger, map[string]int{part: files * 40, part2: 40, qpart: 5}
}

func runStore(t *testing.T, l *objstore.Lake, ledger compact.Ledger, mod func(*compact.Config)) (compact.Stats, error) {
	t.Helper()
	return run(t, "", ledger, func(c *compact.Config) {
		c.Store = l
		if mod != nil {
			mod(c)
		}
	})
}

// checkNoStaging fails when the compaction left its lock or a journal.
func checkNoStaging(t *testing.T, root string) {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(root, compact.StagingDir))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	for _, e := range ents {
		t.Errorf("left in %s: %s", compact.StagingDir, e.Name())
	}
}

// TestCompactObjectStore compacts a lake on S3: every row is kept once,
// each closed partition becomes one file, the ledger points at files
// that hold their batches, and no lock or journal is left.
func TestCompactObjectStore(t *testing.T) {
	l, root, ledger, want := s3Lake(t, 4)
	st, err := runStore(t, l, ledger, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.Partitions != 2 || st.FilesIn != 6 || st.FilesOut != 2 || st.Rows != int64(want[part]+want[qpart]) || st.BytesOut == 0 {
		t.Errorf("stats %+v, want 2 partitions, 6 files in, 2 out, %d rows", st, want[part]+want[qpart])
	}
	for rel, n := range want {
		if got := checkPartition(t, root, rel, n); got != 1 {
			t.Errorf("%s: %d files, want 1", rel, got)
		}
	}
	checkLedger(t, root, ledger, 4+1+2)
	checkNoStaging(t, root)
	// Nothing left to do: a second run changes nothing.
	if st, err := runStore(t, l, ledger, nil); err != nil || st.Partitions != 0 {
		t.Fatalf("second run: %+v, %v", st, err)
	}
}

// TestCompactObjectStoreCrash stops the compaction after each step, as a
// crash would, then runs it again: the re-run settles the job (rolled
// back before the merged file is whole, finished after), every row is
// once in the lake and the ledger is right.
func TestCompactObjectStoreCrash(t *testing.T) {
	for _, step := range []compact.Step{compact.StepPlanned, compact.StepWritten, compact.StepRecorded, compact.StepRestored} {
		t.Run(string(step), func(t *testing.T) {
			l, root, ledger, want := s3Lake(t, 4)
			crash := errors.New("crash")
			_, err := runStore(t, l, ledger, func(c *compact.Config) {
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
			files, rows, _, _, err := readPartition(root, part)
			if err != nil {
				t.Fatal(err)
			}
			switch step {
			case compact.StepPlanned:
				if files != 4 || rows != want[part] {
					t.Errorf("crash before the merged file: %d files, %d rows; want the 4 inputs, %d rows", files, rows, want[part])
				}
			case compact.StepWritten, compact.StepRecorded:
				// The merged file and its inputs: the window the README
				// states, closed by the re-run.
				if files != 5 || rows != 2*want[part] {
					t.Errorf("crash before the inputs went: %d files, %d rows; want 5, %d", files, rows, 2*want[part])
				}
			case compact.StepRestored:
				if files != 1 {
					t.Errorf("crash after the inputs went: %d files, want 1", files)
				}
			}
			st, err := runStore(t, l, ledger, nil)
			if err != nil {
				t.Fatal(err)
			}
			if st.Recovered != 1 {
				t.Errorf("recovered jobs = %d, want 1", st.Recovered)
			}
			for rel, n := range want {
				if got := checkPartition(t, root, rel, n); got != 1 {
					t.Errorf("%s: %d files after the re-run, want 1", rel, got)
				}
			}
			checkLedger(t, root, ledger, 4+1+2)
			checkNoStaging(t, root)
		})
	}
}

// TestCompactObjectStoreLocked: a compaction holding the lake's lock
// (its lock object) makes another one fail with ErrLocked; a lock older
// than StaleLock is taken over.
func TestCompactObjectStoreLocked(t *testing.T) {
	l, root, ledger, want := s3Lake(t, 2)
	held := make(chan struct{})
	release := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		_, err := runStore(t, l, ledger, func(c *compact.Config) {
			c.Hook = func(compact.Step, string) error {
				select {
				case held <- struct{}{}:
					<-release
				default:
				}
				return nil
			}
		})
		done <- err
	}()
	<-held
	if _, err := runStore(t, l, ledger, nil); !errors.Is(err, compact.ErrLocked) {
		t.Errorf("second compaction: err = %v, want ErrLocked", err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// A lock left by a killed compaction, long ago.
	old := time.Now().Add(-compact.StaleLock - time.Minute).UTC().Format(time.RFC3339)
	f, err := l.Create(t.Context(), compact.StagingDir+"/lock.json")
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte(`{"host":"gone","pid":1,"started":"` + old + `"}`))
	if err := f.Commit(t.Context()); err != nil {
		t.Fatal(err)
	}
	addFileTo(t, writer.Config{}, l, ledger, part, 1000, 40)
	if _, err := runStore(t, l, ledger, nil); err != nil {
		t.Fatalf("stale lock: %v", err)
	}
	if got := checkPartition(t, root, part, want[part]+40); got != 1 {
		t.Errorf("%d files, want 1", got)
	}
	checkNoStaging(t, root)
}
