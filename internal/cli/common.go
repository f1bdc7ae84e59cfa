package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	neturl "net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/entralake/entralake/internal/location"
	iceberglake "github.com/entralake/entralake/lake/iceberg"
	"github.com/entralake/entralake/schema"
	"github.com/entralake/entralake/stages/lister"
	"github.com/entralake/entralake/stages/parser"
	"github.com/entralake/entralake/stages/writer"
	"github.com/entralake/entralake/workers"
	"github.com/mattn/go-isatty"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/trace"
)

// Env is what every command gets.
type Env struct {
	Ctx    context.Context
	Log    *slog.Logger
	Stdout io.Writer
	Stderr io.Writer
	// TracerProvider, when set, takes the traces instead of the OTLP
	// exporter the OTEL_EXPORTER_OTLP_* variables configure (tests).
	TracerProvider trace.TracerProvider
}

// LogFlags configure logging.
type LogFlags struct {
	LogLevel  string `help:"Log level: debug, info, warn or error." default:"info" enum:"debug,info,warn,error"`
	LogFormat string `help:"Log format: text, json, or auto (text on a terminal, else json)." default:"auto" enum:"auto,text,json"`
}

func (l LogFlags) logger(w io.Writer) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(l.LogLevel)); err != nil {
		return nil, fmt.Errorf("log level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	format := l.LogFormat
	if format == "auto" {
		format = "json"
		if isTerminal(w) {
			format = "text"
		}
	}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, opts)), nil
	}
	return slog.New(slog.NewJSONHandler(w, opts)), nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && isatty.IsTerminal(f.Fd())
}

// NatsFlags say where JetStream is.
type NatsFlags struct {
	Nats string `help:"NATS server URL, or the URLs of a cluster's nodes, comma-separated (nats://n1:4222,nats://n2:4222,nats://n3:4222): the process connects to any of them and moves to another when its node goes away." default:"nats://127.0.0.1:4222"`
}

// QueueFlags tune the streams and consumers; give every process of one
// deployment the same values.
type QueueFlags struct {
	TaskAckWait     time.Duration `help:"How long a task may go without an ack or an in-progress ack before it is handed to another parser. A parser sends in-progress acks four times per ack wait while it works, so this is how soon the tasks of a parser that died are parsed again." default:"10s"`
	BatchAckWait    time.Duration `help:"How long a batch may go without an ack or an in-progress ack before it is handed to another writer. A writer sends in-progress acks four times per ack wait for every batch it holds (buffered or being written), so this is how soon the batches of a writer that died are written again." default:"10s"`
	MaxDeliver      int           `help:"Tries of a task or batch before it goes to the dead-letter stream." default:"5"`
	ShutdownTimeout time.Duration `help:"On SIGINT/SIGTERM: how long to finish work in hand before exiting." default:"30s"`
	ReplicaFlags    `embed:""`
}

func (q QueueFlags) topology() workers.Topology {
	t := workers.DefaultTopology()
	t.ParserAckWait, t.WriterAckWait, t.MaxDeliver = q.TaskAckWait, q.BatchAckWait, q.MaxDeliver
	t.Replicas = q.Replicas
	return t
}

// poolOptions leave the in-progress interval to the pool, which derives it
// from its consumer's ack wait.
func (q QueueFlags) poolOptions() []workers.Option {
	return []workers.Option{workers.WithMaxDeliver(q.MaxDeliver), workers.WithDrainTimeout(q.ShutdownTimeout)}
}

// SourceFlags locate the export.
type SourceFlags struct {
	Source      string   `help:"Export to read: a local folder laid out as <container>/<blob path> (what 'az storage blob download-batch' writes), or an Azure URL https://<account>.blob.core.windows.net[/<container>] (credentials: see README, Reading from Azure)." required:"" placeholder:"DIR|URL"`
	Containers  []string `help:"Containers to read (default: every insights-logs-* container)." placeholder:"NAME"`
	SourceID    string   `help:"Id of this source, stored in p_source_id (default: the source location)." placeholder:"ID"`
	SourceLabel string   `help:"Label of this source, stored in p_source_label (default: empty)." placeholder:"LABEL"`
}

func (s SourceFlags) id() string {
	if s.SourceID != "" {
		return s.SourceID
	}
	if loc, err := location.Parse(location.Source, s.Source); err == nil && loc.Kind != location.Local {
		return loc.String() // without its query, which may be a SAS
	}
	if abs, err := filepath.Abs(s.Source); err == nil {
		return "file://" + abs
	}
	return s.Source
}

