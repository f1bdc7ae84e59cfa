package cli

import (
	"context"

	"errors"
	"fmt"
	"github.com/apache/arrow-go/v18/arrow"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/entralake/entralake/schema"
	"github.com/entralake/entralake/stages/lister"
	"github.com/entralake/entralake/stages/parser"
	"github.com/entralake/entralake/stages/writer"
	"github.com/entralake/entralake/workers"
)

// processConfig says what one process runs: `run` (every stage), or one
// stage (`lister`, `parser`, `writer`). A stage runs when its flags are
// set.
type processConfig struct {
	// name is the command: the telemetry service, the health record's
	// stage, and the NATS client name (entralake-<name>).
	name string
	// nats is the server's URL; empty: an embedded server on dataDir.
	nats    string
	dataDir string
	queue   QueueFlags
	metrics MetricsFlags
	// reset deletes the JetStream state first (--reset-state).
	reset bool

	// logType names the log type of the parsers and the writer.
	logType LogTypeFlags
	// src is the opened source of the lister and the parsers.
	src          Source
	sourceFlags  SourceFlags
	lister       *ListerFlags
	parser       *ParserFlags
	writer       *WriterFlags
	writeBatches int // batches the writer pool takes at once
	// table is the writer's table format and catalog; hourly partitions
	// a new Iceberg table by hour.
	table  TableFlags
	hourly bool
	// fused runs the parsers and the writer as one worker (both must be
	// set): the parsers hand their batches to the writer in memory, and a
	// task is acked once its batches are in the lake (workers.Fused).
	// Otherwise they talk through the batch stream.
	fused bool

	// once is `run --once`: the writer closes its files when the whole
	// process is idle (and at a task's end with hourly partitions), a
	// lake or source that cannot be used ends the run, and offsets are
	// settled at the end rather than after every write.
	once bool
	// tick is how often the writer checks its files (Writer.Run).
	tick time.Duration
}

// process is one entralake process: its JetStream connection (to an
// embedded server, or not), telemetry and health, and the stages it runs.
// begin opens it; runStages starts the worker pools; shutdown stops them
// in order; close releases the rest.
type process struct {
	cfg    processConfig
	env    *Env
	c      *conn
	obs    *observer
	health *health
	ready  func(context.Context) error
	// state says where the JetStream state is, for messages: "data dir
	// X" or "NATS server at URL".
	state string

	lister    *lister.Lister
	parser    *parser.Handler
	writer    *writer.Writer
	committer *committer
	// fused and handOver are the fused topology's task handler and the
	// hand-over of its batches to the writer.
	fused    *workers.Fused
	handOver *handOver

	// ctx ends with the process's context, or when a stage fails
	// (fail); its cause is then a *stageError.
	ctx      context.Context
	fail     context.CancelCauseFunc
	outcomes runOutcomes
	// idle says the work is done (run --once: every queue empty, every
	// batch in the lake, nothing more published): shutdown need not wait
	// for pull requests to expire.
	idle     atomic.Bool
	shutdown func() int64
	closers  []func()
}

