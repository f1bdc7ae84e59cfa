// Package lake is where rows land: one subpackage per kind of place,
// beside source/ (where export blobs come from), each a driver of the
// same small contract.
//
//	lake/dir        a folder on this machine
//	lake/objstore   a bucket or container (and folder) in S3, GCS, Azure Blob Storage or ADLS Gen2
//
// A driver has Create(ctx, rel) (File, error), which starts a file that
// appears whole, or not at all, when committed, and Exists(ctx, rel),
// which sees committed files only; the writer (stages/writer.Lake) and
// the lake check of internal/cli (which also reads the lake's marker
// through ReadFile) declare the interfaces they use. This root package
// holds what the drivers and their users share: the File a driver's
// Create returns, the path check every driver applies (CheckPath,
// ErrUnsafePath), and the naming of lake files (FileName, MetaBatches),
// which the writer and compaction share. It imports no driver, stage,
// source or transport.
//
// A new place to write to is a new subpackage here (object stores through
// gocloud.dev/blob, Iceberg tables), and a case in internal/cli's lake
// opening; nothing else moves.
//
// # Errors
//
// CheckPath's error wraps ErrUnsafePath. Drivers mark errors that no
// retry fixes (permission denied, a missing container, a full disk) with
// Unusable() true.
package lake
