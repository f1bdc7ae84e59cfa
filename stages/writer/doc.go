// Package writer turns Arrow batches into the lake's Parquet files.
//
// A Writer buffers batches by table partition and closes a partition's file
// when it reaches RollRows or RollBytes, when it is MaxAge old, when the
// process is idle (IdleFlush: no batch for a while, none being added,
// nothing upstream Busy), when a task's last batch arrives
// (FlushAtTaskEnd), or when all buffered partitions together pass
// MaxBuffered. A file is written to a Lake under a temporary name, synced,
// its batches recorded in the Ledger, and only then committed (renamed into
// place, or its block list committed on Azure); the batches' messages are
// acked after that. A batch delivered again whose file exists is acked
// without being written twice. While it lives, Run sends in-progress acks
// every TouchEvery for every batch the writer holds, buffered or in a file
// being written, so that none goes to another writer; the batches of a
// writer that died go to another after the ack wait. Partition values are checked to be escaped
// key=value segments, so no value can write outside the lake.
//
// The Lake is a driver of package lake: lake/dir (a local folder) or
// lake/objstore (S3, GCS, Azure Blob Storage). The writer knows no transport:
// Handle takes a batch message as a schema.Message (workers adapts
// JetStream's), and Add takes a batch from anywhere (a Pending says how
// to settle it), so a process that parses and writes can hand its
// batches over in memory.
//
// # Table mode
//
// With Config.Tables (Iceberg tables, through internal/cli), a batch is
// grouped by its table's partition (Table.Partition: one file holds one
// partition), its file is written with the table's schema (field ids) at
// Table.FileRel under a name never used before, and the files a roll
// closes are committed to each table in one Table.Commit. The commit's
// outcome settles the batches: committed, or held by the table already
// (acked; the duplicate file is left for orphan removal); some held by the
// table (ErrSomeCommitted: those are acked, the others written into new
// files and committed again); failed (delivered again, or dead-lettered
// when Permanent). A batch the table held when last loaded is acked
// without being written (Table.Known), and one the ledger says was written
// is checked against the table's current state (Table.Committed), since a
// file may be written and not committed.
//
// # Errors
//
// A failed file is not an error of Add: its batches are failed through
// Pending.Fail, which Handle sets to the message's Settle (the worker
// pool's accounting), so that each failed file counts as a try of its
// batches (retried with growing delays, dead-lettered after the last try). lake/dir marks errors that no retry
// fixes (permission denied, a full disk...) Unusable(). A batch whose table
// or partition is not a safe path, or whose body is not Arrow IPC, is a
// permanent error (Permanent()) and goes to the dead-letter stream.
//
// # Shutdown
//
// Stop the worker pool that calls Add, then Close: it writes what is
// buffered and gives back (Pending.Nak), unwritten, the partitions whose
// file it could not begin before its context ended. An Add after Close
// gives its message back at once.
//
// # Metrics
//
// Writer.Totals counts files, bytes, rows, batches, recognised duplicates
// and failures; Newest gives the newest event time written per category.
package writer
