package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/entralake/entralake/internal/lakeinfo"
	"github.com/entralake/entralake/lake/iceberg"
	"github.com/entralake/entralake/schema"
	"github.com/entralake/entralake/workers"
)

// StatusCmd reports on a deployment.
type StatusCmd struct {
	StateFlags   `embed:""`
	LogTypeFlags `embed:""`
	TableFlags   `embed:""`
	Lake         string        `help:"Lake to summarise (default: none). Parquet mode: a local folder (files, bytes, newest event time and lag per category, read from the files' footers). Iceberg mode: a folder or Azure URL, as the writers' --lake (per table the current snapshot, its files, rows and bytes, and the last commit's time)." placeholder:"DIR"`
	JSON         bool          `help:"Print one JSON object, for scripts."`
	WaitIdle     bool          `help:"Wait until the deployment is idle, then print the status: no task or batch pending or in flight (writers hold none), every finished task settled, every published byte in the lake or waiting for the rest of its line. How a script knows that a replay through separate stages is complete. Exits 1 if --timeout passes first."`
	Timeout      time.Duration `help:"How long --wait-idle waits." default:"10m"`
}

// Help is shown by `entralake status --help`.
func (*StatusCmd) Help() string {
	return `Shows the streams and consumers (messages pending, in flight, redelivered),
the dead-letter count, the running processes (each stage, ready or what it
cannot use; a process drops out of the list a minute after it stopped) and,
with --lake, per category the newest event time in the lake, how far that is
behind now (the lag), and the lake's files and bytes. On the --data-dir of a
running 'entralake run' it connects to that run's NATS server.

It also says what is still to do: bytes published and not yet in the lake
(pending), batches the writers hold (their files close within --roll-age),
finished tasks not yet settled, and the unfinished last lines of blobs that
may still grow (waiting). --wait-idle waits until nothing is pending or held.

Examples:
  entralake status --nats nats://127.0.0.1:4222 --lake /data/lake
  entralake status --data-dir .entralake --lake ./lake --json
  # after 'entralake lister --once': wait until it is all in the lake
  entralake status --nats nats://127.0.0.1:4222 --wait-idle --timeout 1h`
}

// Status is the JSON form of `entralake status`.
type Status struct {
	Time    time.Time             `json:"time"`
	Queue   *workers.QueueStatus  `json:"queue"`
	Offsets workers.OffsetSummary `json:"offsets"`
	// UnsettledTasks are finished tasks whose rows are not all in the
	// lake yet (or an earlier range of their blob is not).
	UnsettledTasks int `json:"unsettled_tasks"`
	// HeldByWriters are the batches writers hold: buffered for a file
	// that closes within --roll-age, or being written.
	HeldByWriters int `json:"held_by_writers"`
	// Idle says nothing is left to do: no task or batch pending or held,
	// no finished task unsettled, no published byte pending. Busy says
	// what is left otherwise.
	Idle bool   `json:"idle"`
	Busy string `json:"busy,omitempty"`
	// Processes are the running processes' health records.
	Processes []workers.Health `json:"processes"`
	Lake      *lakeinfo.Table  `json:"lake,omitempty"`
	// Tables are the Iceberg tables (--table-format iceberg).
	Tables     []iceberg.Status   `json:"iceberg_tables,omitempty"`
	Quarantine *lakeinfo.Table    `json:"quarantine,omitempty"`
	Lag        map[string]float64 `json:"lag_seconds,omitempty"`
}

