package iceberg

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/table"

	"github.com/entralake/entralake/schema"
)

// Errors callers test with errors.Is.
var (
	// ErrConfig reports a lake or catalog setting that cannot work.
	ErrConfig = errors.New("iceberg configuration")
	// ErrSchemaConflict reports an existing table whose column has another
	// type than ours; its message names every such column.
	ErrSchemaConflict = errors.New("table schema conflicts with ours")
	// ErrBadFile reports a file that cannot be added to the table: outside
	// its data folder, not Parquet, rows of two partitions, columns that
	// do not match. Trying again cannot help.
	ErrBadFile = errors.New("file cannot be added to the table")
	// ErrBadBatchID reports a batch id that is not 32 lower-case hex
	// digits (the parser's ids).
	ErrBadBatchID = errors.New("bad batch id")
	// ErrStale reports a replace whose input files are no longer all live
	// (another compaction replaced some): plan again.
	ErrStale = errors.New("files to replace are no longer live")
)

// Defaults of Config.
const (
	DefaultZstdLevel        = schema.DefaultZstdLevel
	DefaultTargetFileSize   = 128 << 20
	DefaultMetadataVersions = 20
	DefaultCommitTimeout    = 5 * time.Minute
)

// Config says where the tables are and how to create them.
type Config struct {
	// Lake is the lake folder: a local path, or an Azure Blob Storage or
	// ADLS Gen2 URL (https://<account>.blob.core.windows.net/<container>/<folder>,
	// abfss://..., http://127.0.0.1:<port>/<account>/<container>/<folder> on
	// Azurite), as the writer's --lake. Each table is the folder
	// <Lake>/<table>, holding metadata/ and data/.
	Lake string
	// Catalog is where the tables are registered: empty for the file
	// (Hadoop-style) catalog inside the lake (the lake's parent is its
	// warehouse, the lake folder's name its namespace, and
	// <table>/metadata/version-hint.text names the current metadata);
	// "sqlite:PATH"; "postgres://user@host:port/db?sslmode=..."; or an
	// Iceberg REST catalog "https://..." (credentials in REST).
	Catalog string
	// Namespace is the tables' namespace in an SQL or REST catalog
	// (default: the lake folder's name, as in the file catalog).
	Namespace string
	// REST holds a REST catalog's credentials (RESTFromEnv).
	REST RESTConfig
	// Azure holds the credentials of an Azure lake; nil reads them from
	// the environment (AzureAuthFromEnv).
	Azure *AzureAuth
	// LogType names the two tables and gives their columns: LogType.Table()
	// with LogType.ArrowSchema(), LogType.QuarantineTable() with
	// schema.QuarantineSchema().
	LogType *schema.LogType
	// Hourly partitions a new main table by hour(p_event_time) instead of
	// day(p_event_time). An existing table keeps its partitioning.
	Hourly bool
	// ZstdLevel, TargetFileSize and MetadataVersions are table properties
	// set at creation (write.parquet.compression-level,
	// write.target-file-size-bytes, write.metadata.previous-versions-max);
	// zero takes the Default.
	ZstdLevel        int
	TargetFileSize   int64
	MetadataVersions int
	// Locker serialises the commits of a table across processes where the
	// catalog cannot (Table.NeedsLocker). Nil: no lock.
	Locker Locker
	// CommitTimeout bounds the retries of one commit after conflicts
	// (DefaultCommitTimeout if 0).
	CommitTimeout time.Duration
}

// Locker serialises the commits of one table across processes. Lock
// blocks until the lock is held or ctx ends; unlock releases it. key
// names the table (its location).
type Locker interface {
	Lock(ctx context.Context, key string) (unlock func(), err error)
}

// Lake is the two tables of a log type.
type Lake struct {
	// Main holds the rows; Quarantine the records that are not rows.
	Main, Quarantine *Table
	cat              *opened
}

// Open opens the lake's tables in the catalog, creating each one that is
// missing (empty: an empty table is a valid table) and adding to an
// existing one the columns of our schema it lacks. It fails, writing
// nothing, when an existing column's type differs from ours
// (ErrSchemaConflict), and when the catalog or the storage cannot be
// used. Close it when done.
func Open(ctx context.Context, cfg Config) (*Lake, error) {
	if cfg.LogType == nil {
		return nil, fmt.Errorf("%w: no log type", ErrConfig)
	}
	if cfg.ZstdLevel == 0 {
		cfg.ZstdLevel = DefaultZstdLevel
	}
	if cfg.TargetFileSize <= 0 {
		cfg.TargetFileSize = DefaultTargetFileSize
	}
	if cfg.MetadataVersions <= 0 {
		cfg.MetadataVersions = DefaultMetadataVersions
	}
	if cfg.CommitTimeout <= 0 {
		cfg.CommitTimeout = DefaultCommitTimeout
	}
	st, err := openStore(cfg)
	if err != nil {
		return nil, err
	}
	o, err := openCatalog(ctx, cfg, st)
	if err != nil {
		return nil, err
	}
	l := &Lake{cat: o}
	var tables []*Table
	for _, d := range defs(cfg) {
		t, err := openTable(ctx, cfg, o, st, d)
		if err != nil {
			o.close()
			return nil, err
		}
		tables = append(tables, t)
	}
	l.Main, l.Quarantine = tables[0], tables[1]
	return l, nil
}

