// Package dir is a lake in a folder on this machine: the tables'
// hive-partitioned Parquet files under <root>/<table>/....
//
// A file is written under a temporary name that starts with '.' (which
// query engines ignore) and contains ".tmp-", synced, renamed into place,
// and its folder synced: a crash leaves the old state or the whole new
// file, never a part of it. RemoveStaleTemp deletes the temporary files
// of writers that crashed; Probe checks at start that the folder takes a
// file; ReadFile reads a small file back (the lake's marker).
//
// # Errors
//
// Errors that no retry fixes (permission denied, read-only, a file where
// a folder should be, a full disk) have Unusable() true
// (internal/fsfault). A path that is not clean and relative wraps
// lake.ErrUnsafePath.
package dir
