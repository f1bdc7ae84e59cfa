package cli

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/entralake/entralake/internal/location"
	"github.com/entralake/entralake/schema"
	"github.com/entralake/entralake/stages/parser"
	"github.com/entralake/entralake/stages/writer"
	"github.com/entralake/entralake/workers"
)

// RunCmd runs the whole pipeline in one process.
type RunCmd struct {
	LogTypeFlags `embed:""`
	SourceFlags  `embed:""`
	ListerFlags  `embed:""`
	ParserFlags  `embed:""`
	WriterFlags  `embed:""`
	TableFlags   `embed:""`
	QueueFlags   `embed:""`
	MetricsFlags `embed:""`
	Once         bool   `help:"Process what is in the source now, wait until it is all in the lake, print a summary and exit."`
	DataDir      string `help:"Folder for the embedded JetStream server's state (streams, offsets): keep it with the lake, it is what makes a second run add nothing." default:".entralake"`
	Nats         string `help:"Use this external NATS server instead of the embedded one (or its cluster: the nodes' URLs, comma-separated; default: embedded)." placeholder:"URL"`
	ResetState   bool   `help:"Before starting, delete the JetStream state: queued tasks and batches, dead letters, the record of what was read (blob offsets) and of which file holds each batch. Everything in the source is then read and written again: for a lake that was deleted or moved."`
	Topology     string `help:"How the parsers reach the writer: fused (in memory; a task is acked once its rows are in the lake) or split (through the batch stream, as separate parser and writer processes do; for comparison)." default:"fused" enum:"fused,split"`
}

// Help is shown by `entralake run --help`.
func (r *RunCmd) Help() string {
	return `Lists the export, parses every blob and writes the lake, all in this process,
on an embedded NATS JetStream server whose state lives in --data-dir.

Examples:
  # everything in ./export, then exit
  entralake run --source ./export --lake ./lake --once
  # April 2025 only
  entralake run --source ./export --lake ./lake --from 2025-04-01T00 --to 2025-04-30T23 --once
  # keep watching for new blobs and appends
  entralake run --source ./export --lake ./lake`
}

// Run implements the command.
func (r *RunCmd) Run(env *Env) error {
	ctx, log := env.Ctx, env.Log
	start := time.Now()
	src, err := openSource(ctx, r.SourceFlags)
	if err != nil {
		return err
	}
	from, to, err := r.rangeHours()
	if err != nil {
		return err
	}
	p, err := begin(env, r.process(src))
	if err != nil {
		return err
	}
	defer p.close()
	p.runStages()
	l, ph, w := p.lister, p.parser, p.writer

	if !r.Once {
		log.Info("watching the source", "source", safeLocation(location.Source, r.Source), "lake", safeLocation(location.Lake, r.Lake), "every", r.PollInterval)
		err := l.Run(p.ctx, r.PollInterval)
		released := p.shutdown()
		if f := p.failure(); f != nil {
			return f
		}
		if ctx.Err() != nil {
			log.Info("stopped", "batches_given_back", released+p.outcomes.released.Load())
			return nil
		}
		return err
	}
	err = l.Pass(p.ctx, from, to)
	if err == nil {
		prog := newProgress(env.Stderr, l, ph, w, start)
		err = workers.WaitIdle(p.ctx, p.c.js, p.cfg.tick, prog.update)
		prog.done()
		p.idle.Store(err == nil)
	}
	released := p.shutdown()
	if f := p.failure(); f != nil {
		return f
	}
	if ctx.Err() != nil {
		printInterrupted(env, p.c, l.Stats.Blobs.Load(), ph, w, released+p.outcomes.released.Load(), time.Since(start))
		return errInterrupted
	}
	if err != nil {
		return err
	}
	if _, err := l.Settle(ctx); err != nil {
		return fmt.Errorf("advance committed offsets: %w", err)
	}
	waiting, blobs, err := l.Waiting(ctx)
	if err != nil {
		return err
	}
	printSummary(env, l.Stats.Blobs.Load(), ph, w, time.Since(start))
	if waiting > 0 {
		fmt.Fprintf(env.Stdout, "%s waiting: the unfinished last lines of %d blobs that may still grow, read once the rest comes or the blob is final (its hour older than --recent, unchanged for --final-after)\n",
			humanBytes(waiting), blobs)
	}
	if n := p.outcomes.deadLetters.Load(); n > 0 {
		return fmt.Errorf("%d tasks or batches failed and went to the dead-letter stream: 'entralake dlq list%s' shows why", n, r.stateFlags())
	}
	return nil
}

