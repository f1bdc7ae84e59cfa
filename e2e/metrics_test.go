package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// scrape reads a Prometheus text page into name{labels} -> value.
func scrape(url string) (map[string]float64, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s", url, resp.Status)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		out[line[:i]] = v
	}
	return out, sc.Err()
}

// sum adds the values of every series of a metric.
func sum(m map[string]float64, name string) float64 {
	var s float64
	for k, v := range m {
		if k == name || strings.HasPrefix(k, name+"{") {
			s += v
		}
	}
	return s
}

// TestMetricsMatchLake runs the pipeline with --metrics-addr, waits until
// it is idle, scrapes /metrics and checks that records parsed, rows
// written and quarantined records equal what DuckDB counts in the lake;
// /healthz and /readyz answer, and SIGTERM ends the process with exit 0.
func TestMetricsMatchLake(t *testing.T) {
	dir := t.TempDir()
	lake := filepath.Join(dir, "lake")
	port := freePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	cmd := exec.Command(binPath, "run", "--source", absPath(t, "../testdata/export"), "--lake", lake,
		"--data-dir", filepath.Join(dir, "data"), "--metrics-addr", fmt.Sprintf("127.0.0.1:%d", port),
		"--roll-age", "500ms", "--poll-interval", "1h")
	cmd.Env = childEnv()
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		_ = cmd.Process.Kill()
		if t.Failed() {
			t.Logf("entralake output:\n%s", logs.String())
		}
	}()

	var m map[string]float64
	idle := 0
	for deadline := time.Now().Add(60 * time.Second); idle < 3; time.Sleep(300 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("pipeline never idle; last metrics: %v", m)
		}
		var err error
		if m, err = scrape(base + "/metrics"); err != nil {
			idle = 0
			continue
		}
		busy := sum(m, "entralake_consumer_pending") + sum(m, "entralake_consumer_in_flight")
		if sum(m, "entralake_records_parsed_total") > 0 && busy == 0 {
			idle++
		} else {
			idle = 0
		}
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: %s %s", path, resp.Status, body)
		}
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v", err)
		}
	case <-time.After(40 * time.Second):
		t.Fatal("still running 40s after SIGTERM")
	}

	db := openDuckDB(t)
	rows := countTable(t, db, lake, tableDir)
	quar := countTable(t, db, lake, quarantineDir)
	parsed := int64(sum(m, "entralake_records_parsed_total"))
	rowsParsed := int64(sum(m, "entralake_rows_parsed_total"))
	quarantined := int64(sum(m, "entralake_records_quarantined_total"))
	written := int64(sum(m, "entralake_rows_written_total"))
	t.Logf("metrics: records parsed %d, rows parsed %d, quarantined %d, rows written %d; DuckDB: rows %d, quarantined %d",
		parsed, rowsParsed, quarantined, written, rows.Rows, quar.Rows)
	if parsed != rows.Rows+quar.Rows || rowsParsed != rows.Rows || quarantined != quar.Rows || written != rows.Rows+quar.Rows {
		t.Errorf("metrics disagree with the lake")
	}
	if sum(m, `entralake_records_quarantined_total{reason="invalid_json"}`) == 0 {
		t.Errorf("no quarantined record counted under reason invalid_json: %v", m)
	}
	for _, name := range []string{"entralake_event_time_lag_seconds", "entralake_message_processing_seconds_count", "entralake_files_written_total"} {
		if sum(m, name) <= 0 {
			t.Errorf("metric %s missing or zero", name)
		}
	}
}
