package cli

import (
	"encoding/json"
	"fmt"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/entralake/entralake/internal/lakeinfo"
	"github.com/entralake/entralake/schema"
	"github.com/entralake/entralake/workers"
)

// StatusCmd reports on a deployment.
type StatusCmd struct {
	StateFlags `embed:""`
	Lake       string `help:"Lake folder to summarise (files, bytes, newest event time and lag per category)." placeholder:"DIR"`
	JSON       bool   `help:"Print one JSON object, for scripts."`
}

// Help is shown by `entralake status --help`.
func (*StatusCmd) Help() string {
	return `Shows the streams and consumers (messages pending, in flight, redelivered),
the dead-letter count and, with --lake, per category the newest event time in
the lake, how far that is behind now (the lag), and the lake's files and bytes.

Examples:
  entralake status --nats nats://127.0.0.1:4222 --lake /data/lake
  entralake status --data-dir .entralake --lake ./lake --json`
}

// Status is the JSON form of `entralake status`.
type Status struct {
	Time       time.Time             `json:"time"`
	Queue      *workers.QueueStatus  `json:"queue"`
	Offsets    workers.OffsetSummary `json:"offsets"`
	Lake       *lakeinfo.Table       `json:"lake,omitempty"`
	Quarantine *lakeinfo.Table       `json:"quarantine,omitempty"`
	Lag        map[string]float64    `json:"lag_seconds,omitempty"`
}

// Run implements the command.
func (s *StatusCmd) Run(env *Env) error {
	c, done, err := s.open(env, "entralake-status")
	if err != nil {
		return err
	}
	defer done()
	st := Status{Time: time.Now().UTC()}
	if st.Queue, err = workers.Status(env.Ctx, c.js); err != nil {
		return err
	}
	off, err := workers.NewOffsets(env.Ctx, c.js)
	if err != nil {
		return err
	}
	if st.Offsets, err = off.Summary(env.Ctx); err != nil {
		return err
	}
	if s.Lake != "" {
		if st.Lake, err = lakeinfo.Scan(s.Lake, "azure_audit"); err != nil {
			return err
		}
		if st.Quarantine, err = lakeinfo.Scan(s.Lake, "azure_audit_quarantine"); err != nil {
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
		return enc.Encode(st)
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STREAM\tMESSAGES\tBYTES")
	for _, name := range []string{workers.StreamTasks, workers.StreamBatches, workers.StreamDLQ} {
		ss := st.Queue.Streams[name]
		fmt.Fprintf(tw, "%s\t%d\t%s\n", name, ss.Messages, humanBytes(int64(ss.Bytes)))
	}
	fmt.Fprintln(tw, "\nCONSUMER\tPENDING\tIN FLIGHT\tREDELIVERED\tWAITING")
	for _, name := range []string{workers.ConsumerParsers, workers.ConsumerWriters} {
		cs := st.Queue.Consumers[name]
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\n", name, cs.Pending, cs.InFlight, cs.Redelivered, cs.Waiting)
	}
	fmt.Fprintf(tw, "\ndead letters: %d\n", st.Queue.DeadLetters)
	fmt.Fprintf(tw, "blobs: %d, %s published as tasks, %s with their rows in the lake\n",
		st.Offsets.Blobs, humanBytes(st.Offsets.PublishedBytes), humanBytes(st.Offsets.CommittedBytes))
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
	return tw.Flush()
}
