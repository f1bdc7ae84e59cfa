package iceberg

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// EnvTestPostgres names the PostgreSQL URL the catalog tests use;
// scripts/test.sh starts a cluster (scripts/postgres.sh) and sets it.
const EnvTestPostgres = "ENTRALAKE_TEST_POSTGRES"

// postgresURL returns the test cluster's URL. Without one the test skips,
// saying why, except under CI, where it fails: CI installs PostgreSQL.
func postgresURL(t *testing.T) string {
	t.Helper()
	u := os.Getenv(EnvTestPostgres)
	if u == "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not set: CI must run the PostgreSQL catalog tests (scripts/test.sh starts a cluster)", EnvTestPostgres)
		}
		t.Skipf("%s is not set: run through scripts/test.sh (make test), which starts PostgreSQL, to run this test", EnvTestPostgres)
	}
	return u
}

// uniqueNamespace keeps the tests' tables apart in a shared catalog.
func uniqueNamespace() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "t_" + hex.EncodeToString(b[:])
}

// catalogs are the catalogs the shared tests run on: the file catalog,
// SQLite and PostgreSQL (when there is one).
func catalogs(t *testing.T) map[string]func(t *testing.T) Config {
	return map[string]func(t *testing.T) Config{
		"file": func(t *testing.T) Config {
			return Config{Lake: filepath.Join(t.TempDir(), "lake")}
		},
		"sqlite": func(t *testing.T) Config {
			dir := t.TempDir()
			return Config{Lake: filepath.Join(dir, "lake"), Catalog: "sqlite:" + filepath.Join(dir, "catalog.db")}
		},
		"postgres": func(t *testing.T) Config {
			return Config{Lake: filepath.Join(t.TempDir(), "lake"), Catalog: postgresURL(t), Namespace: uniqueNamespace()}
		},
	}
}

// An SQL catalog registers the tables, located in the lake; a new
// catalog instance finds them, their rows and their batches.
func TestSQLCatalogs(t *testing.T) {
	for _, name := range []string{"sqlite", "postgres"} {
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			cfg := catalogs(t)[name](t)
			l := openLake(t, cfg)
			if got, want := l.Main.Location(), filepath.ToSlash(filepath.Join(cfg.Lake, "azure_audit")); got != want {
				t.Errorf("location %s, want %s", got, want)
			}
			if !strings.HasPrefix(l.Main.Iceberg().MetadataLocation(), l.Main.Location()+"/metadata/") {
				t.Errorf("metadata at %s, not in the table's folder", l.Main.Iceberg().MetadataLocation())
			}
			rows := auditRows("SignInLogs", dayOf(11), 5, name)
			f := File{Rel: relFor(t, l.Main, "SignInLogs", dayOf(11), "part-a.parquet"), Batches: []string{batchID(name)}}
			writeFile(t, l.Main, f.Rel, rows, f.Batches...)
			if _, err := l.Main.Commit(ctx, []File{f}); err != nil {
				t.Fatal(err)
			}
			again := openLake(t, cfg)
			if got := scanRowsOnly(t, again.Main); !slices.Equal(got, wantRows(t, l.Main.ours, rows)) {
				t.Errorf("read back through a new catalog: %d rows", len(got))
			}
			if got, err := again.Main.Committed(ctx, []string{batchID(name), batchID("other")}); err != nil || len(got) != 1 {
				t.Errorf("committed %v, %v", got, err)
			}
			if got := scanRowsOnly(t, again.Quarantine); len(got) != 0 {
				t.Errorf("quarantine: %d rows", len(got))
			}
		})
	}
}

// Two independent catalog instances (as two processes have) commit to
// one table at once: every commit lands exactly once.
func TestConcurrentCommits(t *testing.T) {
	for _, name := range []string{"file", "sqlite", "postgres"} {
		t.Run(name, func(t *testing.T) {
			cfg := catalogs(t)[name](t)
			concurrentCommits(t, cfg, 2, 8)
		})
	}
}

