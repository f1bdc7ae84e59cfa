package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/iceberg-go"
	"github.com/nats-io/nats.go/jetstream"

	iceberglake "github.com/entralake/entralake/lake/iceberg"
	"github.com/entralake/entralake/schema"
	"github.com/entralake/entralake/stages/writer"
	"github.com/entralake/entralake/workers"
)

// Table formats of --table-format.
const (
	formatParquet = "parquet"
	formatIceberg = "iceberg"
)

// TableFlags choose how the lake's tables are kept: plain hive-partitioned
// Parquet folders, or Apache Iceberg tables in a catalog. Commands that
// read or change a lake's tables (run, writer, compact, ddl, status)
// embed them.
type TableFlags struct {
	TableFormat string `help:"How the tables are kept: parquet (hive-partitioned Parquet folders: a file is in the table once it is in place) or iceberg (Apache Iceberg tables: files are committed to the table in snapshots, through --catalog; partitioned by category and day of p_event_time, or hour with --partition hour at creation). Give every process of a lake the same." default:"parquet" enum:"parquet,iceberg"`
	Catalog     string `help:"Iceberg catalog of the tables (--table-format iceberg); default: the file catalog inside the lake (<lake>/<table>/metadata; on Azure its commits take a lock on the writers' NATS server); or sqlite:PATH; postgres://user@host:port/db?sslmode=...; or an Iceberg REST catalog https://... (Polaris, Unity Catalog, Lakekeeper, S3 Tables), whose credentials come from ENTRALAKE_CATALOG_TOKEN or ENTRALAKE_CATALOG_CREDENTIAL (client_id:client_secret) with ENTRALAKE_CATALOG_SCOPE, ENTRALAKE_CATALOG_OAUTH_URI and ENTRALAKE_CATALOG_WAREHOUSE, never from flags." placeholder:"CATALOG"`
}

// iceberg reports Iceberg mode.
func (f TableFlags) iceberg() bool { return f.TableFormat == formatIceberg }

// Validate checks --catalog's form; whether the catalog answers is
// checked when the tables are opened.
func (f TableFlags) Validate() error {
	if f.Catalog == "" {
		return nil
	}
	if !f.iceberg() {
		return &flagError{flag: "catalog", problem: "needs --table-format iceberg (a parquet lake has no catalog)"}
	}
	c := f.Catalog
	switch {
	case strings.HasPrefix(c, "sqlite:"):
		if strings.TrimPrefix(c, "sqlite:") == "" {
			return &flagError{flag: "catalog", value: c, problem: "needs a file: sqlite:PATH"}
		}
		return nil
	case strings.HasPrefix(c, "postgres://"), strings.HasPrefix(c, "postgresql://"),
		strings.HasPrefix(c, "https://"), strings.HasPrefix(c, "http://"):
		u, err := url.Parse(c)
		if err != nil || u.Host == "" {
			return &flagError{flag: "catalog", value: "(" + strings.SplitN(c, ":", 2)[0] + " URL)", problem: "is not a URL with a host"}
		}
		return nil
	}
	return &flagError{flag: "catalog", value: redactURL(c), problem: "want sqlite:PATH, postgres://..., https://... (REST), or nothing for the file catalog in the lake"}
}

// icebergLake opens the lake's Iceberg tables (creating, or evolving,
// them) for a writer: it maps them to writer.Table by name. hourly
// partitions a new main table by hour. js, when set, provides the commit
// lock the file catalog on object storage needs (workers.Locker).
func icebergLake(ctx context.Context, lt *schema.LogType, wf WriterFlags, tf TableFlags, hourly bool, js jetstream.JetStream, log *slog.Logger) (*iceberglake.Lake, map[string]writer.Table, error) {
	cfg := iceberglake.Config{Lake: wf.Lake, Catalog: tf.Catalog, REST: iceberglake.RESTFromEnv(), LogType: lt, Hourly: hourly, ZstdLevel: wf.ZstdLevel}
	if js != nil {
		cfg.Locker = &lazyLocker{js: js}
	}
	l, err := iceberglake.Open(ctx, cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("iceberg tables: %w", err)
	}
	if l.Main.NeedsLocker() && js == nil {
		l.Close()
		return nil, nil, fmt.Errorf("iceberg tables: the %s needs a commit lock shared by every writer (NATS)", l.Catalog())
	}
	log.Info("iceberg tables", "catalog", l.Catalog(), "table", l.Main.Name(), "quarantine", l.Quarantine.Name(), "partitioning", partitioning(l.Main))
	return l, map[string]writer.Table{
		l.Main.Rel():       &icebergTable{t: l.Main},
		l.Quarantine.Rel(): &icebergTable{t: l.Quarantine},
	}, nil
}

// partitioning names a table's partition spec, e.g. "category, day(p_event_time)".
func partitioning(t *iceberglake.Table) string {
	spec := t.Iceberg().Spec()
	var out []string
	for i := range spec.NumFields() {
		f := spec.Field(i)
		out = append(out, f.Transform.String()+"("+f.Name+")")
	}
	return strings.Join(out, ", ")
}

// hourlyTable reports a table partitioned by the hour of a column.
func hourlyTable(t *iceberglake.Table) bool {
	spec := t.Iceberg().Spec()
	for i := range spec.NumFields() {
		if _, ok := spec.Field(i).Transform.(iceberg.HourTransform); ok {
			return true
		}
	}
	return false
}