// ListerFlags configure listing.
type ListerFlags struct {
	From         string        `help:"First hour to read, UTC (e.g. 2025-04-01T00; a date alone, 2025-04-01, is its hour 00); default: the oldest." placeholder:"HOUR"`
	To           string        `help:"Last hour to read, UTC, inclusive (e.g. 2025-04-30T23; a date alone, 2025-04-30, reads that whole day: through hour 23); default: the newest." placeholder:"HOUR"`
	PollInterval time.Duration `help:"How often watch mode lists recent hours again." default:"1m"`
	Recent       time.Duration `help:"How far back blobs may still grow and are listed again in watch mode." default:"48h"`
	FinalAfter   time.Duration `help:"A blob whose hour is older than --recent (or whose path has no hour) is final once it has not changed for this long: its last line is then read even without a newline. Until then an unfinished last line waits for the rest of it (a blob may still be appended to, or copied). 0: the last change does not count." default:"5m"`
	TaskSize     Size          `help:"Cut the new bytes of a blob into tasks of about this size (each cut moves to a record boundary), so that parser processes share a big blob. Worth it when parsers are the bottleneck (e.g. 64MiB with parser processes on several machines); in one process on a few cores the writer is, and cutting only adds files and memory. 0: one task per blob." default:"0"`
}

// ParserFlags configure parsing.
type ParserFlags struct {
	Parsers       int    `help:"Tasks parsed at once in this process (0: GOMAXPROCS, the CPUs or the container's CPU limit)." default:"0"`
	MaxRecordSize Size   `help:"Largest line or document held in memory; a longer one is quarantined." default:"16MiB"`
	BatchRows     int    `help:"Rows per batch sent from parser to writer." default:"16384"`
	Partition     string `help:"Folders of the table: hour (category=/date=/hour=, the default) or day (category=/date=: 24 times fewer, bigger files, for tenants whose hourly files would be small: under about 200 MB of JSON per category and hour, hourly Parquet files stay under 10 MB). Every parser of a lake must use the same, and 'ddl --partition' must match. With --table-format iceberg the table's partitions decide: day by default, hour when a new table is made with --partition hour." placeholder:"hour|day"`
}

// partitioning is --partition, hour when not given.
func (f ParserFlags) partitioning() schema.Partitioning {
	if f.Partition == "" {
		return schema.PartitionHour
	}
	return schema.Partitioning(f.Partition)
}

func (f ParserFlags) concurrency() int {
	if f.Parsers > 0 {
		return f.Parsers
	}
	return runtime.GOMAXPROCS(0)
}

// WriterFlags configure the lake.
type WriterFlags struct {
	Lake          string        `help:"Lake folder or URL: s3://<bucket>[/<folder>][?region=...&endpoint=...&use_path_style=true], gs://<bucket>[/<folder>], https://<account>.blob.core.windows.net/<container>[/<folder>], abfss://<container>@<account>.dfs.core.windows.net[/<folder>], azblob://<container>[/<folder>] (account from AZURE_STORAGE_ACCOUNT); credentials from each cloud's standard chain. Tables go to <lake>/<table> (azure_audit and azure_audit_quarantine for --log-type Azure.Audit)." required:"" placeholder:"DIR|URL"`
	RollSize      Size          `help:"Close a Parquet file when its buffered Arrow data reaches this size (about 6% of it lands on disk as zstd Parquet; compact merges an hour's files later)." default:"96MiB"`
	RollRows      int64         `help:"Close a Parquet file at this many rows." default:"1000000"`
	RollAge       time.Duration `help:"Close a Parquet file this long after its first row arrived." default:"1m"`
	MaxBuffered   Size          `help:"Memory of the batches buffered over all open files; past it the largest file is closed early (0: 192MiB, or 160MiB for 'run --partition day', whose files stay open across blobs)." default:"0"`
	ZstdLevel     int           `help:"Zstandard level of Parquet pages, 1 (fastest) to 22 (smallest); compact merges files at its own --zstd-level (3)." default:"1"`
	ParquetDelta  bool          `help:"DELTA encodings on the near-unique columns (ids, times), on by default: smaller files, faster writing. --no-parquet-delta writes them PLAIN, for readers that know only PLAIN and dictionary pages (Spark before 3.3)." default:"true" negatable:""`
	WriterFiles   int           `help:"Parquet files encoded at once (0: GOMAXPROCS, the CPUs or the container's CPU limit)." default:"0"`
	WriterBatches int           `help:"Batches the writer takes from the batch stream at once (each is held until its file is in the lake); the split topology only." default:"4" aliases:"writers,batches"`
	JoinLake      bool          `help:"Write into a lake that another JetStream state (another data dir or NATS server) already wrote, e.g. a second export into one lake. Without it a writer refuses such a lake: its state has not read what the other read, and would write those rows again."`
}

