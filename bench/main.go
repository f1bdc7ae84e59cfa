// Command bench compares entralake with DuckDB on the same generated Entra
// ID export: entralake's `run --once` (embedded JetStream, parsers, writer,
// zstd Parquet lake), in the fused topology and in the split one, against
// DuckDB's
//
//	COPY (SELECT * FROM read_json('<export>/**/*.json', format='newline_delimited'))
//	TO '<out>.parquet' (FORMAT parquet, COMPRESSION zstd)
//
// with the same number of threads. It builds entralake from the repository,
// writes the export with `entralake gen`, then alternates the two, each in
// its own process so that each one's peak RSS and CPU time are its own, and
// prints every run and the medians, with the CPU seconds each spent per GB
// of JSON. See README.md.
package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	_ "github.com/duckdb/duckdb-go/v2" // registers the "duckdb" database/sql driver
)

type options struct {
	mb       float64
	runs     int
	threads  int
	seed     uint64
	hours    int
	repo     string
	dir      string
	keep     bool
	bin      string
	timeout  time.Duration
	child    bool
	childSrc string
	childOut string
	jsonOpts string
	scaling  bool
	only     bool
	cluster  bool
	counts   string
	part     string
	taskSize int64
	iceberg  bool
	topos    string
}

func main() {
	var o options
	flag.Float64Var(&o.mb, "mb", 320, "size of the generated export in MB (10^6 bytes)")
	flag.IntVar(&o.runs, "runs", 3, "runs of each engine")
	flag.IntVar(&o.threads, "threads", 2, "threads of each engine: entralake --parsers N --writer-files N with GOMAXPROCS=N, DuckDB SET threads=N")
	flag.Uint64Var(&o.seed, "seed", 1, "seed of the generated export")
	flag.IntVar(&o.hours, "hours", 24, "hours the export spans (one blob per category per hour)")
	flag.StringVar(&o.repo, "repo", "..", "root of the entralake repository")
	flag.StringVar(&o.dir, "dir", "", "work folder (default: a new temporary folder, removed at the end)")
	flag.BoolVar(&o.keep, "keep", false, "keep the work folder (export, lakes, DuckDB files)")
	flag.StringVar(&o.bin, "entralake", "", "use this entralake binary instead of building one")
	flag.DurationVar(&o.timeout, "timeout", 15*time.Minute, "limit of each run")
	flag.StringVar(&o.jsonOpts, "read-json-options", "union_by_name=true", "options added to DuckDB's read_json(..., format='newline_delimited'); '' runs the bare query, which fails on a mixed export")
	flag.StringVar(&o.part, "partition", "hour", "entralake --partition: hour, or day (fewer, bigger files for a small tenant)")
	flag.Int64Var(&o.taskSize, "task-size", 0, "entralake --task-size (bytes; 0: one task per blob): cut big blobs so that parsers share them")
	flag.BoolVar(&o.iceberg, "iceberg", true, "also run each topology with --table-format iceberg (the file catalog in the lake), and compare it with parquet mode")
	flag.StringVar(&o.topos, "topologies", "fused,split", "entralake's topologies to run (run --topology), comma-separated")
	flag.BoolVar(&o.scaling, "parser-scaling", false, "also measure one against two 'entralake parser' processes on one JetStream (parser-bound: no writer)")
	flag.BoolVar(&o.only, "scaling-only", false, "with -parser-scaling: skip the comparison with DuckDB")
	flag.BoolVar(&o.cluster, "cluster", false, "with -parser-scaling: a three-node JetStream cluster (three 'entralake nats-server' processes) and --replicas 3, instead of one server")
	flag.StringVar(&o.counts, "parsers", "1,2", "with -parser-scaling: the numbers of parser processes to compare, comma-separated")
	flag.BoolVar(&o.child, "duckdb-child", false, "internal: run the DuckDB side in this process and print its result as JSON")
	flag.StringVar(&o.childSrc, "src", "", "internal (-duckdb-child): export folder")
	flag.StringVar(&o.childOut, "out", "", "internal (-duckdb-child): Parquet file to write")
	flag.Parse()
	var err error
	if o.child {
		err = duckdbChild(o)
	} else {
		err = run(o)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// result is one run of one engine.
type result struct {
	engine   string
	run      int
	seconds  float64
	records  int64
	rssBytes int64
	outBytes int64
	files    int
	// cpu is the user and system CPU time of the process.
	cpu float64
}

func run(o options) error {
	if o.runs < 1 || o.threads < 1 || o.mb <= 0 {
		return errors.New("-runs, -threads and -mb must be positive")
	}
	repo, err := filepath.Abs(o.repo)
	if err != nil {
		return err
	}
	if err := checkRepo(repo); err != nil {
		return err
	}
	dir := o.dir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "entralake-bench-"); err != nil {
			return err
		}
		if !o.keep {
			defer os.RemoveAll(dir)
		}
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	dir, _ = filepath.Abs(dir)
	self, err := os.Executable()
	if err != nil {
		return err
	}

	bin := o.bin
	if bin == "" {
		bin = filepath.Join(dir, "entralake")
		step("building entralake (go build ./cmd/entralake in %s)", repo)
		if out, err := command(o.timeout, repo, nil, "go", "build", "-o", bin, "./cmd/entralake"); err != nil {
			return fmt.Errorf("go build: %w\n%s", err, out)
		}
	}

	export := filepath.Join(dir, "export")
	if err := os.RemoveAll(export); err != nil {
		return err
	}
	step("generating the export (%g MB, seed %d)", o.mb, o.seed)
	out, err := command(o.timeout, "", nil, bin, "gen", "--mb", strconv.FormatFloat(o.mb, 'f', -1, 64), "--out", export,
		"--seed", strconv.FormatUint(o.seed, 10), "--hours", strconv.Itoa(o.hours))
	if err != nil {
		return fmt.Errorf("entralake gen: %w\n%s", err, out)
	}
	fmt.Fprint(os.Stderr, "  ", string(out))
	m := regexp.MustCompile(`wrote (\d+) records`).FindSubmatch(out)
	if m == nil {
		return fmt.Errorf("entralake gen printed no record count: %q", out)
	}
	records, _ := strconv.ParseInt(string(m[1]), 10, 64)
	inBytes, blobs, err := sizeOf(export, ".json")
	if err != nil {
		return err
	}

	fmt.Printf("DuckDB: %s\n", duckdbQuery(export, "<out>.parquet", o.jsonOpts))
	fmt.Printf("export: %d records, %.1f MB in %d blobs (%s); %d CPUs; threads=%d; entralake --partition %s --task-size %d; %s\n",
		records, float64(inBytes)/1e6, blobs, export, runtime.NumCPU(), o.threads, o.part, o.taskSize, loadAvg())
	var results []result
	var engines []string
	for _, t := range strings.Split(o.topos, ",") {
		if t != "fused" && t != "split" {
			return fmt.Errorf("-topologies: %q is not fused or split", t)
		}
		engines = append(engines, "entralake "+t)
		if o.iceberg {
			engines = append(engines, "entralake "+t+icebergSuffix)
		}
	}
	engines = append(engines, "duckdb")
	for i := 1; i <= o.runs && !(o.only && o.scaling); i++ {
		for _, engine := range engines {
			step("run %d/%d: %s", i, o.runs, engine)
			var r result
			var err error
			if topo, ok := strings.CutPrefix(engine, "entralake "); ok {
				topo, iceberg := strings.CutSuffix(topo, icebergSuffix)
				r, err = runEntralake(o, bin, topo, export, filepath.Join(dir, fmt.Sprintf("run%d", i)), records, iceberg)
			} else {
				r, err = runDuckDB(o, self, export, filepath.Join(dir, fmt.Sprintf("duckdb%d.parquet", i)), records)
			}
			if err != nil {
				return fmt.Errorf("run %d, %s: %w", i, engine, err)
			}
			r.run = i
			results = append(results, r)
		}
	}
	if len(results) > 0 {
		report(os.Stdout, results, records, inBytes)
	}
	if o.scaling {
		if err := parserScaling(o, bin, export, dir, records); err != nil {
			return err
		}
	}
	fmt.Printf("load average at the end: %s\n", loadAvg())
	if o.keep {
		fmt.Printf("work folder kept: %s\n", dir)
	}
	return nil
}

func step(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "==> "+format+"\n", args...)
}