// Run implements the command.
func (s *StatusCmd) Run(env *Env) error {
	if s.WaitIdle && s.Timeout <= 0 {
		return fmt.Errorf("--timeout %s: want a duration above 0, e.g. 30m", s.Timeout)
	}
	c, done, err := s.open(env, "entralake-status")
	if err != nil {
		return err
	}
	defer done()
	// A status that could not be read whole, or a wait that timed out,
	// is printed as far as it goes, then the error (exit 1).
	var st Status
	var stErr error
	if s.WaitIdle {
		stErr = waitIdle(env.Ctx, c, s.Timeout, &st)
	} else {
		stErr = readStatus(env.Ctx, c, &st)
	}
	if st.Queue == nil {
		return stErr
	}
	recs, err := workers.NewHealthRecords(env.Ctx, c.js)
	if err != nil {
		return err
	}
	if st.Processes, err = recs.List(env.Ctx); err != nil {
		return err
	}
	if s.Lake != "" && s.iceberg() {
		lt, err := s.logType()
		if err != nil {
			return err
		}
		if st.Tables, err = icebergStatus(env.Ctx, s.Lake, s.TableFlags, lt); err != nil {
			return err
		}
	} else if s.Lake != "" {
		lt, err := s.logType()
		if err != nil {
			return err
		}
		if st.Lake, err = lakeinfo.Scan(s.Lake, lt.Table()); err != nil {
			return err
		}
		if st.Quarantine, err = lakeinfo.Scan(s.Lake, lt.QuarantineTable()); err != nil {
			return err
		}
		st.Lag = map[string]float64{}
		for cat, ci := range st.Lake.Categories {
			if !ci.NewestEvent.IsZero() {
				st.Lag[cat] = st.Time.Sub(ci.NewestEvent).Seconds()
			}
		}
	}
	if s.JSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		return errors.Join(enc.Encode(st), stErr)
	}

	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STREAM\tMESSAGES\tBYTES")
	for _, name := range []string{workers.StreamTasks, workers.StreamBatches, workers.StreamDLQ} {
		ss := st.Queue.Streams[name]
		fmt.Fprintf(tw, "%s\t%d\t%s\n", name, ss.Messages, humanBytes(int64(ss.Bytes)))
	}
	printReplicas(tw, st.Queue)
	fmt.Fprintln(tw, "\nCONSUMER\tPENDING\tIN FLIGHT\tREDELIVERED\tWAITING")
	for _, name := range []string{workers.ConsumerParsers, workers.ConsumerWriters} {
		cs := st.Queue.Consumers[name]
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\n", name, cs.Pending, cs.InFlight, cs.Redelivered, cs.Waiting)
	}
	fmt.Fprintf(tw, "\ndead letters: %d\n", st.Queue.DeadLetters)
	o := st.Offsets
	fmt.Fprintf(tw, "blobs: %d, %s published as tasks: %s with their rows in the lake, %s pending",
		o.Blobs, humanBytes(o.PublishedBytes), humanBytes(o.CommittedBytes), humanBytes(o.PendingBytes))
	if o.WaitingBytes > 0 {
		fmt.Fprintf(tw, ", %s waiting (the unfinished last lines of %d blobs that may still grow)", humanBytes(o.WaitingBytes), o.WaitingBlobs)
	}
	fmt.Fprintln(tw)
	fmt.Fprintf(tw, "writers hold %d batches (their files close within --roll-age); %d finished tasks wait for their rows to be in the lake\n",
		st.HeldByWriters, st.UnsettledTasks)
	if st.Idle {
		fmt.Fprintln(tw, "idle: everything published is in the lake (or waits for the rest of its last line)")
	} else {
		fmt.Fprintf(tw, "busy: %s\n", st.Busy)
	}
	if len(st.Processes) > 0 {
		fmt.Fprintln(tw, "\nPROCESS\tHOST\tPID\tREADY\tSINCE\tPROBLEM")
		for _, p := range st.Processes {
			ready := "yes"
			if !p.Ready {
				ready = "no"
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\n", p.Stage, p.Host, p.PID, ready, p.Started.Format(time.RFC3339), strings.ReplaceAll(p.Problem, "\n", "; "))
		}
	}
	if len(st.Tables) > 0 {
		fmt.Fprintln(tw, "\nTABLE\tSNAPSHOT\tFILES\tROWS\tBYTES\tLAST COMMIT\tSNAPSHOTS KEPT")
		for _, t := range st.Tables {
			last := "-"
			if !t.LastCommit.IsZero() {
				last = t.LastCommit.Format(time.RFC3339) + " (" + t.Operation + ")"
			}
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\t%s\t%d\n", t.Table, t.SnapshotID, t.Files, t.Rows, humanBytes(t.Bytes), last, t.Snapshots)
		}
	}
	if st.Lake != nil {
		fmt.Fprintf(tw, "\nlake: %d files, %s, %d rows; quarantine: %d files, %d records\n",
			st.Lake.Files, humanBytes(st.Lake.Bytes), st.Lake.Rows, st.Quarantine.Files, st.Quarantine.Rows)
		if h, d := st.Lake.Layouts[string(schema.PartitionHour)], st.Lake.Layouts[string(schema.PartitionDay)]; h > 0 && d > 0 {
			fmt.Fprintf(tw, "warning: the lake mixes partitions by hour (%d files) and by day (%d files): a table registered with 'ddl' reads one layout only; run every parser with the same --partition\n", h, d)
		}
		fmt.Fprintln(tw, "\nCATEGORY\tFILES\tROWS\tNEWEST EVENT\tLAG")
		cats := make([]string, 0, len(st.Lake.Categories))
		for c := range st.Lake.Categories {
			cats = append(cats, c)
		}
		sort.Strings(cats)
		for _, c := range cats {
			ci := st.Lake.Categories[c]
			fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\n", c, ci.Files, ci.Rows, ci.NewestEvent.Format(time.RFC3339),
				time.Duration(st.Lag[c]*float64(time.Second)).Round(time.Second))
		}
	}
	return errors.Join(tw.Flush(), stErr)
}

