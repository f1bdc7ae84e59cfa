package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/entralake/entralake/internal/gen"
	"golang.org/x/sync/errgroup"
)

// GenCmd writes a synthetic export for benchmarks and tests.
type GenCmd struct {
	Records    int64    `help:"Records to write, over all categories (or give --mb)." default:"0"`
	MB         float64  `name:"mb" help:"Write about this many megabytes (10^6 bytes) instead of --records." default:"0"`
	Out        string   `help:"Export folder to write: <out>/insights-logs-<category>/tenantId=<guid>/y=/m=/d=/h=/m=00/PT1H.json." required:"" placeholder:"DIR"`
	Seed       uint64   `help:"Seed: the same seed and flags always give the same bytes." default:"1"`
	Categories []string `help:"Categories to write, e.g. SignInLogs,AuditLogs (default: all)." placeholder:"NAME,..."`
	Start      string   `help:"First hour of the records, UTC." default:"2025-04-11T00"`
	Hours      int      `help:"Hours the records spread over: one blob per category per hour." default:"24"`
	Users      int      `help:"Users of the simulated tenant." default:"3000"`
	Jobs       int      `help:"Blobs written at once (0: the number of CPUs)." default:"0"`
}

// Help is shown by `entralake gen --help`.
func (*GenCmd) Help() string {
	var names string
	for i, c := range gen.Categories() {
		if i > 0 {
			names += ", "
		}
		names += c.Name
	}
	return `Writes a synthetic Entra ID diagnostic export: JSON lines (CRLF) with the field
shapes of real exports, split between categories as in a typical tenant, spread
over --hours hours. The output depends only on the flags: the same seed gives
the same bytes. Blobs of the plan are overwritten; other files are left alone.

Categories: ` + names + `

Examples:
  entralake gen --records 100000 --out ./export
  entralake gen --mb 320 --out /tmp/export --seed 7 --hours 48
  entralake gen --records 5000 --categories SignInLogs,AuditLogs --out ./export`
}

// Run implements the command.
func (g *GenCmd) Run(env *Env) error {
	start := time.Now()
	first, err := parseHour(g.Start, false)
	if err != nil {
		return fmt.Errorf("--start: %w", err)
	}
	cfg := gen.Config{Seed: g.Seed, Records: g.Records, Categories: g.Categories, Start: first, Hours: g.Hours, Users: g.Users}
	if g.MB > 0 {
		if cfg.Records, err = gen.RecordsForSize(cfg, int64(g.MB*1e6)); err != nil {
			return err
		}
	}
	gn, err := gen.New(cfg)
	if err != nil {
		return err
	}
	jobs := g.Jobs
	if jobs <= 0 {
		jobs = runtime.NumCPU()
	}
	var written atomic.Int64
	var eg errgroup.Group
	eg.SetLimit(jobs)
	blobs := gn.Blobs()
	for _, b := range blobs {
		if env.Ctx.Err() != nil {
			break
		}
		eg.Go(func() error {
			n, err := writeBlobFile(gn, g.Out, b)
			written.Add(n)
			return err
		})
	}
	if err := eg.Wait(); err != nil {
		return err
	}
	if err := env.Ctx.Err(); err != nil {
		return err
	}
	el := time.Since(start)
	fmt.Fprintf(env.Stdout, "wrote %d records (%.1f MB) in %d blobs to %s in %s (%.0f MB/s)\n",
		gn.Records(), float64(written.Load())/1e6, len(blobs), g.Out, el.Round(time.Millisecond), float64(written.Load())/1e6/el.Seconds())
	return nil
}

func writeBlobFile(gn *gen.Generator, root string, b gen.Blob) (int64, error) {
	p := filepath.Join(root, b.Container, filepath.FromSlash(b.Name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return 0, fmt.Errorf("gen: %w", err)
	}
	f, err := os.Create(p)
	if err != nil {
		return 0, fmt.Errorf("gen: %w", err)
	}
	n, err := gn.WriteBlob(f, b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return n, fmt.Errorf("gen: write %s: %w", p, err)
	}
	return n, nil
}
