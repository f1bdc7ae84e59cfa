package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/entralake/entralake/internal/location"
	"github.com/entralake/entralake/schema"
	"github.com/entralake/entralake/stages/parser"
	"github.com/entralake/entralake/stages/writer"
	"github.com/entralake/entralake/workers"
)

// RunCmd runs the whole pipeline in one process.
type RunCmd struct {
	SourceFlags  `embed:""`
	ListerFlags  `embed:""`
	ParserFlags  `embed:""`
	WriterFlags  `embed:""`
	QueueFlags   `embed:""`
	MetricsFlags `embed:""`
	Once         bool   `help:"Process what is in the source now, wait until it is all in the lake, print a summary and exit."`
	DataDir      string `help:"Folder for the embedded JetStream server's state (streams, offsets): keep it with the lake, it is what makes a second run add nothing." default:".entralake"`
	Nats         string `help:"Use this external NATS server instead of the embedded one (default: embedded)." placeholder:"URL"`
	ResetState   bool   `help:"Before starting, delete the JetStream state: queued tasks and batches, dead letters, the record of what was read (blob offsets) and of which file holds each batch. Everything in the source is then read and written again: for a lake that was deleted or moved."`
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
	url, state := r.Nats, "NATS server at "+r.Nats
	if url == "" {
		dd, err := lockDataDir(r.DataDir, "run")
		if err != nil {
			return err
		}
		defer dd.release()
		s, err := workers.StartServer(workers.ServerConfig{Dir: filepath.Join(r.DataDir, "jetstream"), Port: -1})
		if err != nil {
			return fmt.Errorf("data dir %s: %w", r.DataDir, err)
		}
		defer func() { s.Shutdown(); s.WaitForShutdown() }()
		url, state = s.ClientURL(), "data dir "+r.DataDir
		if err := dd.publishURL(url); err != nil {
			return err
		}
		log.Info("embedded NATS server", "url", url, "data_dir", r.DataDir)
	}
	var c *conn
	var cp atomic.Pointer[conn]
	var lake lakeRef
	h := newHealth()
	ready := h.ready(readyLake(readyNATS(&cp), &lake))
	obs, err := observe(env, "run", r.MetricsFlags, ready)
	if err != nil {
		return err
	}
	defer obs.close(ctx)
	c, err = connect(ctx, url, "entralake-run", r.QueueFlags, log)
	if err != nil {
		return err
	}
	defer c.close()
	cp.Store(c)
	if r.ResetState {
		if err := resetState(ctx, c, r.QueueFlags, state, log); err != nil {
			return err
		}
	}
	if err := checkSource(ctx, src); err != nil {
		return err
	}
	ph, err := newParserHandler(c, src, r.ParserFlags, log)
	if err != nil {
		return err
	}
	var idle time.Duration
	busy := func() bool {
		if ph.Busy() {
			return true
		}
		tasks, batches, err := workers.Queued(ctx, c.js)
		return err != nil || tasks > 0 || batches > 0
	}
	tick := 100 * time.Millisecond
	if r.Once {
		// Busy and the writer's own counts say when the work is done: a
		// short quiet time and frequent checks keep the end of a run short.
		idle, tick = 30*time.Millisecond, 25*time.Millisecond
	}
	// With day partitions a task (one blob, one hour) fills only part of a
	// partition: its end is no reason to close the file.
	taskEnd := r.Once && r.Partition != string(schema.PartitionDay)
	if r.Partition == string(schema.PartitionDay) && r.MaxBuffered == 0 {
		// Open files then hold up to a day each. Peak RSS of run --once
		// on the 24-hour bench export / a 60-day replay of a tiny tenant:
		// 128 MiB: 430 / 430 MiB, 13 / 576 files; 160 MiB: 470 / 434 MiB,
		// 11 / 541 files; 192 MiB: 490 MiB on the first.
		r.MaxBuffered = 160 << 20
	}
	w, wl, err := newWriter(ctx, c, r.WriterFlags, state, idle, taskEnd, busy, log)
	if err != nil {
		return err
	}
	lake.set(wl)
	l, err := newLister(c, src, r.SourceFlags, r.ListerFlags, log)
	if err != nil {
		return err
	}
	if err := errors.Join(obs.lister(l), obs.parser(ph), obs.writer(w), obs.queue(c)); err != nil {
		return err
	}

	m, err := newCommitter(ctx, c)
	if err != nil {
		return err
	}

	// A failed stage, or in --once a lake or source that cannot be used,
	// ends the run with that error as the cause of runCtx.
	runCtx, fail := context.WithCancelCause(ctx)
	defer fail(nil)
	var outcomes runOutcomes
	report := func(pool string) workers.Option {
		return workers.WithReport(func(o workers.Outcome, err error) {
			h.note(pool, o, err)
			outcomes.note(pool, o)
			if r.Once && workers.IsUnusable(err) {
				fail(&stageError{stage: pool, err: err})
			}
		})
	}
	defer reportHealth(env, c, "run", ready)()

	// Stages stop in order: parsers, then the writer's intake, then its
	// ticks; then the writer writes what it holds, within what is left of
	// --shutdown-timeout, and gives back the rest.
	parseCtx, stopParse := context.WithCancel(context.WithoutCancel(ctx))
	intakeCtx, stopIntake := context.WithCancel(context.WithoutCancel(ctx))
	tickCtx, stopTick := context.WithCancel(context.WithoutCancel(ctx))
	var parsing, writing, ticking sync.WaitGroup
	parsing.Go(func() {
		if err := runPool(parseCtx, c, workers.StreamTasks, workers.ConsumerParsers, ph, r.concurrency(), r.QueueFlags, log, report(workers.ConsumerParsers)); err != nil {
			fail(&stageError{stage: workers.ConsumerParsers, err: err})
		}
	})
	writing.Go(func() {
		if err := runPool(intakeCtx, c, workers.StreamBatches, workers.ConsumerWriters, w, r.WriterBatches, r.QueueFlags, log, report(workers.ConsumerWriters)); err != nil {
			fail(&stageError{stage: workers.ConsumerWriters, err: err})
		}
	})
	ticking.Go(func() { w.Run(tickCtx, tick) })
	// In watch mode, committed offsets follow the files, not only the
	// lister's passes (--once settles at its end).
	settleCtx, stopSettle := context.WithCancel(context.WithoutCancel(ctx))
	var settling sync.WaitGroup
	if !r.Once {
		settling.Go(func() { settleAfterWrites(settleCtx, m, w, log) })
	}
	shutdown := sync.OnceValue(func() int64 {
		deadline := time.Now().Add(r.ShutdownTimeout)
		if runCtx.Err() == nil {
			// Done (run --once): no parser holds a task, so both pools
			// stop at once.
			stopIntake()
		}
		stopParse()
		parsing.Wait()
		stopIntake()
		writing.Wait()
		stopTick()
		ticking.Wait()
		cctx, cancel := context.WithDeadline(context.WithoutCancel(ctx), deadline)
		defer cancel()
		released := w.Close(cctx)
		stopSettle()
		settling.Wait()
		return released
	})
	defer shutdown()
	// failure is the error that ended the run, if a stage (not a signal)
	// ended it.
	failure := func() error {
		var se *stageError
		if errors.As(context.Cause(runCtx), &se) {
			return se
		}
		return nil
	}

	if !r.Once {
		log.Info("watching the source", "source", safeLocation(location.Source, r.Source), "lake", safeLocation(location.Lake, r.Lake), "every", r.PollInterval)
		err := l.Run(runCtx, r.PollInterval)
		released := shutdown()
		if f := failure(); f != nil {
			return f
		}
		if ctx.Err() != nil {
			log.Info("stopped", "batches_given_back", released+outcomes.released.Load())
			return nil
		}
		return err
	}
	err = l.Pass(runCtx, from, to)
	if err == nil {
		prog := newProgress(env.Stderr, l, ph, w, start)
		err = workers.WaitIdle(runCtx, c.js, tick, prog.update)
		prog.done()
	}
	released := shutdown()
	if f := failure(); f != nil {
		return f
	}
	if ctx.Err() != nil {
		printInterrupted(env, c, l.Stats.Blobs.Load(), ph, w, released+outcomes.released.Load(), time.Since(start))
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
	if n := outcomes.deadLetters.Load(); n > 0 {
		return fmt.Errorf("%d tasks or batches failed and went to the dead-letter stream: 'entralake dlq list%s' shows why", n, r.stateFlags())
	}
	return nil
}

// stateFlags are the flags that point `status` or `dlq` at this run's state.
func (r *RunCmd) stateFlags() string {
	if r.Nats != "" {
		return " --nats " + redactURL(r.Nats)
	}
	return " --data-dir " + r.DataDir
}

// stageError is a stage's failure that ends a run.
type stageError struct {
	stage string
	err   error
}

func (e *stageError) Error() string { return e.stage + ": " + e.err.Error() }
func (e *stageError) Unwrap() error { return e.err }

// runOutcomes count what became of this run's messages.
type runOutcomes struct {
	released, deadLetters atomic.Int64
}

func (o *runOutcomes) note(_ string, out workers.Outcome) {
	switch out {
	case workers.OutcomeReleased:
		o.released.Add(1)
	case workers.OutcomeDeadLetter:
		o.deadLetters.Add(1)
	}
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
	var c *conn
	var cp atomic.Pointer[conn]
	ready := readyNATS(&cp)
	obs, err := observe(env, "lister", lc.MetricsFlags, ready)
	if err != nil {
		return err
	}
	defer obs.close(env.Ctx)
	c, err = connect(env.Ctx, lc.Nats, "entralake-lister", lc.QueueFlags, env.Log)
	if err != nil {
		return err
	}
	defer c.close()
	cp.Store(c)
	defer reportHealth(env, c, "lister", ready)()
	l, err := newLister(c, src, lc.SourceFlags, lc.ListerFlags, env.Log)
	if err != nil {
		return err
	}
	if err := errors.Join(obs.lister(l), obs.queue(c)); err != nil {
		return err
	}
	if lc.Once {
		from, to, err := lc.rangeHours()
		if err != nil {
			return err
		}
		if err := l.Pass(env.Ctx, from, to); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "published %d tasks for %d blobs (%s)\n", l.Stats.Tasks.Load(), l.Stats.Blobs.Load(), humanBytes(l.Stats.Bytes.Load()))
		return nil
	}
	return l.Run(env.Ctx, lc.PollInterval)
}