// files is how many Parquet files are encoded at once.
func (f WriterFlags) files() int {
	if f.WriterFiles > 0 {
		return f.WriterFiles
	}
	return runtime.GOMAXPROCS(0)
}

// config is the writer's configuration; idle > 0 closes files after that
// much quiet, and taskEnd closes a partition's file as soon as a task's
// share of it is in (run --once with hourly partitions: one task is one
// blob, one hour).
func (f WriterFlags) config(idle time.Duration, taskEnd bool) writer.Config {
	return writer.Config{RollBytes: int64(f.RollSize), RollRows: f.RollRows, MaxAge: f.RollAge, MaxBuffered: int64(f.MaxBuffered), IdleFlush: idle, FlushAtTaskEnd: taskEnd,
		Parquet: schema.ParquetConfig{ZstdLevel: f.ZstdLevel, NoDelta: !f.ParquetDelta}, Concurrency: f.WriterFiles}
}

// conn is a connection to JetStream with the topology set up.
type conn struct {
	nc *nats.Conn
	js jetstream.JetStream
}

// natsWait is how long a process waits for its NATS server to answer at
// start. Once connected, it reconnects on its own for as long as it runs.
const natsWait = 10 * time.Second

// redactURL drops a password from a NATS URL (or a list of them), for
// messages.
func redactURL(s string) string {
	if strings.Contains(s, ",") {
		return redactURLs(s)
	}
	u, err := neturl.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	return u.Redacted()
}

// connect connects to NATS and sets up the topology with q's settings.
func connect(ctx context.Context, url, name string, q QueueFlags, log *slog.Logger) (*conn, error) {
	return dial(ctx, url, name, q.topology(), true, log)
}