// begin opens a process: the embedded server when there is no --nats,
// telemetry, the connection (and the topology), then the stages, each
// checked against what it works on (the source listed, the lake probed
// and matched to the state) before anything is pulled. On an error it
// has released what it opened.
func begin(env *Env, cfg processConfig) (_ *process, err error) {
	p := &process{cfg: cfg, env: env, state: "NATS server at " + cfg.nats, shutdown: func() int64 { return 0 }}
	defer func() {
		if err != nil {
			p.close()
		}
	}()
	ctx, log := env.Ctx, env.Log
	url := cfg.nats
	if url == "" {
		if url, err = p.embed(); err != nil {
			return nil, err
		}
	}
	var cp atomic.Pointer[conn]
	var lake lakeRef
	p.ready = readyNATS(&cp)
	if cfg.writer != nil {
		p.ready = readyLake(p.ready, &lake)
	}
	if cfg.parser != nil || cfg.writer != nil {
		p.health = newHealth()
		p.ready = p.health.ready(p.ready)
	}
	if p.obs, err = observe(env, cfg.name, cfg.metrics, p.ready); err != nil {
		return nil, err
	}
	p.closers = append(p.closers, func() { p.obs.close(ctx) })
	if p.c, err = connect(ctx, url, "entralake-"+cfg.name, cfg.queue, log); err != nil {
		return nil, err
	}
	p.closers = append(p.closers, p.c.close)
	cp.Store(p.c)
	if cfg.reset {
		if err := resetState(ctx, p.c, cfg.queue, p.state, log); err != nil {
			return nil, err
		}
	}
	var regs []error
	var lt *schema.LogType
	if cfg.parser != nil || cfg.writer != nil {
		// The lister needs no schema: it moves bytes.
		if lt, err = cfg.logType.logType(); err != nil {
			return nil, err
		}
	}
	if cfg.parser != nil {
		if err := checkSource(ctx, cfg.src); err != nil {
			return nil, err
		}
		var out parser.Output = streamOutput(p.c)
		if cfg.fused {
			// The writer is set below, before any task is taken.
			out = &parser.Direct{Take: func(ctx context.Context, rec arrow.RecordBatch, m schema.Outgoing) error {
				return p.handOver.take(ctx, rec, m)
			}}
		}
		if p.parser, err = newParserHandler(p.c, lt, cfg.src, *cfg.parser, out, log); err != nil {
			return nil, err
		}
	}
	if cfg.writer != nil {
		ws := writerSetup{state: p.state, table: cfg.table, hourly: cfg.hourly}
		if cfg.once {
			// Busy and the writer's own counts say when the work is
			// done: a short quiet time keeps the end of a run short.
			ws.idle, ws.busy = 30*time.Millisecond, p.busy
			// With day partitions a task (one blob, one hour) fills
			// only part of a partition: its end is no reason to close
			// the file.
			ws.taskEnd = cfg.parser != nil && cfg.parser.partitioning() != schema.PartitionDay
		}
		ws.fused = cfg.fused
		w, wl, il, err := newWriter(ctx, p.c, lt, *cfg.writer, ws, log)
		if err != nil {
			return nil, err
		}
		if il != nil {
			// Closed after the writer's last commit (close runs the
			// stages' shutdown first).
			p.closers = append(p.closers, func() { _ = il.Close() })
			if hourlyTable(il.Main) && cfg.parser != nil && cfg.parser.partitioning() == schema.PartitionDay {
				return nil, &flagError{flag: "partition", value: "day", problem: fmt.Sprintf("table %s is partitioned by hour: its parsers must partition by hour", il.Main.Name())}
			}
		}
		p.writer = w
		lake.set(wl)
		if cfg.fused {
			touch, err := touchEvery(ctx, p.c, true)
			if err != nil {
				return nil, err
			}
			p.fused = workers.NewFused(p.parser, touch)
			p.handOver = newHandOver(p.fused, w, cfg.writer.files())
		}
	}
	if cfg.lister != nil {
		if p.lister, err = newLister(p.c, cfg.src, cfg.sourceFlags, *cfg.lister, log); err != nil {
			return nil, err
		}
		regs = append(regs, p.obs.lister(p.lister))
	}
	if p.parser != nil {
		regs = append(regs, p.obs.parser(p.parser))
	}
	if p.writer != nil {
		regs = append(regs, p.obs.writer(p.writer))
	}
	if err := errors.Join(append(regs, p.obs.queue(p.c))...); err != nil {
		return nil, err
	}
	if p.writer != nil {
		if p.committer, err = newCommitter(ctx, p.c); err != nil {
			return nil, err
		}
	}
	p.closers = append(p.closers, reportHealth(env, p.c, cfg.name, p.ready))
	return p, nil
}

// embed locks the data dir and starts the embedded server on it; it
// returns the server's URL.
func (p *process) embed() (string, error) {
	dir := p.cfg.dataDir
	dd, err := lockDataDir(dir, p.cfg.name)
	if err != nil {
		return "", err
	}
	p.closers = append(p.closers, dd.release)
	s, err := workers.StartServer(workers.ServerConfig{Dir: filepath.Join(dir, "jetstream"), Port: -1})
	if err != nil {
		return "", fmt.Errorf("data dir %s: %w", dir, err)
	}
	p.closers = append(p.closers, func() { s.Shutdown(); s.WaitForShutdown() })
	url := s.ClientURL()
	p.state = "data dir " + dir
	if err := dd.publishURL(url); err != nil {
		return "", err
	}
	p.env.Log.Info("embedded NATS server", "url", url, "data_dir", dir)
	return url, nil
}

// busy reports work upstream of the writer (run --once): a parser holds a
// task, or tasks or batches wait in their queues.
func (p *process) busy() bool {
	if p.parser != nil && p.parser.Busy() {
		return true
	}
	if p.fused != nil {
		// The tasks this process holds wait for the writer: only tasks
		// still to come, and batches on their way to it, count.
		if p.handOver.queued.Load() > 0 {
			return true
		}
		tasks, err := workers.Undelivered(p.env.Ctx, p.c.js)
		return err != nil || tasks > 0
	}
	tasks, batches, err := workers.Queued(p.env.Ctx, p.c.js)
	return err != nil || tasks > 0 || batches > 0
}

