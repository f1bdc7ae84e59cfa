package cli

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/entralake/entralake/internal/location"
	"github.com/entralake/entralake/lake/iceberg"
	"github.com/entralake/entralake/lake/iceberg/maintain"
	"github.com/entralake/entralake/schema"
	"github.com/entralake/entralake/stages/compact"
	"github.com/entralake/entralake/workers"
)

// CompactCmd merges the small files of closed partitions.
type CompactCmd struct {
	LogTypeFlags `embed:""`
	TableFlags   `embed:""`
	Lake         string `help:"The lake: a local folder, or an S3, GCS or Azure lake URL (as --lake of run; with --table-format iceberg, with --catalog as the writers')." required:"" placeholder:"LAKE"`
	Before       string `help:"Compact partitions whose hour (or day, in a lake partitioned by day) ended by this hour, UTC (e.g. 2025-04-11T18); default: the current hour minus 2h." placeholder:"HOUR"`
	TargetSize   Size   `help:"Size the merged files aim at." default:"256MiB"`
	ZstdLevel    int    `help:"Zstandard level of the merged files, 1 (fastest) to 22 (smallest)." default:"3"`
	Nats         string `help:"NATS server holding the ledger (the writers' server); default: an embedded server on --data-dir." placeholder:"URL"`
	DataDir      string `help:"State folder of the embedded JetStream server used by 'run' (its ledger is updated)." default:".entralake"`
	QueueFlags   `embed:""`
	// Iceberg mode only.
	ExpireOlderThan        time.Duration `help:"Iceberg mode: expire the snapshots older than this (the current one always stays), deleting the files only they need (the inputs of earlier compactions); 0 keeps every snapshot." default:"24h"`
	RemoveOrphansOlderThan time.Duration `help:"Iceberg mode: delete the files under the tables that no snapshot names (left by a writer or a compaction that stopped before its commit) once they are older than this; at least 1h; 0 keeps them." default:"72h"`
}

// Help is shown by `entralake compact --help`.
func (*CompactCmd) Help() string {
	return `Merges the Parquet files of each closed partition into files near --target-size.
In a local lake readers see the old files or the new ones, never both: the
new partition is built aside and swapped in with one atomic rename (Linux).
In an object store (S3, GCS, Azure), where nothing renames, each merged file
is uploaded (it appears whole), the ledger is pointed at it, then its inputs
are deleted: a reader listing the partition in between sees both and counts
those rows twice. A journal under <lake>/.compact makes a killed compaction
finish or roll back on the next run; its lock (<lake>/.compact/lock.json) is
taken over once it is 6 hours old. Merged files keep
their inputs' encodings: written without DELTA encodings if any input was
(a lake written with --no-parquet-delta stays so). The ledger of the
writers is updated so that a batch delivered again is still recognised.

A partition is closed when its hour ended before --before; in a lake
partitioned by day (--partition day), when its day did. The default, two
hours ago, leaves the writers time to close their files (--roll-age, 1m) and
Azure time to append late records to the hour's blob; a file written into a
partition during its compaction is kept all the same.

With 'run' on the embedded server, stop it first (the server's state is in
--data-dir) or point --nats at the server the writers use.

With --table-format iceberg it works on the Iceberg tables instead, on a
local or an Azure lake, with no NATS server: per partition closed by
--before (its day, or hour, of p_event_time), the files below
--target-size are merged into files of the same partition, each group in
one "replace" commit (readers see the old files or the merged one, never
both; writers go on committing meanwhile). Then snapshots older than
--expire-older-than are expired and files no snapshot names, older than
--remove-orphans-older-than, are deleted. On an object-store lake with the file
catalog, whose commits need the lock the writers share, compact takes it
on their NATS server (--nats, or --data-dir as above).

Examples:
  entralake compact --lake ./lake
  entralake compact --lake /srv/lake --nats nats://127.0.0.1:4222 --before 2025-04-11T00
  entralake compact --lake s3://bucket/entra --nats nats://127.0.0.1:4222
  entralake compact --table-format iceberg --lake ./lake
  entralake compact --table-format iceberg --catalog postgres://entralake@db:5432/iceberg \
      --lake https://contosolake.blob.core.windows.net/lake/entra`
}

