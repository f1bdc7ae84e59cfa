// Package objstore is a lake in an object store, on gocloud.dev/blob: a
// bucket of Amazon S3 (or an S3-compatible service), of Google Cloud
// Storage, or a container of Azure Blob Storage or ADLS Gen2, under an
// optional folder. It is a driver of the lake contract (see package
// lake) that the writer uses as its writer.Lake, and it gives compaction
// what it needs on an object store (List, Open, Delete, CreateExclusive).
//
//	s3://<bucket>[/<folder>][?region=&endpoint=&use_path_style=true...]   Open
//	gs://<bucket>[/<folder>]                                             Open
//	https://<account>.blob.core.windows.net/<container>[/<folder>]       OpenAzure
//	https://<account>.dfs.core.windows.net/<container>[/<folder>]        OpenAzure
//	abfss://<container>@<account>.dfs.core.windows.net[/<folder>]        OpenAzure
//
// The folder is the lake's key prefix: gocloud's own URL openers ignore a
// URL's path, so internal/location parses it and the Lake prefixes every
// key itself.
//
// # Visibility
//
// A file is uploaded while the writer encodes it and appears, whole, when
// it is committed: S3 sends one PutObject, or completes a multipart upload
// of PartSize parts; GCS finishes a resumable upload; Azure commits the
// block list of the blocks it staged. Before that no reader, listing or
// Exists sees it. An aborted file is a cancelled upload (gocloud's writer
// has no Abort): nothing is committed, and on S3 the multipart upload is
// aborted on a fresh context. A writer killed mid-upload leaves nothing
// visible either, only storage the service drops: an S3 multipart upload
// (a bucket lifecycle rule AbortIncompleteMultipartUpload removes it),
// Azure uncommitted blocks (dropped after a week), a GCS resumable
// session (expires). A file holds at most three parts in memory.
//
// # Credentials
//
// Each cloud's standard chain, never a flag: S3 through the AWS SDK's
// default chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE or
// ?profile=, web identity (IRSA), the container or instance role) and
// the region from ?region=, AWS_REGION or the profile; GCS through
// Google's application default credentials (GOOGLE_APPLICATION_CREDENTIALS,
// gcloud, the metadata server; STORAGE_EMULATOR_HOST for an emulator);
// Azure through internal/azstorage (a connection string, a SAS, the
// account key, then Microsoft Entra ID), on the container client it
// builds, so the azblob:// opener's own environment and order never
// apply.
//
// # Errors
//
// S3 and GCS errors are *Error values, Azure errors *azstorage.Error
// values: none holds a URL's query or a credential. Both report
// Unusable() for refused credentials and a missing bucket or container,
// which Probe finds at start. A missing file matches fs.ErrNotExist in
// ReadFile and Open; lake.ErrUnsafePath reports a path that is not clean
// and relative, lake.ErrExists a CreateExclusive whose name was taken,
// ErrClosed a write after Commit or Abort.
package objstore
