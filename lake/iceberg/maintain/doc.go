// Package maintain keeps an Iceberg lake's tables (lake/iceberg) fast to
// read and small to store: it compacts each partition's small files, then
// expires old snapshots, then removes orphan files. It is what
// `entralake compact --table-format iceberg` runs, on a local lake as on an
// Azure one (the table's own storage reads and writes every file).
//
// # Compaction
//
// For each table, Run lists the live files of the current snapshot
// (Table.Files), takes the partitions whose time ended by Config.Before
// (the day or hour of their p_event_time partition; an unpartitioned
// table, the quarantine, is always taken), and in each one groups the
// files below Config.TargetSize, in path order, while their sum stays at
// or below it. Each group of two or more files is merged (internal/pqmerge:
// the writer's Parquet settings, the table's field ids, the union of the
// inputs' batch ids in the footer, so that exactly-once survives snapshot
// expiry) into a file of the same partition named after those batch ids,
// and swapped in with one Table.Replace: one "replace" snapshot, so a
// reader sees the old files or the merged one, never both. A file whose
// columns are not the table's (written before a schema change) is left as
// it is.
//
// Writers may commit meanwhile: Replace is retried on the new state as
// long as the group's files are still live. When another compaction
// replaced some of them first (iceberg.ErrStale), the merged file is
// deleted and the partition is planned again by the next run; when the
// same replace already landed, it counts as done.
//
// A crash leaves at most a merged file that no snapshot names: an orphan.
//
// # Expiry and orphans
//
// With Config.ExpireOlderThan, snapshots older than that are removed (the
// current one always stays) with the files only they needed: the inputs
// of earlier compactions. With Config.OrphansOlderThan (at least
// iceberg.MinOrphanAge), files under a table's folder that no snapshot or
// metadata names and that are older than that are deleted: the files of
// writers and compactions that crashed before their commit.
//
// On object storage with the file catalog (Table.NeedsLocker), the tables
// must have been opened with the Locker the writers use: compaction
// commits too.
package maintain
