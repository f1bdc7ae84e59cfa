// Package compact merges the small Parquet files of closed lake partitions
// into files near a target size, so that engines open few large files
// instead of many small ones.
//
// A partition is a leaf folder of a table (azure_audit/category=C/date=D/
// hour=H, or azure_audit_quarantine/date=D). It is closed when the time it
// covers ended before Config.Before; only closed partitions are compacted.
//
// # Atomicity
//
// Readers list a partition folder and read what they listed. Compaction
// never changes the folder's content piecemeal: it builds the complete new
// content (merged files, and hard links to files left as they are) in a
// staging folder, then swaps the two folders in one renameat2
// RENAME_EXCHANGE, so a listing shows either the old files or the new ones,
// never both and never neither. The staging folders live in <lake>/.compact,
// outside every table: DuckDB's ** glob does enter hidden folders, so a
// hidden sibling of the partition would be read as part of the table.
//
// # Crash recovery
//
// Each partition's work is a job folder <lake>/.compact/job-<random> with a
// journal (job.json) naming the partition, the input files and the merged
// files. The journal is written and synced before anything else, and the
// swap happens only after every new file is synced. At the start of every
// run, holding an flock on the lake folder, each job folder left by a crash
// is settled: if the partition does not hold the merged files yet, the swap
// never happened and the job folder is deleted (the old files are still the
// partition); if it does, the run finishes the job: it points the ledger at
// the merged files, moves back any file a writer added during the job, and
// deletes the old files.
//
// # Ledger
//
// The writer's ledger maps each batch id to the file that holds it, so that
// a batch delivered again is recognised. Each merged file carries the union
// of its inputs' batch ids in its "entralake.batches" key-value metadata
// (lake.MetaBatches) and is named after them as the writer names its files
// (lake.FileName), and after the swap compaction records those ids against
// the merged file through [Ledger].
//
// # Object stores
//
// With Config.Store (a lake in S3, GCS or Azure: lake/objstore) nothing
// can be renamed. Each merged file is uploaded under its final name (it
// appears whole), the ledger is pointed at it, then its inputs are
// deleted: a reader listing the partition between the upload and the
// deletions sees the merged file and its inputs, and counts those rows
// twice. The journal is an object <lake>/.compact/job-<random>.json,
// written first; a run settles each journal it finds: when every merged
// file exists the job is finished (ledger, inputs deleted), otherwise the
// merged files written so far are deleted (no ledger entry points at
// them yet). The lock is an object, <lake>/.compact/lock.json, created
// with a conditional write (it fails if the object exists) and deleted at
// the end; one older than StaleLock, left by a killed run, is taken over.
//
// Compaction imports no lake driver, only the lake root package's naming
// and file types; the object store is the Store interface.
//
// # Errors
//
// [ErrLocked] is returned when another compaction holds the lake's lock.
// An error from Config.Hook stops the run where it is, as a crash would.
package compact