// readStatus reads the queues, the offsets and the finished tasks, and
// judges whether the deployment is idle.
func readStatus(ctx context.Context, c *conn, st *Status) error {
	*st = Status{Time: time.Now().UTC()}
	var err error
	if st.Queue, err = workers.Status(ctx, c.js); err != nil {
		return err
	}
	off, err := workers.NewOffsets(ctx, c.js)
	if err != nil {
		return err
	}
	if st.Offsets, err = off.Summary(ctx); err != nil {
		return err
	}
	tasks, err := workers.NewTasks(ctx, c.js)
	if err != nil {
		return err
	}
	if st.UnsettledTasks, err = tasks.Count(ctx); err != nil {
		return err
	}
	st.HeldByWriters = st.Queue.Consumers[workers.ConsumerWriters].InFlight
	var busy []string
	for _, name := range []string{workers.ConsumerParsers, workers.ConsumerWriters} {
		cs := st.Queue.Consumers[name]
		if n := cs.Pending + uint64(cs.InFlight); n > 0 {
			what := map[string]string{workers.ConsumerParsers: "tasks", workers.ConsumerWriters: "batches"}[name]
			busy = append(busy, fmt.Sprintf("%d %s pending or in flight", n, what))
		}
	}
	if st.UnsettledTasks > 0 {
		busy = append(busy, fmt.Sprintf("%d finished tasks not settled", st.UnsettledTasks))
	}
	if p := st.Offsets.PendingBytes; p > 0 {
		busy = append(busy, humanBytes(p)+" published and not yet in the lake")
	}
	if len(busy) > 0 && st.Queue.DeadLetters > 0 {
		busy = append(busy, fmt.Sprintf("%d dead letters (a failed task holds its blob back: see 'entralake dlq list')", st.Queue.DeadLetters))
	}
	st.Idle, st.Busy = len(busy) == 0, strings.Join(busy, ", ")
	return nil
}

// waitIdle reads the status until the deployment is idle twice in a row
// (a second look a moment later: a parser may be between taking a task
// and recording it), or until timeout; st holds the last status read.
func waitIdle(ctx context.Context, c *conn, timeout time.Duration, st *Status) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	idle := 0
	for {
		err := readStatus(ctx, c, st)
		switch {
		case err == nil && st.Idle:
			if idle++; idle >= 2 {
				return nil
			}
		case err == nil || ctx.Err() == nil:
			idle = 0
		}
		select {
		case <-ctx.Done():
			if err == nil && st.Queue != nil {
				err = fmt.Errorf("not idle after %s: %s", timeout, st.Busy)
			}
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return err
			}
			return errors.Join(err, context.Cause(ctx))
		case <-tick.C:
		}
	}
}

// icebergStatus reports the current snapshot of each of the lake's
// Iceberg tables.
func icebergStatus(ctx context.Context, lake string, f TableFlags, lt *schema.LogType) ([]iceberg.Status, error) {
	l, err := openIceberg(ctx, lake, f, lt, 0, nil)
	if err != nil {
		return nil, err
	}
	defer l.Close()
	var out []iceberg.Status
	for _, t := range []*iceberg.Table{l.Main, l.Quarantine} {
		st, err := t.Status(ctx)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}