// process is what `run` runs: every stage, on src.
func (r *RunCmd) process(src Source) processConfig {
	tick := 100 * time.Millisecond
	if r.Once {
		// Frequent checks keep the end of a run short.
		tick = 25 * time.Millisecond
	}
	wf := r.WriterFlags
	// Iceberg tables are partitioned by day unless made with --partition hour.
	hourly := r.iceberg() && r.Partition == string(schema.PartitionHour)
	dayFiles := r.partitioning() == schema.PartitionDay || r.iceberg() && !hourly
	if dayFiles && wf.MaxBuffered == 0 {
		// Open files then hold up to a day each. Peak RSS of run --once
		// on the 24-hour bench export / a 60-day replay of a tiny tenant:
		// 128 MiB: 430 / 430 MiB, 13 / 576 files; 160 MiB: 470 / 434 MiB,
		// 11 / 541 files; 192 MiB: 490 MiB on the first.
		wf.MaxBuffered = 160 << 20
	}
	return processConfig{name: "run", nats: r.Nats, dataDir: r.DataDir, queue: r.QueueFlags, metrics: r.MetricsFlags, reset: r.ResetState,
		logType: r.LogTypeFlags, src: src, sourceFlags: r.SourceFlags, lister: &r.ListerFlags, parser: &r.ParserFlags, writer: &wf, writeBatches: r.WriterBatches,
		table: r.TableFlags, hourly: hourly, fused: r.Topology == "fused", once: r.Once, tick: tick}
}

// stateFlags are the flags that point `status` or `dlq` at this run's state.
func (r *RunCmd) stateFlags() string {
	if r.Nats != "" {
		return " --nats " + redactURL(r.Nats)
	}
	return " --data-dir " + r.DataDir
}

// printInterrupted says what an interrupted `run --once` did and what it
// left for the next run.
func printInterrupted(env *Env, c *conn, blobs int64, ph *parser.Handler, w *writer.Writer, released int64, elapsed time.Duration) {
	rec := ph.Totals.Records.Load()
	fmt.Fprintf(env.Stdout, "interrupted after %s: %d blobs listed, %d records (%s) -> %d rows, %d quarantined; %d files (%s) in the lake; %d tasks or batches given back unfinished\n",
		elapsed.Round(time.Millisecond), blobs, rec, humanBytes(ph.Totals.Bytes.Load()), ph.Totals.Rows.Load(), ph.Totals.Quarantined.Load(),
		w.Totals.Files.Load(), humanBytes(w.Totals.Bytes.Load()), released)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(env.Ctx), 5*time.Second)
	defer cancel()
	if tasks, batches, err := workers.Backlog(ctx, c.js); err == nil {
		fmt.Fprintf(env.Stdout, "left for the next run: %d tasks, %d batches (the same command goes on from there)\n", tasks, batches)
	}
}

func printSummary(env *Env, blobs int64, ph *parser.Handler, w *writer.Writer, elapsed time.Duration) {
	rec := ph.Totals.Records.Load()
	rate := float64(rec) / elapsed.Seconds()
	fmt.Fprintf(env.Stdout, "done in %s: %d blobs, %d records (%s) -> %d rows, %d quarantined; %d files (%s) in the lake; %.0f records/s\n",
		elapsed.Round(time.Millisecond), blobs, rec, humanBytes(ph.Totals.Bytes.Load()), ph.Totals.Rows.Load(), ph.Totals.Quarantined.Load(),
		w.Totals.Files.Load(), humanBytes(w.Totals.Bytes.Load()), rate)
	if d := w.Totals.Duplicates.Load(); d > 0 {
		fmt.Fprintf(env.Stdout, "%d batches were already in the lake and were not written again\n", d)
	}
}

// ListerCmd runs the lister stage.
type ListerCmd struct {
	SourceFlags  `embed:""`
	ListerFlags  `embed:""`
	NatsFlags    `embed:""`
	QueueFlags   `embed:""`
	MetricsFlags `embed:""`
	Once         bool `help:"List once, publish the tasks and exit. A blob that may still grow (see --recent, --final-after) keeps an unfinished last line back for a later listing."`
}