// Run implements the command.
func (c *CompactCmd) Run(env *Env) error {
	ctx, log := env.Ctx, env.Log
	before := time.Now().UTC().Truncate(time.Hour).Add(-2 * time.Hour)
	if c.Before != "" {
		t, err := parseHour(c.Before, false)
		if err != nil {
			return fmt.Errorf("--before: %w", err)
		}
		before = t
	}
	lt, err := c.logType()
	if err != nil {
		return err
	}
	if c.iceberg() {
		return c.runIceberg(env, lt, before)
	}
	loc, err := location.Parse(location.Lake, c.Lake) // checked by Validate
	if err != nil {
		return err
	}
	cfg := compact.Config{Lake: loc.Path}
	if loc.Kind != location.Local {
		store, err := openObjectLake(ctx, loc, log)
		if err != nil {
			return err
		}
		defer store.Close()
		cfg.Store = store
	}
	conn, done, err := c.connect(env)
	if err != nil {
		return err
	}
	defer done()
	ledger, err := workers.NewLedger(ctx, conn.js)
	if err != nil {
		return err
	}
	cfg.Tables, cfg.Before = []string{lt.Table(), lt.QuarantineTable()}, before
	cfg.TargetSize, cfg.Parquet, cfg.Log = int64(c.TargetSize), schema.ParquetConfig{ZstdLevel: c.ZstdLevel}, log
	comp, err := compact.New(cfg, ledger)
	if err != nil {
		return err
	}
	start := time.Now()
	st, err := comp.Run(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "compacted %d partitions before %s in %s: %d files (%s) -> %d files (%s), %d rows; %d unfinished jobs settled\n",
		st.Partitions, before.Format("2006-01-02T15"), time.Since(start).Round(time.Millisecond),
		st.FilesIn, humanBytes(st.BytesIn), st.FilesOut, humanBytes(st.BytesOut), st.Rows, st.Recovered)
	return nil
}

// connect connects to the writers' NATS server: --nats, or an embedded
// server on --data-dir.
func (c *CompactCmd) connect(env *Env) (*conn, func(), error) {
	url := c.Nats
	var srv interface{ Shutdown() }
	if url == "" {
		s, err := workers.StartServer(workers.ServerConfig{Dir: filepath.Join(c.DataDir, "jetstream"), Port: -1})
		if err != nil {
			return nil, nil, err
		}
		srv, url = s, s.ClientURL()
	}
	conn, err := connect(env.Ctx, url, "entralake-compact", c.QueueFlags, env.Log)
	if err != nil {
		if srv != nil {
			srv.Shutdown()
		}
		return nil, nil, err
	}
	return conn, func() {
		conn.close()
		if srv != nil {
			srv.Shutdown()
		}
	}, nil
}

// runIceberg compacts, expires and cleans the lake's Iceberg tables.
func (c *CompactCmd) runIceberg(env *Env, lt *schema.LogType, before time.Time) error {
	// The file catalog on object storage commits by a check then a copy:
	// a compaction's commit and a writer's could both win, and one be
	// lost, so compaction takes the lock the writers share, on their NATS
	// server. The other catalogs need no NATS.
	var lock iceberg.Locker
	if loc, err := location.Parse(location.Lake, c.Lake); err == nil && loc.Kind != location.Local && c.Catalog == "" {
		conn, done, err := c.connect(env)
		if err != nil {
			return err
		}
		defer done()
		lock = &lazyLocker{js: conn.js}
	}
	l, err := openIceberg(env.Ctx, c.Lake, c.TableFlags, lt, c.ZstdLevel, lock)
	if err != nil {
		return err
	}
	defer l.Close()
	if l.Main.NeedsLocker() && lock == nil {
		return fmt.Errorf("compact: the %s needs the commit lock the writers share (NATS)", l.Catalog())
	}
	start := time.Now()
	st, err := maintain.Run(env.Ctx, maintain.Config{
		Before: before, TargetSize: int64(c.TargetSize), Parquet: schema.ParquetConfig{ZstdLevel: c.ZstdLevel},
		ExpireOlderThan: c.ExpireOlderThan, OrphansOlderThan: c.RemoveOrphansOlderThan, Log: env.Log,
	}, l.Main, l.Quarantine)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "compacted %d partitions before %s in %s: %d files (%s) -> %d files (%s), %d rows; %d groups left for the next run (another compaction replaced their files); %d snapshots expired, %d orphan files removed\n",
		st.Partitions, before.Format("2006-01-02T15"), time.Since(start).Round(time.Millisecond),
		st.FilesIn, humanBytes(st.BytesIn), st.FilesOut, humanBytes(st.BytesOut), st.Rows, st.Stale, st.Expired, st.Orphans)
	return nil
}