// checkRepo makes sure repo is the entralake module.
func checkRepo(repo string) error {
	b, err := os.ReadFile(filepath.Join(repo, "go.mod"))
	if err != nil {
		return fmt.Errorf("-repo %s: %w", repo, err)
	}
	if !bytes.HasPrefix(b, []byte("module github.com/entralake/entralake\n")) {
		return fmt.Errorf("-repo %s is not the entralake module", repo)
	}
	return nil
}

// command runs a short command and returns its combined output.
func command(timeout time.Duration, dir string, env []string, name string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off")
	cmd.Env = append(cmd.Env, env...)
	return cmd.CombinedOutput()
}

// measured runs cmd and returns its wall time, peak RSS and CPU time.
func measured(timeout time.Duration, cmd *exec.Cmd) (time.Duration, int64, float64, []byte, error) {
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = time.Second
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, 0, 0, nil, err
	}
	timer := time.AfterFunc(timeout, func() { _ = cmd.Process.Kill() })
	err := cmd.Wait()
	timer.Stop()
	el := time.Since(start)
	if err != nil {
		return el, 0, 0, stdout.Bytes(), fmt.Errorf("%w\n%s%s", err, stdout.Bytes(), stderr.Bytes())
	}
	var rss int64
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rss = int64(ru.Maxrss) * 1024 // kilobytes on Linux
	}
	cpu := (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()
	return el, rss, cpu, stdout.Bytes(), nil
}