// concurrentCommits runs writers catalog instances, each committing
// commits files one by one, then checks, through a new instance, that
// each file and each batch is in the table once.
func concurrentCommits(t *testing.T, cfg Config, writers, commits int) {
	ctx := t.Context()
	lakes := make([]*Lake, writers)
	for i := range lakes {
		lakes[i] = openLake(t, cfg)
	}
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		attempts int
		errs     []error
		ids      []string
	)
	for w, l := range lakes {
		wg.Go(func() {
			for i := range commits {
				name := fmt.Sprintf("w%d-%d", w, i)
				f := File{Rel: relFor(t, l.Main, "SignInLogs", dayOf(11), "part-"+name+".parquet"), Batches: []string{batchID(name)}}
				writeFile(t, l.Main, f.Rel, auditRows("SignInLogs", dayOf(11), 2, name), f.Batches...)
				res, err := l.Main.Commit(ctx, []File{f})
				mu.Lock()
				attempts += res.Attempts
				ids = append(ids, f.Batches...)
				if err != nil {
					errs = append(errs, fmt.Errorf("%s: %w", name, err))
				} else if res.Duplicate {
					errs = append(errs, fmt.Errorf("%s: reported a duplicate", name))
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	check := openLake(t, cfg)
	files, err := check.Main.Files(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(files), writers*commits; got != want {
		t.Errorf("%d files in the table, want %d", got, want)
	}
	seen := map[string]int{}
	for _, s := range check.Main.Iceberg().Metadata().Snapshots() {
		if c := s.Summary.Properties[SummaryCommit]; c != "" {
			seen[c]++
		}
	}
	for c, n := range seen {
		if n != 1 {
			t.Errorf("commit %s in %d snapshots", c, n)
		}
	}
	if got, want := len(seen), writers*commits; got != want {
		t.Errorf("%d commits in the table, want %d", got, want)
	}
	got, err := check.Main.Committed(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(ids) {
		t.Errorf("%d of %d batches committed", len(got), len(ids))
	}
	if rows := scanRowsOnly(t, check.Main); len(rows) != 2*writers*commits {
		t.Errorf("%d rows, want %d", len(rows), 2*writers*commits)
	}
	t.Logf("%d commits in %d attempts", writers*commits, attempts)
}

// Bad catalog settings fail at Open with one clear error; a password in
// a catalog URL never shows.
func TestBadCatalogs(t *testing.T) {
	closed := closedPort(t)
	lake := filepath.Join(t.TempDir(), "lake")
	for _, c := range []struct {
		name, catalog, want string
	}{
		{"unknown scheme", "mysql://x", "want sqlite:PATH"},
		{"sqlite without path", "sqlite:", "needs a file path"},
		{"postgres unreachable", "postgres://u:s3cretpw@127.0.0.1:" + closed + "/db?sslmode=disable", "127.0.0.1:" + closed},
		{"REST unreachable", "http://127.0.0.1:" + closed + "/catalog", "127.0.0.1:" + closed},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			_, err := Open(ctx, Config{Lake: lake, Catalog: c.catalog, LogType: auditType(t), REST: RESTConfig{Token: "t0ken-secret"}})
			if err == nil {
				t.Fatal("opened")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not say %q", err, c.want)
			}
			for _, secret := range []string{"s3cretpw", "t0ken-secret"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error shows a secret: %q", err)
				}
			}
			t.Log(err)
		})
	}
	for _, c := range []struct{ name, lake string }{
		{"lake under /", "/lake-at-root"},
		{"gs lake", "gs://bucket/lake"},
	} {
		if _, err := Open(t.Context(), Config{Lake: c.lake, LogType: auditType(t)}); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: %v, want ErrConfig", c.name, err)
		}
	}
}

// closedPort returns a loopback port nothing listens on.
func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(l.Addr().String())
	l.Close()
	return port
}
