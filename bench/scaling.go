package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// parserScaling measures the parser stage alone (no writer: batches wait in
// JetStream, so the parsers are the bottleneck): the time N separate
// `entralake parser` processes take to parse every task of the export, for
// N = 1 and 2, alternating, on one embedded JetStream server each run.
func parserScaling(o options, bin, export, dir string, records int64) error {
	fmt.Printf("\nparser scaling: %d records, each parser process runs --parsers 1; lister --task-size %d\n", records, o.taskSize)
	fmt.Printf("  %-4s %-8s %9s %12s\n", "run", "parsers", "seconds", "records/s")
	best := map[int][]float64{}
	for run := 1; run <= o.runs; run++ {
		for _, n := range []int{1, 2} {
			sec, err := parseWith(o, bin, export, filepath.Join(dir, fmt.Sprintf("scale-%d-%d", run, n)), n)
			if err != nil {
				return fmt.Errorf("%d parsers: %w", n, err)
			}
			best[n] = append(best[n], sec)
			fmt.Printf("  %-4d %-8d %9.2f %12.0f\n", run, n, sec, float64(records)/sec)
		}
	}
	m1, m2 := median(best[1]), median(best[2])
	fmt.Printf("  median: 1 parser %.0f records/s, 2 parsers %.0f records/s: %.2fx\n", float64(records)/m1, float64(records)/m2, m1/m2)
	return nil
}

func parseWith(o options, bin, export, dir string, n int) (float64, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	url := fmt.Sprintf("nats://127.0.0.1:%d", port)
	server := exec.Command(bin, "nats-server", "--listen", fmt.Sprintf("127.0.0.1:%d", port), "--data-dir", filepath.Join(dir, "nats"))
	if err := server.Start(); err != nil {
		return 0, err
	}
	defer func() { _ = server.Process.Signal(syscall.SIGTERM); _ = server.Wait() }()
	if out, err := command(o.timeout, "", nil, bin, "lister", "--nats", url, "--source", export, "--once", "--log-level", "warn",
		"--task-size", strconv.FormatInt(o.taskSize, 10)); err != nil {
		return 0, fmt.Errorf("lister: %w\n%s", err, out)
	}
	env := append(os.Environ(), "GOMAXPROCS=1", "ENTRALAKE_LOG_LEVEL=warn")
	start := time.Now()
	var parsers []*exec.Cmd
	for i := 0; i < n; i++ {
		p := exec.Command(bin, "parser", "--nats", url, "--source", export, "--parsers", "1")
		p.Env = env
		if err := p.Start(); err != nil {
			return 0, err
		}
		parsers = append(parsers, p)
	}
	defer func() {
		for _, p := range parsers {
			_ = p.Process.Signal(syscall.SIGTERM)
			_ = p.Wait()
		}
	}()
	// Watch the parsers' consumer over our own connection: a status
	// process per poll would take CPU from the parsers being measured.
	nc, err := nats.Connect(url)
	if err != nil {
		return 0, err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return 0, err
	}
	deadline := start.Add(o.timeout)
	for time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		cons, err := js.Consumer(ctx, "ENTRALAKE_TASKS", "parsers")
		if err != nil {
			cancel()
			continue
		}
		info, err := cons.Info(ctx)
		cancel()
		if err == nil && info.NumPending == 0 && info.NumAckPending == 0 {
			return time.Since(start).Seconds(), nil
		}
	}
	return 0, fmt.Errorf("parsers did not finish in %s", o.timeout)
}
