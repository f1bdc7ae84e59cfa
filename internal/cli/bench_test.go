package cli_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/entralake/entralake/internal/cli"
)

var (
	runOnceMB      = flag.Float64("runonce.mb", 64, "megabytes of generated export for BenchmarkRunOnce")
	runOnceParsers = flag.Int("runonce.parsers", 0, "--parsers of BenchmarkRunOnce (0: number of CPUs)")
	runOnceHours   = flag.Int("runonce.hours", 24, "hours the export of BenchmarkRunOnce spans (one blob per category and hour)")
	runOnceTopo    = flag.String("runonce.topology", "fused", "--topology of BenchmarkRunOnce: fused or split")
)

// TestGenCommand checks `entralake gen`: the same seed writes the same
// files, and a size is required.
func TestGenCommand(t *testing.T) {
	hash := func(dir string) string {
		h := sha256.New()
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(p)
			rel, _ := filepath.Rel(dir, p)
			h.Write([]byte(filepath.ToSlash(rel)))
			h.Write(b)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return hex.EncodeToString(h.Sum(nil))
	}
	var sums []string
	for range 2 {
		dir := t.TempDir()
		var out, errb bytes.Buffer
		if code := cli.Main([]string{"gen", "--records", "900", "--hours", "3", "--seed", "5", "--out", dir}, &out, &errb); code != 0 {
			t.Fatalf("gen: exit %d\n%s%s", code, out.Bytes(), errb.Bytes())
		}
		if !strings.HasPrefix(out.String(), "wrote 900 records") {
			t.Fatalf("gen printed %q", out.String())
		}
		sums = append(sums, hash(dir))
	}
	if sums[0] != sums[1] {
		t.Fatalf("same seed, different exports: %s, %s", sums[0], sums[1])
	}
	var out, errb bytes.Buffer
	if code := cli.Main([]string{"gen", "--out", t.TempDir()}, &out, &errb); code == 0 {
		t.Fatalf("gen without --records or --mb: exit 0")
	}
}

var summaryRE = regexp.MustCompile(`(\d+) records .* -> (\d+) rows, (\d+) quarantined; (\d+) files`)

// BenchmarkRunOnce measures the whole pipeline in one process, as
// `entralake run --once` does it: list, read, parse, hand the Arrow batches
// to the writer (in memory, or with -runonce.topology split through the
// embedded JetStream), write zstd Parquet files. Each
// iteration starts with an empty data dir and lake. The export is
// generated once (-runonce.mb, default 64 MB, over -runonce.hours); MB/s
// counts its bytes. The fixed costs of a run (server start, the idle
// check before the last flush: about 150 ms in all) weigh more on small
// exports.
func BenchmarkRunOnce(b *testing.B) {
	src := filepath.Join(b.TempDir(), "export")
	var out, errb bytes.Buffer
	if code := cli.Main([]string{"gen", "--mb", strconv.FormatFloat(*runOnceMB, 'f', -1, 64), "--hours", strconv.Itoa(*runOnceHours), "--out", src}, &out, &errb); code != 0 {
		b.Fatalf("gen: exit %d\n%s%s", code, out.Bytes(), errb.Bytes())
	}
	b.Log(strings.TrimSpace(out.String()))
	var size int64
	err := filepath.WalkDir(src, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		size += info.Size()
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	work := b.TempDir()
	b.SetBytes(size)
	b.ReportAllocs()
	var records, files int64
	for b.Loop() {
		lake, data := filepath.Join(work, "lake"), filepath.Join(work, "data")
		out.Reset()
		errb.Reset()
		args := []string{"run", "--once", "--source", src, "--lake", lake, "--data-dir", data, "--log-level", "warn", "--log-format", "text", "--topology", *runOnceTopo}
		if *runOnceParsers > 0 {
			args = append(args, "--parsers", strconv.Itoa(*runOnceParsers))
		}
		if code := cli.Main(args, &out, &errb); code != 0 {
			b.Fatalf("run: exit %d\n%s%s", code, out.Bytes(), errb.Bytes())
		}
		b.StopTimer()
		m := summaryRE.FindStringSubmatch(out.String())
		if m == nil {
			b.Fatalf("no summary in %q", out.String())
		}
		if m[3] != "0" {
			b.Fatalf("records quarantined: %s", strings.TrimSpace(out.String()))
		}
		n, _ := strconv.ParseInt(m[1], 10, 64)
		f, _ := strconv.ParseInt(m[4], 10, 64)
		records += n
		files += f
		if err := os.RemoveAll(lake); err != nil {
			b.Fatal(err)
		}
		if err := os.RemoveAll(data); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.Log(strings.TrimSpace(out.String()))
	b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(files)/float64(b.N), "files/op")
}