// lazyLocker creates the locks bucket at the first lock: only a file
// catalog on object storage locks.
type lazyLocker struct {
	js   jetstream.JetStream
	once sync.Once
	l    *workers.Locker
	err  error
}

// Lock implements iceberglake.Locker.
func (z *lazyLocker) Lock(ctx context.Context, key string) (func(), error) {
	z.once.Do(func() { z.l, z.err = workers.NewLocker(ctx, z.js) })
	if z.err != nil {
		return nil, z.err
	}
	return z.l.Lock(ctx, key)
}

// icebergTable adapts an Iceberg table to writer.Table.
type icebergTable struct {
	t *iceberglake.Table
	// paths caches the partition path of (category, hour): every spec
	// here is identity(category) with day or hour of p_event_time.
	mu    sync.Mutex
	paths map[partKey]string
}

type partKey struct {
	cat  string
	hour int64
}

// Schema implements writer.Table.
func (a *icebergTable) Schema() *arrow.Schema { return a.t.ArrowSchema() }

// FileRel implements writer.Table.
func (a *icebergTable) FileRel(partition, name string) string {
	return a.t.DataFileRel(partition, name)
}

// Partition implements writer.Table: the partition of rec's rows, from
// their category and p_event_time.
func (a *icebergTable) Partition(rec arrow.RecordBatch) (string, error) {
	if spec := a.t.Iceberg().Spec(); spec.NumFields() == 0 {
		return "", nil
	}
	cats, ok1 := column[*array.String](rec, "category")
	times, ok2 := column[*array.Timestamp](rec, schema.ColEventTime)
	if !ok1 || !ok2 {
		return "", fmt.Errorf("table %s: a batch without a category or %s column", a.t.Name(), schema.ColEventTime)
	}
	const hourUS = int64(time.Hour / time.Microsecond)
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.paths == nil {
		a.paths = map[partKey]string{}
	}
	var path string
	var last partKey
	for i := range int(rec.NumRows()) {
		if cats.IsNull(i) || times.IsNull(i) {
			return "", fmt.Errorf("table %s: row %d has no category or %s: it has no partition", a.t.Name(), i, schema.ColEventTime)
		}
		us := int64(times.Value(i))
		h := us / hourUS
		if us < 0 && us%hourUS != 0 {
			h--
		}
		k := partKey{cats.Value(i), h}
		if i > 0 && k == last {
			continue
		}
		last = k
		p, ok := a.paths[k]
		if !ok {
			var err error
			p, err = a.t.PartitionPath(map[string]any{"category": k.cat, schema.ColEventTime: time.UnixMicro(us).UTC()})
			if err != nil {
				return "", err
			}
			if len(a.paths) > 100_000 {
				clear(a.paths)
			}
			a.paths[k] = p
		}
		if i > 0 && p != path {
			return "", fmt.Errorf("table %s: the batch's rows are in partitions %s and %s: parsers must partition by hour (--partition hour) for an hourly table", a.t.Name(), path, p)
		}
		path = p
	}
	return path, nil
}

// column returns rec's top-level column name as an A.
func column[A arrow.Array](rec arrow.RecordBatch, name string) (A, bool) {
	var zero A
	idx := rec.Schema().FieldIndices(name)
	if len(idx) == 0 {
		return zero, false
	}
	c, ok := rec.Column(idx[0]).(A)
	return c, ok
}

// Commit implements writer.Table.
func (a *icebergTable) Commit(ctx context.Context, files []writer.TableFile) (bool, error) {
	fs := make([]iceberglake.File, len(files))
	for i, f := range files {
		fs[i] = iceberglake.File{Rel: f.Rel, Batches: f.Batches}
	}
	res, err := a.t.Commit(ctx, fs)
	switch {
	case err == nil:
		return res.Duplicate, nil
	case errors.Is(err, iceberglake.ErrBatchesCommitted):
		return false, fmt.Errorf("%w: %w", writer.ErrSomeCommitted, err)
	case errors.Is(err, iceberglake.ErrBadFile), errors.Is(err, iceberglake.ErrBadBatchID):
		return false, permanent{err}
	}
	return false, err
}

// Committed implements writer.Table.
func (a *icebergTable) Committed(ctx context.Context, ids []string) ([]string, error) {
	return a.t.Committed(ctx, ids)
}

// Known implements writer.Table.
func (a *icebergTable) Known(ids []string) []string { return a.t.Known(ids) }

// permanent marks an error that no retry fixes (workers.IsPermanent).
type permanent struct{ error }

func (p permanent) Unwrap() error   { return p.error }
func (p permanent) Permanent() bool { return true }

// indexIfFresh makes the tables learn the batches of their live files'
// footers when the writer's ledger records nothing (a new state on a lake
// whose snapshots may have expired), so that no batch is written twice.
func indexIfFresh(ctx context.Context, ledger *workers.Ledger, l *iceberglake.Lake, log *slog.Logger) error {
	empty, err := ledger.Empty(ctx)
	if err != nil || !empty {
		return err
	}
	for _, t := range []*iceberglake.Table{l.Main, l.Quarantine} {
		start := time.Now()
		n, err := t.IndexFooters(ctx)
		if err != nil {
			return fmt.Errorf("iceberg table %s: read the batches of its files: %w", t.Name(), err)
		}
		if n > 0 {
			log.Info("new state on an existing table: read the batches its files hold", "table", t.Name(), "files", n, "took", time.Since(start).Round(time.Millisecond))
		}
	}
	return nil
}