// Help is shown by `entralake lister --help`.
func (*ListerCmd) Help() string {
	return `Publishes one task per new byte range of each export blob to JetStream.

Example:
  entralake lister --nats nats://127.0.0.1:4222 --source ./export --from 2025-04-01T00 --to 2025-04-01T23 --once`
}

// Run implements the command.
func (lc *ListerCmd) Run(env *Env) error {
	src, err := openSource(env.Ctx, lc.SourceFlags)
	if err != nil {
		return err
	}
	p, err := begin(env, processConfig{name: "lister", nats: lc.Nats, queue: lc.QueueFlags, metrics: lc.MetricsFlags,
		src: src, sourceFlags: lc.SourceFlags, lister: &lc.ListerFlags})
	if err != nil {
		return err
	}
	defer p.close()
	if lc.Once {
		from, to, err := lc.rangeHours()
		if err != nil {
			return err
		}
		if err := p.lister.Pass(env.Ctx, from, to); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "published %d tasks for %d blobs (%s)\n", p.lister.Stats.Tasks.Load(), p.lister.Stats.Blobs.Load(), humanBytes(p.lister.Stats.Bytes.Load()))
		return nil
	}
	return p.lister.Run(env.Ctx, lc.PollInterval)
}

// ParserCmd runs a parser stage.
type ParserCmd struct {
	LogTypeFlags `embed:""`
	SourceFlags  `embed:""`
	ParserFlags  `embed:""`
	NatsFlags    `embed:""`
	QueueFlags   `embed:""`
	MetricsFlags `embed:""`
}

// Help is shown by `entralake parser --help`.
func (*ParserCmd) Help() string {
	return `Takes tasks from JetStream, reads the blob ranges from the source and publishes
Arrow batches for the writers. Run as many as you like.

Example:
  entralake parser --nats nats://127.0.0.1:4222 --source ./export`
}

// Run implements the command.
func (pc *ParserCmd) Run(env *Env) error {
	src, err := openSource(env.Ctx, pc.SourceFlags)
	if err != nil {
		return err
	}
	p, err := begin(env, processConfig{name: "parser", nats: pc.Nats, queue: pc.QueueFlags, metrics: pc.MetricsFlags,
		logType: pc.LogTypeFlags, src: src, sourceFlags: pc.SourceFlags, parser: &pc.ParserFlags})
	if err != nil {
		return err
	}
	defer p.close()
	env.Log.Info("parser started", "concurrency", pc.concurrency())
	_, err = p.serve()
	return err
}

// WriterCmd runs a writer stage.
type WriterCmd struct {
	LogTypeFlags `embed:""`
	WriterFlags  `embed:""`
	TableFlags   `embed:""`
	NatsFlags    `embed:""`
	QueueFlags   `embed:""`
	MetricsFlags `embed:""`
	Partition    string `help:"With --table-format iceberg: partition a new table by day (the default) or hour of p_event_time (an existing table keeps its partitions; with hour, parsers must use --partition hour). Parquet lakes take their folders from the parsers' --partition." default:"day" enum:"hour,day"`
	ResetState   bool   `help:"Before starting, delete the JetStream state: queued tasks and batches, dead letters, the record of what was read (blob offsets) and of which file holds each batch. Everything in the source is then read and written again: for a lake that was deleted or moved. Stop every other stage of the deployment first."`
}

// Help is shown by `entralake writer --help`.
func (*WriterCmd) Help() string {
	return `Takes Arrow batches from JetStream and writes them as Parquet files into the
lake; a batch is acked only when its file is in place.

Example:
  entralake writer --nats nats://127.0.0.1:4222 --lake ./lake`
}

// Run implements the command.
func (wc *WriterCmd) Run(env *Env) error {
	p, err := begin(env, processConfig{name: "writer", nats: wc.Nats, queue: wc.QueueFlags, metrics: wc.MetricsFlags, reset: wc.ResetState,
		logType: wc.LogTypeFlags, writer: &wc.WriterFlags, writeBatches: wc.WriterBatches, tick: 200 * time.Millisecond,
		table: wc.TableFlags, hourly: wc.Partition == string(schema.PartitionHour)})
	if err != nil {
		return err
	}
	defer p.close()
	n, err := p.serve()
	if n > 0 {
		env.Log.Info("batches given back unwritten", "batches", n)
	}
	return err
}