// Close closes the catalog (and its database connections).
func (l *Lake) Close() error { return l.cat.close() }

// Catalog names the catalog (no secret in it).
func (l *Lake) Catalog() string { return l.cat.name }

// Table is one Iceberg table. Its methods are safe for concurrent use.
type Table struct {
	name     string
	ident    table.Identifier
	cat      *opened
	st       store
	rel      string // the table folder, relative to the lake: its name
	ours     *arrow.Schema
	locker   Locker
	timeout  time.Duration
	commitMu sync.Mutex // one commit at a time in this process

	mu     sync.Mutex
	tbl    *table.Table
	ids    *arrow.Schema // ours with the table's field ids
	idsFor int           // the table schema id ids was made for
	idsErr error         // why ids could not be made for the current schema
	ix     index
}

func openTable(ctx context.Context, cfg Config, o *opened, st store, d tableDef) (*Table, error) {
	ident := append(slices.Clone(o.ns), d.name)
	t := &Table{name: strings.Join(ident, "."), ident: ident, cat: o, st: st, rel: d.name, ours: d.arrow, timeout: cfg.CommitTimeout}
	if o.needsLock {
		t.locker = cfg.Locker
	}
	tbl, err := o.cat.LoadTable(ctx, ident)
	if err != nil {
		if !isNoSuchTable(err) {
			return nil, st.wrap("load table", fmt.Errorf("%s: load table %s: %w", o.name, t.name, err))
		}
		if tbl, err = create(ctx, cfg, o, st, d); err != nil {
			return nil, st.wrap("create table", fmt.Errorf("%s: create table %s: %w", o.name, t.name, err))
		}
	}
	if want := st.location(d.name); strings.TrimSuffix(tbl.Location(), "/") != want {
		return nil, fmt.Errorf("%w: table %s is at %s, not in the lake (%s)", ErrConfig, t.name, tbl.Location(), want)
	}
	t.idsFor = -1
	t.set(tbl)
	// Evolve: a field added to schema/ since the table was made.
	if _, err := t.commit(ctx, "", func(tbl *table.Table) (*table.Transaction, error) {
		return evolveTx(tbl, t.name, d.arrow)
	}); err != nil {
		return nil, t.wrap("evolve schema", err)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.idsErr != nil {
		return nil, fmt.Errorf("table %s: field ids: %w", t.name, t.idsErr)
	}
	return t, nil
}

// isNoSuchTable reports a table missing from the catalog.
func isNoSuchTable(err error) bool {
	return errors.Is(err, catalog.ErrNoSuchTable)
}

// set makes tbl the table's current state.
func (t *Table) set(tbl *table.Table) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.tbl = tbl
	t.ix.update(tbl.Metadata())
	if id := tbl.Schema().ID; id != t.idsFor {
		ids, err := idSchema(tbl, t.ours)
		t.idsErr = err
		if err == nil {
			t.ids, t.idsFor = ids, id
		}
	}
}

// Name is the table's identifier in its catalog, e.g. "lake.azure_audit".
func (t *Table) Name() string { return t.name }

// Location is the table's folder: an absolute path, or an abfss:// URL.
func (t *Table) Location() string { return t.st.location(t.rel) }

// Rel is the table's folder relative to the lake (its name).
func (t *Table) Rel() string { return t.rel }

// NeedsLocker reports that the table's catalog cannot make two processes'
// commits atomic (the file catalog on object storage): with more than one
// writer, give Config.Locker.
func (t *Table) NeedsLocker() bool { return t.cat.needsLock }

// ArrowSchema is our schema with the table's field ids (PARQUET:field_id on
// every field): write the table's Parquet files with it, so that they carry
// the ids. It has our columns in our order and types, so a record of our
// schema takes it as is (array.NewRecordBatch(sc, rec.Columns(), rows)).
func (t *Table) ArrowSchema() *arrow.Schema {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.ids
}

// Iceberg returns the table as last loaded (iceberg-go's, to scan or
// inspect); Refresh loads it again.
func (t *Table) Iceberg() *table.Table {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.tbl
}

// Refresh loads the table's current state from the catalog.
func (t *Table) Refresh(ctx context.Context) (*table.Table, error) {
	tbl, err := t.cat.cat.LoadTable(ctx, t.ident)
	if err != nil {
		return nil, t.wrap("load table", fmt.Errorf("load table %s: %w", t.name, err))
	}
	t.set(tbl)
	return tbl, nil
}

// wrap scrubs secrets from a storage error and names the table.
func (t *Table) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	var own bool
	for _, e := range []error{ErrConfig, ErrSchemaConflict, ErrBadFile, ErrBadBatchID, ErrStale, ErrBatchesCommitted} {
		own = own || errors.Is(err, e)
	}
	if own {
		return err
	}
	return t.st.wrap(op, err)
}
