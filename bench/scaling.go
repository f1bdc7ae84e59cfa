package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// parserScaling measures the parser stage alone (no writer: batches wait in
// JetStream, so the parsers are the bottleneck): the time N separate
// `entralake parser` processes take to parse every task of the export, for
// each N of -parsers (1 and 2), alternating, on a new JetStream each run:
// one `entralake nats-server`, or with -cluster three of them in a cluster
// and every stream and bucket with three replicas.
func parserScaling(o options, bin, export, dir string, records int64) error {
	var counts []int
	for c := range strings.SplitSeq(o.counts, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(c))
		if err != nil || n < 1 {
			return fmt.Errorf("-parsers %q: want numbers of parser processes, e.g. 1,2,4", o.counts)
		}
		counts = append(counts, n)
	}
	where := "one JetStream server"
	if o.cluster {
		where = "a three-node JetStream cluster, --replicas 3"
	}
	fmt.Printf("\nparser scaling: %d records, each parser process runs --parsers 1 with GOMAXPROCS=1; lister --task-size %d; %s; %d CPUs; %s\n",
		records, o.taskSize, where, runtime.NumCPU(), loadAvg())
	fmt.Printf("  %-4s %-8s %9s %12s\n", "run", "parsers", "seconds", "records/s")
	best := map[int][]float64{}
	for run := 1; run <= o.runs; run++ {
		for _, n := range counts {
			sec, err := parseWith(o, bin, export, filepath.Join(dir, fmt.Sprintf("scale-%d-%d", run, n)), n)
			if err != nil {
				return fmt.Errorf("%d parsers: %w", n, err)
			}
			best[n] = append(best[n], sec)
			fmt.Printf("  %-4d %-8d %9.2f %12.0f\n", run, n, sec, float64(records)/sec)
		}
	}
	first := median(best[counts[0]])
	for _, n := range counts {
		m := median(best[n])
		fmt.Printf("  median: %d parsers %.0f records/s (%.2fx %d)\n", n, float64(records)/m, first/m, counts[0])
	}
	return nil
}

// startJetStream starts one `entralake nats-server`, or three in a
// cluster, in dir; it returns the client URLs (comma-separated), the
// extra flags of the stages and a function that stops the servers.
func startJetStream(o options, bin, dir string) (string, []string, func(), error) {
	free := func() (int, error) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		defer l.Close()
		return l.Addr().(*net.TCPAddr).Port, nil
	}
	nodes := 1
	if o.cluster {
		nodes = 3
	}
	var urls, routes []string
	var args [][]string
	for i := range nodes {
		port, err := free()
		if err != nil {
			return "", nil, nil, err
		}
		urls = append(urls, fmt.Sprintf("nats://127.0.0.1:%d", port))
		a := []string{"nats-server", "--listen", fmt.Sprintf("127.0.0.1:%d", port), "--data-dir", filepath.Join(dir, fmt.Sprintf("nats%d", i)), "--log-level", "warn"}
		if o.cluster {
			cport, err := free()
			if err != nil {
				return "", nil, nil, err
			}
			routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", cport))
			a = append(a, "--name", fmt.Sprintf("n%d", i+1), "--cluster", fmt.Sprintf("127.0.0.1:%d", cport))
		}
		args = append(args, a)
	}
	var servers []*exec.Cmd
	stop := func() {
		for _, s := range servers {
			_ = s.Process.Signal(syscall.SIGTERM)
			_ = s.Wait()
		}
	}
	for _, a := range args {
		if o.cluster {
			a = append(a, "--routes", strings.Join(routes, ","))
		}
		s := exec.Command(bin, a...)
		if err := s.Start(); err != nil {
			stop()
			return "", nil, nil, err
		}
		servers = append(servers, s)
	}
	var flags []string
	if o.cluster {
		flags = []string{"--replicas", "3"}
	}
	return strings.Join(urls, ","), flags, stop, nil
}

func parseWith(o options, bin, export, dir string, n int) (float64, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	url, flags, stop, err := startJetStream(o, bin, dir)
	if err != nil {
		return 0, err
	}
	defer stop()
	if out, err := command(o.timeout, "", nil, bin, append([]string{"lister", "--nats", url, "--source", export, "--once", "--log-level", "warn",
		"--task-size", strconv.FormatInt(o.taskSize, 10)}, flags...)...); err != nil {
		return 0, fmt.Errorf("lister: %w\n%s", err, out)
	}
	env := append(os.Environ(), "GOMAXPROCS=1", "ENTRALAKE_LOG_LEVEL=warn")
	start := time.Now()
	var parsers []*exec.Cmd
	for i := 0; i < n; i++ {
		p := exec.Command(bin, append([]string{"parser", "--nats", url, "--source", export, "--parsers", "1"}, flags...)...)
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