// ParserCmd runs a parser stage.
type ParserCmd struct {
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
	var c *conn
	var cp atomic.Pointer[conn]
	h := newHealth()
	ready := h.ready(readyNATS(&cp))
	obs, err := observe(env, "parser", pc.MetricsFlags, ready)
	if err != nil {
		return err
	}
	defer obs.close(env.Ctx)
	c, err = connect(env.Ctx, pc.Nats, "entralake-parser", pc.QueueFlags, env.Log)
	if err != nil {
		return err
	}
	defer c.close()
	cp.Store(c)
	if err := checkSource(env.Ctx, src); err != nil {
		return err
	}
	defer reportHealth(env, c, "parser", ready)()
	ph, err := newParserHandler(c, src, pc.ParserFlags, env.Log)
	if err != nil {
		return err
	}
	if err := errors.Join(obs.parser(ph), obs.queue(c)); err != nil {
		return err
	}
	env.Log.Info("parser started", "concurrency", pc.concurrency())
	return runPool(env.Ctx, c, workers.StreamTasks, workers.ConsumerParsers, ph, pc.concurrency(), pc.QueueFlags, env.Log,
		workers.WithReport(func(o workers.Outcome, err error) { h.note(workers.ConsumerParsers, o, err) }))
}

// WriterCmd runs a writer stage.
type WriterCmd struct {
	WriterFlags  `embed:""`
	NatsFlags    `embed:""`
	QueueFlags   `embed:""`
	MetricsFlags `embed:""`
	ResetState   bool `help:"Before starting, delete the JetStream state: queued tasks and batches, dead letters, the record of what was read (blob offsets) and of which file holds each batch. Everything in the source is then read and written again: for a lake that was deleted or moved. Stop every other stage of the deployment first."`
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
	var c *conn
	var cp atomic.Pointer[conn]
	var lake lakeRef
	h := newHealth()
	ready := h.ready(readyLake(readyNATS(&cp), &lake))
	obs, err := observe(env, "writer", wc.MetricsFlags, ready)
	if err != nil {
		return err
	}
	defer obs.close(env.Ctx)
	c, err = connect(env.Ctx, wc.Nats, "entralake-writer", wc.QueueFlags, env.Log)
	if err != nil {
		return err
	}
	defer c.close()
	cp.Store(c)
	state := "NATS server at " + wc.Nats
	if wc.ResetState {
		if err := resetState(env.Ctx, c, wc.QueueFlags, state, env.Log); err != nil {
			return err
		}
	}
	w, wl, err := newWriter(env.Ctx, c, wc.WriterFlags, state, 0, false, nil, env.Log)
	if err != nil {
		return err
	}
	lake.set(wl)
	if err := errors.Join(obs.writer(w), obs.queue(c)); err != nil {
		return err
	}
	m, err := newCommitter(env.Ctx, c)
	if err != nil {
		return err
	}
	defer reportHealth(env, c, "writer", ready)()
	ctx, cancel := context.WithCancel(context.WithoutCancel(env.Ctx))
	var wg sync.WaitGroup
	wg.Go(func() { w.Run(ctx, 200*time.Millisecond) })
	settleCtx, stopSettle := context.WithCancel(context.WithoutCancel(env.Ctx))
	var settling sync.WaitGroup
	settling.Go(func() { settleAfterWrites(settleCtx, m, w, env.Log) })
	err = runPool(env.Ctx, c, workers.StreamBatches, workers.ConsumerWriters, w, wc.WriterBatches, wc.QueueFlags, env.Log,
		workers.WithReport(func(o workers.Outcome, err error) { h.note(workers.ConsumerWriters, o, err) }))
	// The pool took its last batch: stop ticking, write what is buffered
	// (within --shutdown-timeout), give back the rest.
	cancel()
	wg.Wait()
	cctx, stop := context.WithTimeout(context.WithoutCancel(env.Ctx), wc.ShutdownTimeout)
	defer stop()
	if n := w.Close(cctx); n > 0 {
		env.Log.Info("batches given back unwritten", "batches", n)
	}
	stopSettle() // and settle the offsets of what was flushed
	settling.Wait()
	return err
}