// WorkerCmd runs a fused worker: parsers and a writer in one process.
type WorkerCmd struct {
	LogTypeFlags `embed:""`
	SourceFlags  `embed:""`
	ParserFlags  `embed:""`
	WriterFlags  `embed:""`
	TableFlags   `embed:""`
	NatsFlags    `embed:""`
	QueueFlags   `embed:""`
	MetricsFlags `embed:""`
}

// Help is shown by `entralake worker --help`.
func (*WorkerCmd) Help() string {
	return `Takes tasks from JetStream, parses the blob ranges and writes the rows into the
lake itself: its parsers hand their Arrow batches to its writer in memory,
with no batch stream between them. A task is acked only once every row it
gave is in a lake file. Run one per machine, against one NATS server, with
a lister; this is what 'run' does in one process.

Example:
  entralake worker --nats nats://127.0.0.1:4222 --source ./export --lake ./lake`
}

// Run implements the command.
func (wc *WorkerCmd) Run(env *Env) error {
	src, err := openSource(env.Ctx, wc.SourceFlags)
	if err != nil {
		return err
	}
	p, err := begin(env, processConfig{name: "worker", nats: wc.Nats, queue: wc.QueueFlags, metrics: wc.MetricsFlags,
		logType: wc.LogTypeFlags, src: src, sourceFlags: wc.SourceFlags, parser: &wc.ParserFlags, writer: &wc.WriterFlags,
		table: wc.TableFlags, hourly: wc.iceberg() && wc.Partition == string(schema.PartitionHour), fused: true, tick: 200 * time.Millisecond})
	if err != nil {
		return err
	}
	defer p.close()
	env.Log.Info("worker started", "parsers", wc.concurrency())
	n, err := p.serve()
	if n > 0 {
		env.Log.Info("tasks given back unfinished", "tasks", n)
	}
	return err
}

// NatsServerCmd runs the embedded server.
type NatsServerCmd struct {
	Listen           string `help:"Address to listen on, HOST:PORT." default:"127.0.0.1:4222"`
	DataDir          string `help:"Folder for JetStream's state." default:".entralake/jetstream"`
	MaxPayload       Size   `help:"Largest message, 1MiB to 64MiB (batches split to fit)." default:"8MiB"`
	SyncAlways       bool   `help:"fsync every JetStream write (survives power loss, slower)."`
	ClusterNodeFlags `embed:""`
}

// Help is shown by `entralake nats-server --help`.
func (*NatsServerCmd) Help() string {
	return `Runs a NATS server with JetStream for stages in other processes, for users
who have no NATS installed.

A cluster of three nodes (give the stages all three URLs in --nats and
--replicas 3) keeps every stream and bucket on three nodes and goes on when
one of them dies; each node has its own --name and --data-dir, and the same
--routes:

  entralake nats-server --name n1 --listen 0.0.0.0:4222 --cluster 0.0.0.0:6222 \
    --routes nats://host1:6222,nats://host2:6222,nats://host3:6222 --http 0.0.0.0:8222 --data-dir /var/lib/entralake

Start the nodes in any order: JetStream answers once a majority runs.

Example:
  entralake nats-server --listen 127.0.0.1:4222 --data-dir /var/lib/entralake`
}

// Run implements the command.
func (n *NatsServerCmd) Run(env *Env) error {
	host, port, err := net.SplitHostPort(n.Listen)
	if err != nil {
		return fmt.Errorf("--listen: %w", err)
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return fmt.Errorf("--listen: port %q: %w", port, err)
	}
	cfg := workers.ServerConfig{Dir: n.DataDir, Host: host, Port: p, MaxPayload: int32(n.MaxPayload), SyncAlways: n.SyncAlways}
	if err := n.apply(&cfg); err != nil {
		return err
	}
	s, err := workers.StartServer(cfg)
	if err != nil {
		return err
	}
	env.Log.Info("nats server ready", "url", s.ClientURL(), "data_dir", n.DataDir, "name", cfg.Name, "cluster", n.Cluster)
	go awaitJetStream(env.Ctx, s, env)
	<-env.Ctx.Done()
	s.Shutdown()
	s.WaitForShutdown()
	return nil
}

// SchemaCmd prints the schema.
type SchemaCmd struct {
	LogTypeFlags `embed:""`
}

// Run implements the command.
func (s *SchemaCmd) Run(env *Env) error {
	lt, err := s.logType()
	if err != nil {
		return err
	}
	return lt.Describe(env.Stdout)
}