// dial connects and sets up the topology t; without update it only
// creates what is missing and leaves existing streams and consumers as
// they are (status, dead letters).
func dial(ctx context.Context, url, name string, t workers.Topology, update bool, log *slog.Logger) (*conn, error) {
	nc, err := nats.Connect(url, nats.Name(name), nats.MaxReconnects(-1), nats.ReconnectWait(time.Second),
		nats.RetryOnFailedConnect(true),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("disconnected from NATS", "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) { log.Info("reconnected to NATS", "url", nc.ConnectedUrlRedacted()) }))
	if err != nil {
		return nil, fmt.Errorf("connect to NATS at %s: %w", redactURL(url), err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, err
	}
	// Wait for the first connection (RetryOnFailedConnect connects in the
	// background): a stage may start a little before its server (a pod
	// before the NATS pod), but a wrong URL must not look like a hang.
	deadline := time.Now().Add(natsWait)
	warned := false
	for !nc.IsConnected() {
		if time.Now().After(deadline) {
			nc.Close()
			return nil, fmt.Errorf("connect to NATS at %s: no server answered within %s (is it running? 'entralake nats-server' runs one)", redactURL(url), natsWait)
		}
		if !warned && time.Until(deadline) < natsWait-time.Second {
			warned = true
			log.Warn("waiting for the NATS server", "url", redactURL(url), "for", natsWait)
		}
		select {
		case <-ctx.Done():
			nc.Close()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	setup := workers.Ensure
	if update {
		setup = workers.Setup
	}
	if err := setup(ctx, js, t); err != nil {
		nc.Close()
		return nil, err
	}
	return &conn{nc: nc, js: js}, nil
}

func (c *conn) close() { _ = c.nc.Drain() }

// LogTypeFlags choose the log type of the records.
type LogTypeFlags struct {
	LogType string `help:"Log type of the records: the schema they are read with, one of the YAML files built in ('entralake schema --log-type NAME' describes one). It also names the tables: Azure.Audit writes azure_audit and azure_audit_quarantine. Give every process of a lake the same." default:"Azure.Audit"`
}

// logType loads the log type.
func (f LogTypeFlags) logType() (*schema.LogType, error) { return schema.Load(f.LogType) }

// streamOutput is the parsers' Output of the split topology: the batch
// stream.
func streamOutput(c *conn) *parser.Stream {
	return &parser.Stream{
		Publisher:  workers.Publisher{JS: c.js},
		Subject:    func(table string) string { return workers.SubjectBatches + "." + table },
		MaxPayload: int(c.nc.MaxPayload()),
	}
}

// newParserHandler returns the parser stage, which sends its batches to
// out.
func newParserHandler(c *conn, lt *schema.LogType, src parser.BlobReader, f ParserFlags, out parser.Output, log *slog.Logger) (*parser.Handler, error) {
	tasks, err := workers.NewTasks(context.Background(), c.js)
	if err != nil {
		return nil, err
	}
	return parser.NewHandler(parser.HandlerConfig{
		Tasks:  tasks,
		Parser: parser.Config{LogType: lt, MaxRecordSize: int(f.MaxRecordSize), BatchRows: f.BatchRows, Partitioning: f.partitioning()},
	}, src, out, log)
}

func runPool(ctx context.Context, c *conn, stream, consumer string, h workers.Handler, n int, q QueueFlags, log *slog.Logger, extra ...workers.Option) error {
	cons, err := workers.Consumer(ctx, c.js, stream, consumer)
	if err != nil {
		return err
	}
	opts := append(q.poolOptions(), workers.WithConcurrency(n), workers.WithLogger(log))
	opts = append(opts, extra...)
	pool, err := workers.NewPool(c.js, cons, h, opts...)
	if err != nil {
		return err
	}
	return pool.Run(ctx)
}

func newLister(c *conn, src lister.Source, sf SourceFlags, lf ListerFlags, log *slog.Logger) (*lister.Lister, error) {
	from, to, err := lf.rangeHours()
	if err != nil {
		return nil, err
	}
	settler, err := newCommitter(context.Background(), c)
	if err != nil {
		return nil, err
	}
	return lister.New(lister.Config{SourceID: sf.id(), SourceLabel: sf.SourceLabel, Subject: workers.SubjectTasks,
		From: from, To: to, Recent: lf.Recent, FinalAfter: lf.FinalAfter, Settler: settler, TaskSize: int64(lf.TaskSize)}, src, settler.off, workers.Publisher{JS: c.js}, log), nil
}

// writerSetup is how a process runs its writer.
type writerSetup struct {
	// state describes where the JetStream state is, for errors.
	state string
	// idle > 0 (run --once) closes the files once idle for that long
	// while busy (when set) reports false.
	idle time.Duration
	busy func() bool
	// taskEnd closes a partition's file at its task's end (run --once
	// when a task, one blob of one hour, fills a partition: hourly files).
	taskEnd bool
	// table is the table format and catalog; hourly partitions a new
	// Iceberg table by hour.
	table  TableFlags
	hourly bool
	// fused: the writer holds the tasks whose batches it buffers (the
	// fused topology), not batch messages.
	fused bool
}

// touchEvery is how often a writer touches the messages it holds (and
// Fused the tasks of the batches it buffers): as often as the pool
// touches a message it handles, both following the ack wait of the
// consumer they come from, the tasks' in the fused topology.
func touchEvery(ctx context.Context, c *conn, fused bool) (time.Duration, error) {
	stream, consumer := workers.StreamBatches, workers.ConsumerWriters
	if fused {
		stream, consumer = workers.StreamTasks, workers.ConsumerParsers
	}
	cons, err := workers.Consumer(ctx, c.js, stream, consumer)
	if err != nil {
		return 0, err
	}
	return workers.InProgressEvery(cons.CachedInfo().Config.AckWait), nil
}

// newWriter returns the writer stage, and in Iceberg mode the tables it
// commits to (close them after the writer). It first checks that the
// JetStream state and the lake belong together (lakeCheck).
func newWriter(ctx context.Context, c *conn, lt *schema.LogType, wf WriterFlags, ws writerSetup, log *slog.Logger) (*writer.Writer, writer.Lake, *iceberglake.Lake, error) {
	w, wl, il, err := openWriter(ctx, c, lt, wf, ws, log)
	if err != nil && il != nil {
		il.Close()
	}
	return w, wl, il, err
}

func openWriter(ctx context.Context, c *conn, lt *schema.LogType, wf WriterFlags, ws writerSetup, log *slog.Logger) (*writer.Writer, writer.Lake, *iceberglake.Lake, error) {
	lake, err := openLake(ctx, lt, wf, ws.table, log)
	if err != nil {
		return nil, nil, nil, err
	}
	var il *iceberglake.Lake
	var tables map[string]writer.Table
	if ws.table.iceberg() {
		// Tables created empty, or evolved, before anything else is
		// written; a type conflict or a catalog that cannot be used ends
		// here.
		if il, tables, err = icebergLake(ctx, lt, wf, ws.table, ws.hourly, c.js, log); err != nil {
			return nil, nil, nil, err
		}
	}
	off, err := workers.NewOffsets(ctx, c.js)
	if err != nil {
		return nil, nil, il, err
	}
	if err := (lakeCheck{state: ws.state, lake: safeLocation(location.Lake, wf.Lake), join: wf.JoinLake}).check(ctx, off, lake, log); err != nil {
		return nil, nil, il, err
	}
	ledger, err := workers.NewLedger(ctx, c.js)
	if err != nil {
		return nil, nil, il, err
	}
	if il != nil {
		if err := indexIfFresh(ctx, ledger, il, log); err != nil {
			return nil, nil, il, err
		}
		ws.taskEnd = ws.taskEnd && hourlyTable(il.Main)
	} else if err := writer.WriteEmptyFiles(ctx, lake, schema.EmptyFiles(lt), wf.config(0, false).Parquet); err != nil {
		// Not fatal: the writer reports a lake it cannot write; without
		// these files only DuckDB views over a table without files fail.
		log.Warn("could not write the empty files of the tables (DuckDB views need them)", "err", err)
	}
	cfg := wf.config(ws.idle, ws.taskEnd)
	cfg.Busy = ws.busy
	cfg.Tables = tables
	if cfg.TouchEvery, err = touchEvery(ctx, c, ws.fused); err != nil {
		return nil, nil, il, err
	}
	return writer.New(cfg, lake, ledger, log), lake, il, nil
}

// resetState deletes the JetStream state (workers.Reset) for --reset-state.
func resetState(ctx context.Context, c *conn, q QueueFlags, state string, log *slog.Logger) error {
	if err := workers.Reset(ctx, c.js, q.topology()); err != nil {
		return fmt.Errorf("reset the JetStream state of the %s: %w", state, err)
	}
	log.Info("deleted the JetStream state: every blob will be read again", "state", state)
	return nil
}

// committer advances committed offsets past the finished tasks whose rows
// are in the lake (workers.Tasks.Settle); it is the lister's Settler.
type committer struct {
	tasks *workers.Tasks
	off   *workers.Offsets
}

func newCommitter(ctx context.Context, c *conn) (*committer, error) {
	off, err := workers.NewOffsets(ctx, c.js)
	if err != nil {
		return nil, err
	}
	tasks, err := workers.NewTasks(ctx, c.js)
	if err != nil {
		return nil, err
	}
	return &committer{tasks: tasks, off: off}, nil
}

// Settle implements lister.Settler.
func (m *committer) Settle(ctx context.Context) (int, error) { return m.tasks.Settle(ctx, m.off) }

// settleEvery is how often, at most, a writer advances committed offsets
// after writing files; the pause grows to 20 times the last Settle's
// duration, so that a backlog of finished tasks costs a writer at most
// about 5% of its time.
const settleEvery = 2 * time.Second

// settleAfterWrites advances committed offsets while a writer runs, so
// that status tells the truth without the lister's next pass: after the
// writer put files in the lake (or found batches there), after a Settle
// that settled something, and every 30 s in any case (a parser may record
// a task after its last file is written). It settles once more when ctx
// ends; call it after the writer's last flush.
func settleAfterWrites(ctx context.Context, m *committer, w *writer.Writer, log *slog.Logger) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	var seen int64
	var last time.Time
	var cost time.Duration
	again := false
	settle := func(ctx context.Context) {
		start := time.Now()
		n, err := m.Settle(ctx)
		last, cost, again = start, time.Since(start), n > 0
		if err != nil && ctx.Err() == nil {
			log.Warn("could not advance committed offsets; trying again", "err", err)
		}
	}
	for {
		select {
		case <-ctx.Done():
			final, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			settle(final)
			cancel()
			return
		case <-t.C:
		}
		written := w.Totals.Files.Load() + w.Totals.Duplicates.Load()
		since := time.Since(last)
		if since < max(settleEvery, 20*cost) || written == seen && !again && since < 30*time.Second {
			continue
		}
		seen = written
		settle(ctx)
	}
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