var summaryRE = regexp.MustCompile(`(\d+) records .* -> (\d+) rows, (\d+) quarantined; (\d+) files`)

// icebergSuffix ends the name of an entralake run in Iceberg mode (the
// file catalog in the lake).
const icebergSuffix = " iceberg"

func runEntralake(o options, bin, topology, export, dir string, want int64, iceberg bool) (result, error) {
	if err := os.RemoveAll(dir); err != nil {
		return result{}, err
	}
	lake := filepath.Join(dir, "lake")
	n := strconv.Itoa(o.threads)
	cmd := exec.Command(bin, "run", "--once", "--source", export, "--lake", lake, "--data-dir", filepath.Join(dir, "data"),
		"--parsers", n, "--writer-files", n, "--partition", o.part, "--task-size", strconv.FormatInt(o.taskSize, 10),
		"--topology", topology, "--log-level", "warn", "--log-format", "text")
	engine := "entralake " + topology
	if iceberg {
		cmd.Args = append(cmd.Args, "--table-format", "iceberg")
		engine += icebergSuffix
	}
	cmd.Env = append(environ("ENTRALAKE_"), "GOMAXPROCS="+n)
	el, rss, cpu, out, err := measured(o.timeout, cmd)
	if err != nil {
		return result{}, err
	}
	m := summaryRE.FindSubmatch(out)
	if m == nil {
		return result{}, fmt.Errorf("no summary in the output: %q", out)
	}
	rec, _ := strconv.ParseInt(string(m[1]), 10, 64)
	if rec != want || string(m[3]) != "0" {
		return result{}, fmt.Errorf("got %s records, %s quarantined; want %d records, none quarantined", m[1], m[3], want)
	}
	size, files, err := sizeOf(lake, ".parquet")
	if err != nil {
		return result{}, err
	}
	r := result{engine: engine, seconds: el.Seconds(), records: rec, rssBytes: rss, outBytes: size, files: files, cpu: cpu}
	if !o.keep {
		err = os.RemoveAll(dir)
	}
	return r, err
}

// childResult is what the DuckDB child prints.
type childResult struct {
	Rows    int64  `json:"rows"`
	Version string `json:"version"`
}

func runDuckDB(o options, self, export, out string, want int64) (result, error) {
	if err := os.RemoveAll(out); err != nil {
		return result{}, err
	}
	cmd := exec.Command(self, "-duckdb-child", "-src", export, "-out", out, "-threads", strconv.Itoa(o.threads), "-read-json-options", o.jsonOpts)
	cmd.Env = environ("")
	el, rss, cpu, stdout, err := measured(o.timeout, cmd)
	if err != nil {
		return result{}, err
	}
	var cr childResult
	if err := json.Unmarshal(stdout, &cr); err != nil {
		return result{}, fmt.Errorf("child output %q: %w", stdout, err)
	}
	if cr.Rows != want {
		return result{}, fmt.Errorf("DuckDB wrote %d rows, want %d", cr.Rows, want)
	}
	info, err := os.Stat(out)
	if err != nil {
		return result{}, err
	}
	r := result{engine: "duckdb " + cr.Version, seconds: el.Seconds(), records: cr.Rows, rssBytes: rss, outBytes: info.Size(), files: 1, cpu: cpu}
	if !o.keep {
		err = os.Remove(out)
	}
	return r, err
}

