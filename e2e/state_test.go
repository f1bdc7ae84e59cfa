package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// lakeMarker is the file at the lake's root that names the lake.
const lakeMarker = "_entralake.json"

// TestStateOfAnotherLake deletes the lake after a run (and, second case,
// points --lake at a new folder with the same data dir): the next run must
// not report success with nothing written, but fail naming the data dir,
// the lake and how to reset; with --reset-state it writes the whole lake
// again, each row once.
func TestStateOfAnotherLake(t *testing.T) {
	src := absPath(t, testdataExport)
	dir := t.TempDir()
	lake, data := filepath.Join(dir, "lake"), filepath.Join(dir, "data")
	runOnce(t, src, lake, data)
	checkTestdataLake(t, lake)

	for _, c := range []struct{ name, lake string }{
		{"lake deleted", lake},
		{"another lake", filepath.Join(dir, "other")},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := os.RemoveAll(lake); err != nil {
				t.Fatal(err)
			}
			_, stderr, code := runEntralakeCode(t, "run", "--source", src, "--lake", c.lake, "--data-dir", data, "--once")
			if code == 0 {
				t.Fatalf("run on a state whose lake is gone: exit 0")
			}
			for _, want := range []string{data, c.lake, "--reset-state"} {
				if !strings.Contains(stderr, want) {
					t.Errorf("error does not name %q:\n%s", want, stderr)
				}
			}
			if files := parquetFiles(t, c.lake); len(files) > 0 {
				t.Fatalf("the refused run wrote %d files", len(files))
			}
			runEntralake(t, "run", "--source", src, "--lake", c.lake, "--data-dir", data, "--once", "--reset-state")
			checkTestdataLake(t, c.lake)
			// And the state is the lake's again: a run adds nothing.
			runOnce(t, src, c.lake, data)
			checkTestdataLake(t, c.lake)
		})
	}
}

// checkTestdataLake checks that lake holds testdata/export, each row once.
func checkTestdataLake(t *testing.T, lake string) {
	t.Helper()
	db := openDuckDB(t)
	rows, quar := countTable(t, db, lake, tableDir), countTable(t, db, lake, quarantineDir)
	if rows.Rows != testdataGood || rows.RowIDs != rows.Rows || quar.Rows != testdataQuarantined || quar.RowIDs != quar.Rows {
		t.Fatalf("lake %s: %d rows (%d ids), %d quarantined (%d ids); want %d and %d, each once",
			lake, rows.Rows, rows.RowIDs, quar.Rows, quar.RowIDs, testdataGood, testdataQuarantined)
	}
}

// TestSeparateStagesWaitIdle runs the stages as separate processes
// (nats-server, a writer, a parser), then `lister --once`: `status
// --wait-idle` must return once everything published is in the lake, and
// say so (committed = published), without the lister running again.
func TestSeparateStagesWaitIdle(t *testing.T) {
	const records = 3000
	dir := t.TempDir()
	src, lake := filepath.Join(dir, "export"), filepath.Join(dir, "lake")
	runEntralake(t, "gen", "--records", fmt.Sprint(records), "--hours", "3", "--seed", "11", "--out", src)
	port := freePort(t)
	url := fmt.Sprintf("nats://127.0.0.1:%d", port)
	server := &proc{name: "nats-server", args: []string{"nats-server", "--listen", fmt.Sprintf("127.0.0.1:%d", port), "--data-dir", filepath.Join(dir, "nats")}}
	writer := &proc{name: "writer", args: []string{"writer", "--nats", url, "--lake", lake, "--roll-age", "2s"}}
	parser := &proc{name: "parser", args: []string{"parser", "--nats", url, "--source", src}}
	procs := []*proc{server, writer, parser}
	for _, p := range procs {
		p.start(t)
	}
	defer func() {
		for _, p := range []*proc{parser, writer, server} {
			if ok, _ := p.exited(); !ok {
				if exited, err := p.signal(syscall.SIGTERM, 30*time.Second); !exited || err != nil {
					t.Errorf("%s after SIGTERM: exited=%v err=%v", p.name, exited, err)
				}
			}
			if t.Failed() {
				t.Logf("%s output:\n%s", p.name, p.logTail())
			}
		}
	}()
	runEntralake(t, "lister", "--nats", url, "--source", src, "--once")
	out, _ := runEntralake(t, "status", "--nats", url, "--wait-idle", "--timeout", "3m", "--json")
	var st struct {
		Idle    bool `json:"idle"`
		Offsets struct {
			Blobs          int   `json:"blobs"`
			PublishedBytes int64 `json:"published_bytes"`
			CommittedBytes int64 `json:"committed_bytes"`
			PendingBytes   int64 `json:"pending_bytes"`
			WaitingBytes   int64 `json:"waiting_bytes"`
		} `json:"offsets"`
		UnsettledTasks int `json:"unsettled_tasks"`
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("status --json: %v\n%s", err, out)
	}
	o := st.Offsets
	if !st.Idle || o.Blobs == 0 || o.CommittedBytes != o.PublishedBytes || o.PendingBytes != 0 || o.WaitingBytes != 0 || st.UnsettledTasks != 0 {
		t.Fatalf("status after --wait-idle: %s", out)
	}
	db := openDuckDB(t)
	rows := countTable(t, db, lake, tableDir)
	if rows.Rows != records || rows.RowIDs != rows.Rows {
		t.Fatalf("lake after --wait-idle: %d rows (%d ids), want %d, each once", rows.Rows, rows.RowIDs, records)
	}
	// The text form says the same.
	text, _ := runEntralake(t, "status", "--nats", url)
	if !strings.Contains(text, "idle") {
		t.Fatalf("status does not say it is idle:\n%s", text)
	}
}
