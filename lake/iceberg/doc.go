// Package iceberg keeps the lake's two tables, azure_audit and
// azure_audit_quarantine, as Apache Iceberg tables (through
// github.com/apache/iceberg-go): it opens or creates them, evolves their
// schema, commits the Parquet files the writer wrote into them, tells which
// batches they already hold, and gives compaction its primitives. It writes
// no Parquet data itself: the writer writes files (with ArrowSchema, which
// carries the table's field ids) where DataFileRel says, and Commit
// registers them.
//
// # Layout and catalogs
//
// Each table is the folder <lake>/<table>/, holding metadata/ and data/;
// data files go to data/<partition path>/, e.g.
// data/category=SignInLogs/p_event_time_day=2025-04-11/part-<hash>.parquet.
// Open registers the tables in one catalog (Config.Catalog):
//
//   - none (the default): the file (Hadoop-style) catalog inside the lake.
//     Its warehouse is the lake's parent folder and its namespace the lake
//     folder's name, so the tables are exactly <lake>/azure_audit/ and
//     <lake>/azure_audit_quarantine/, and metadata/version-hint.text names
//     the current metadata file: path-based readers (DuckDB iceberg_scan,
//     Spark's Hadoop catalog) open a table by its folder. The lake must be
//     a folder inside a folder or container (not / nor a container's root).
//   - "sqlite:PATH", "postgres://...": iceberg-go's SQL catalog (tables
//     iceberg_tables and iceberg_namespace_properties, created if missing);
//     several writers on several machines share a PostgreSQL one.
//   - "https://...": an Iceberg REST catalog (Polaris, Unity Catalog,
//     Lakekeeper, S3 Tables...), with a bearer token or OAuth2 client
//     credentials from the environment (RESTFromEnv), never from flags.
//
// In SQL and REST catalogs the namespace is the lake folder's name unless
// Config.Namespace says otherwise, and the tables are created at
// <lake>/<table>; Open refuses a table found elsewhere.
//
// # Storage
//
// The lake is a local folder or an Azure Blob Storage / ADLS Gen2 URL (as
// internal/location classifies --lake), read and written through
// iceberg-go's FileIO (io/gocloud/azure, as
// abfss:// locations, abfs:// on an http emulator). Azure credentials are
// the source's chain (connection string, SAS, account key, else
// DefaultAzureCredential), given to iceberg-go as its adls.* properties;
// errors are scrubbed of secrets. Another object store is one more case in
// openStore.
//
// # Tables and schema
//
// The main table is partitioned by identity(category) and
// day(p_event_time) (hour(p_event_time) with Config.Hourly), sorted by
// p_event_time. The quarantine table is unpartitioned: it has no category,
// its only time is the parse time (meaningless for queries, and a writer's
// file may span midnight, which Iceberg would refuse), and it stays small.
// Properties: format version 2, zstd at Config.ZstdLevel, a target file
// size, manifest merging, old metadata files deleted after commits, and the
// name mapping (schema.name-mapping.default) for readers of files without
// field ids.
//
// Field ids are assigned once, when a table is created, and always read
// from the table afterwards. At Open, a column of schema/ that the table
// lacks is added (new ids; the name mapping is updated in the same
// commit), and an existing column whose type differs from ours is refused
// before anything is written (ErrSchemaConflict names each one).
//
// # Commits and exactly-once
//
// Commit adds any number of files of one table in one append snapshot. Its
// summary records the batch ids the files hold (SummaryBatches, 22
// characters a batch) and a commit id (SummaryCommit, a hash of the file
// paths). A commit is retried here, not by iceberg-go: a conflict with
// another writer (iceberg-go's ErrCommitFailed, or its "requirement
// failed:" error, which it does not retry) reloads the table, checks again
// and commits again; an error whose outcome is unknown is settled by the
// commit id. Before committing, each attempt checks the batches: all of
// them in the table already, it adds nothing (CommitResult.Duplicate);
// some of them, it refuses (ErrBatchesCommitted), so no row is ever added
// twice.
//
// Committed tells which batches the table holds, from the summaries of its
// retained snapshots (read incrementally, per snapshot) and, after
// IndexFooters, from the entralake.batches key of its live files' footers,
// which the writer and compaction write, so that snapshot expiry loses
// nothing: a writer whose own record of written batches is gone (a new
// data dir) asks the table.
//
// The file catalog's commit is atomic on a local disk (a create-exclusive
// claim, then a rename) and the SQL and REST catalogs' are atomic in the
// catalog; on object storage the file catalog's is not (a check, then a
// copy): there Table.NeedsLocker is true, and Config.Locker, which the
// caller provides (a lock shared by every writer), is held around each
// commit. Commits of one Table in one process are serialised.
//
// # Maintenance
//
// Files lists a table's live data files with their partitions and sizes;
// Replace swaps files for one merged file in one "replace" snapshot
// (readers see before or after, never both); ExpireSnapshots removes old
// snapshots (keeping the current one) and the files only they needed;
// RemoveOrphans deletes files no snapshot or metadata names that are older
// than a threshold (at least MinOrphanAge, so that a file whose commit is
// in flight is never taken). Package lake/iceberg/maintain runs them
// (entralake compact --table-format iceberg); Status reports a table's
// current snapshot.
//
// # Errors
//
// ErrConfig: a lake or catalog setting that cannot work (reported at
// Open). ErrSchemaConflict: a table whose column types differ from ours.
// ErrBadFile, ErrBadBatchID: a file or batch id Commit cannot take (a
// caller's bug: retrying cannot help). ErrBatchesCommitted: some of a
// commit's batches are already in the table. ErrStale: a Replace whose
// inputs are no longer live. Storage errors on Azure are azstorage
// *Error values (Unusable() for a refused credential or a missing
// container), without secrets.
package iceberg