// environ returns the environment without variables that start with
// prefix (none removed when prefix is "").
func environ(prefix string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if prefix != "" && strings.HasPrefix(kv, prefix) {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// duckdbChild runs the DuckDB side and prints a childResult.
func duckdbChild(o options) error {
	if o.childSrc == "" || o.childOut == "" {
		return errors.New("-duckdb-child needs -src and -out")
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return err
	}
	defer db.Close()
	ctx := context.Background()
	conn, err := db.Conn(ctx) // SET applies to one connection
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("SET threads=%d", o.threads)); err != nil {
		return err
	}
	var cr childResult
	if err := conn.QueryRowContext(ctx, "SELECT version()").Scan(&cr.Version); err != nil {
		return err
	}
	q := duckdbQuery(o.childSrc, o.childOut, o.jsonOpts)
	res, err := conn.ExecContext(ctx, q)
	if err != nil {
		return err
	}
	if cr.Rows, err = res.RowsAffected(); err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(cr)
}

// duckdbQuery is DuckDB's side of the comparison.
func duckdbQuery(src, out, opts string) string {
	if opts != "" {
		opts = ", " + opts
	}
	return fmt.Sprintf(`COPY (SELECT * FROM read_json(%s, format='newline_delimited'%s)) TO %s (FORMAT parquet, COMPRESSION zstd)`,
		sqlString(filepath.Join(src, "**", "*.json")), opts, sqlString(out))
}

func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// sizeOf sums the sizes of the files under root whose names end in ext.
func sizeOf(root, ext string) (int64, int, error) {
	var size int64
	n := 0
	err := filepath.WalkDir(root, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(d.Name(), ext) || strings.HasPrefix(d.Name(), ".") {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		size += info.Size()
		n++
		return nil
	})
	return size, n, err
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "load average unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "load average unknown"
	}
	return "load average " + strings.Join(f[:3], " ")
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// report prints every run, the medians and the ratios.
func report(w io.Writer, results []result, records, inBytes int64) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w)
	gb := float64(inBytes) / 1e9
	fmt.Fprintln(tw, "run\tengine\tseconds\trecords/s\tMB/s\tCPU s\tCPU-s/GB\tpeak RSS MB\toutput MB\toutput % of JSON\tfiles\t")
	for _, r := range results {
		fmt.Fprintf(tw, "%d\t%s\t%.2f\t%.0f\t%.1f\t%.2f\t%.1f\t%.0f\t%.1f\t%.1f\t%d\t\n", r.run, r.engine, r.seconds,
			float64(r.records)/r.seconds, float64(inBytes)/1e6/r.seconds, r.cpu, r.cpu/gb, float64(r.rssBytes)/1e6,
			float64(r.outBytes)/1e6, 100*float64(r.outBytes)/float64(inBytes), r.files)
	}
	tw.Flush()

	type med struct{ secs, rate, mbs, cpu, rss, out float64 }
	meds := map[string]med{}
	var engines []string
	for _, r := range results {
		if !slices.Contains(engines, r.engine) {
			engines = append(engines, r.engine)
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintln(tw, "median\tengine\tseconds\trecords/s\tMB/s\tCPU s\tCPU-s/GB\tpeak RSS MB\toutput MB\toutput % of JSON\t")
	for _, e := range engines {
		var secs, cpu, rss, out []float64
		for _, r := range results {
			if r.engine == e {
				secs = append(secs, r.seconds)
				cpu = append(cpu, r.cpu)
				rss = append(rss, float64(r.rssBytes)/1e6)
				out = append(out, float64(r.outBytes)/1e6)
			}
		}
		m := med{secs: median(secs), cpu: median(cpu), rss: median(rss), out: median(out)}
		m.rate, m.mbs = float64(records)/m.secs, float64(inBytes)/1e6/m.secs
		meds[e] = m
		fmt.Fprintf(tw, "%d runs\t%s\t%.2f\t%.0f\t%.1f\t%.2f\t%.1f\t%.0f\t%.1f\t%.1f\t\n", len(secs), e, m.secs, m.rate, m.mbs, m.cpu, m.cpu/gb, m.rss, m.out, 100*m.out*1e6/float64(inBytes))
	}
	tw.Flush()
	var duck string
	for _, e := range engines {
		if strings.HasPrefix(e, "duckdb") {
			duck = e
		}
	}
	if duck == "" {
		return
	}
	fmt.Fprintln(w)
	b := meds[duck]
	for _, e := range engines {
		if a, ok := meds[e]; ok && strings.HasPrefix(e, "entralake") {
			fmt.Fprintf(w, "%s/DuckDB records/s: %.2fx   CPU: %.2fx   output size: %.2fx   peak RSS: %.2fx\n", e, a.rate/b.rate, a.cpu/b.cpu, a.out/b.out, a.rss/b.rss)
		}
	}
	for _, e := range engines {
		ice, ok := meds[e]
		parquet, pok := meds[strings.TrimSuffix(e, icebergSuffix)]
		if ok && pok && strings.HasSuffix(e, icebergSuffix) {
			fmt.Fprintf(w, "%s/parquet records/s: %.3fx (%+.1f%%)   CPU: %.2fx   output size: %.2fx   peak RSS: %.2fx\n",
				e, ice.rate/parquet.rate, 100*(ice.rate/parquet.rate-1), ice.cpu/parquet.cpu, ice.out/parquet.out, ice.rss/parquet.rss)
		}
	}
}