// NatsServerCmd runs the embedded server.
type NatsServerCmd struct {
	Listen     string `help:"Address to listen on, HOST:PORT." default:"127.0.0.1:4222"`
	DataDir    string `help:"Folder for JetStream's state." default:".entralake/jetstream"`
	MaxPayload Size   `help:"Largest message, 1MiB to 64MiB (batches split to fit)." default:"8MiB"`
	SyncAlways bool   `help:"fsync every JetStream write (survives power loss, slower)."`
}

// Help is shown by `entralake nats-server --help`.
func (*NatsServerCmd) Help() string {
	return `Runs a NATS server with JetStream for stages in other processes, for users
who have no NATS installed.

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
	s, err := workers.StartServer(workers.ServerConfig{Dir: n.DataDir, Host: host, Port: p, MaxPayload: int32(n.MaxPayload), SyncAlways: n.SyncAlways})
	if err != nil {
		return err
	}
	env.Log.Info("nats server ready", "url", s.ClientURL(), "data_dir", n.DataDir)
	<-env.Ctx.Done()
	s.Shutdown()
	s.WaitForShutdown()
	return nil
}

// SchemaCmd prints the schema.
type SchemaCmd struct {
	LogType string `help:"Log type." default:"Azure.Audit"`
}

// Run implements the command.
func (s *SchemaCmd) Run(env *Env) error {
	lt, err := schema.Load(s.LogType)
	if err != nil {
		return err
	}
	return lt.Describe(env.Stdout)
}