// runStages starts the worker pools of the parsers and the writer, the
// writer's ticks and, but in `run --once`, the settling of offsets after
// its writes. A pool that fails ends p.ctx with a *stageError. Stop them
// with p.shutdown, which returns the number of batches the writer gave
// back unwritten.
//
// Stages stop in order: parsers, then the writer's intake, then its
// ticks; then the writer writes what it holds, within what is left of
// --shutdown-timeout, and gives back the rest.
func (p *process) runStages() {
	ctx, log, q := p.env.Ctx, p.env.Log, p.cfg.queue
	p.ctx, p.fail = context.WithCancelCause(ctx)
	report := func(pool string) workers.Option {
		return workers.WithReport(func(o workers.Outcome, err error) {
			p.health.note(pool, o, err)
			p.outcomes.note(pool, o)
			if p.cfg.once && workers.IsUnusable(err) {
				p.fail(&stageError{stage: pool, err: err})
			}
		})
	}
	pool := func(ctx context.Context, stream, consumer string, h workers.Handler, n int) {
		if err := runPool(ctx, p.c, stream, consumer, h, n, q, log, report(consumer)); err != nil {
			p.fail(&stageError{stage: consumer, err: err})
		}
	}
	parseCtx, stopParse := context.WithCancelCause(context.WithoutCancel(ctx))
	intakeCtx, stopIntake := context.WithCancelCause(context.WithoutCancel(ctx))
	tickCtx, stopTick := context.WithCancel(context.WithoutCancel(ctx))
	settleCtx, stopSettle := context.WithCancel(context.WithoutCancel(ctx))
	var parsing, writing, ticking, settling sync.WaitGroup
	if p.parser != nil {
		var tasks workers.Handler = p.parser
		if p.fused != nil {
			tasks = p.fused
		}
		parsing.Go(func() {
			pool(parseCtx, workers.StreamTasks, workers.ConsumerParsers, tasks, p.cfg.parser.concurrency())
			if p.handOver != nil {
				p.handOver.close() // every batch parsed is in the writer
			}
		})
	}
	if p.writer != nil && p.fused == nil {
		writing.Go(func() { pool(intakeCtx, workers.StreamBatches, workers.ConsumerWriters, p.writer, p.cfg.writeBatches) })
	}
	if p.writer != nil {
		ticking.Go(func() { p.writer.Run(tickCtx, p.cfg.tick) })
		if !p.cfg.once {
			// Committed offsets follow the files, not only the lister's
			// passes (--once settles at its end).
			settling.Go(func() { settleAfterWrites(settleCtx, p.committer, p.writer, log) })
		}
	}
	p.shutdown = sync.OnceValue(func() int64 {
		deadline := time.Now().Add(q.ShutdownTimeout)
		var done error
		if p.idle.Load() {
			// Done (run --once): nothing is queued, held or still to
			// come, so the pools drop their pull requests at once.
			done = workers.ErrNoMoreWork
		}
		if p.ctx.Err() == nil {
			// No parser holds a task, so both pools stop at once.
			stopIntake(done)
		}
		stopParse(done)
		parsing.Wait()
		stopIntake(nil)
		writing.Wait()
		stopTick()
		ticking.Wait()
		var released int64
		if p.writer != nil {
			cctx, cancel := context.WithDeadline(context.WithoutCancel(ctx), deadline)
			defer cancel()
			released = p.writer.Close(cctx)
			if p.fused != nil {
				// What goes back is tasks, not batches.
				released = p.fused.Released.Load()
			}
		}
		stopSettle() // and settle the offsets of what was flushed
		settling.Wait()
		return released
	})
}

// failure is the error that ended the process, if a stage (not a signal)
// ended it.
func (p *process) failure() *stageError {
	var se *stageError
	if p.ctx != nil && errors.As(context.Cause(p.ctx), &se) {
		return se
	}
	return nil
}

// serve runs the stages until the process's context ends or a stage
// fails, then shuts them down in order; it returns the failure of a stage
// as the stage reported it, or nil.
func (p *process) serve() (released int64, err error) {
	p.runStages()
	<-p.ctx.Done()
	released = p.shutdown()
	if f := p.failure(); f != nil {
		return released, f.err
	}
	return released, nil
}

// close shuts the stages down if they run, then releases what start
// opened, in reverse order.
func (p *process) close() {
	p.shutdown()
	for i := len(p.closers) - 1; i >= 0; i-- {
		p.closers[i]()
	}
	p.closers = nil
}

// stageError is a stage's failure that ends a process.
type stageError struct {
	stage string
	err   error
}

func (e *stageError) Error() string { return e.stage + ": " + e.err.Error() }
func (e *stageError) Unwrap() error { return e.err }

// runOutcomes count what became of this process's messages.
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
