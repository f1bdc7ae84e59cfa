// Package azureblob is a lake in Azure Blob Storage (or ADLS Gen2 through
// its blob endpoint), on block blobs: a driver of the lake contract (see
// package lake) that the writer uses as its writer.Lake.
//
// A file is staged block by block while the writer encodes it
// (StageBlock every BlockSize bytes, 8 MiB by default, with its MD5
// checked by the service; one block is sent while the next fills, so a
// file holds at most two blocks in memory) and appears at Commit, whole,
// through one CommitBlockList. Before that the blob does not exist for
// readers, listings or Exists: a writer that aborts or crashes leaves only
// uncommitted blocks, which the service deletes after a week. Two writers
// of the same file (the same batches delivered twice) stage blocks under
// different ids; the last commit wins, with identical content.
//
// The lake URL names a container and an optional folder:
//
//	https://<account>.blob.core.windows.net/<container>[/<folder>]
//	https://<account>.dfs.core.windows.net/<container>[/<folder>]
//	abfss://<container>@<account>.dfs.core.windows.net[/<folder>]
//	http://127.0.0.1:10000/devstoreaccount1/<container>[/<folder>]   (Azurite)
//
// The URL, the credentials and the errors are internal/azstorage's, shared
// with the Azure source: a connection string, a SAS, the account key,
// then Microsoft Entra ID.
//
// # Errors
//
// Storage errors are *azstorage.Error values (no secret in their text);
// lake.ErrUnsafePath reports a path that is not clean and relative,
// ErrClosed a write after Commit or Abort.
package azureblob
