// Package azureblob reads an Entra ID export from Azure Blob Storage, where
// Azure diagnostic settings write it: one container per log category
// (insights-logs-<category>, schema.ContainerPrefix), append blobs named
// .../y=YYYY/m=MM/d=DD/h=HH/m=00/PT1H.json. A Source implements
// lister.Source (a hierarchical listing, delimiter "/", per ListDir call)
// and parser.BlobReader (a ranged, streamed download per ReadRange call), as
// source/local does for a folder.
//
// The URL (an account: every insights-logs-* container; or one
// container), the credentials and the errors are internal/azstorage's,
// which the Azure lake (lake/objstore) shares:
//
//	https://<account>.blob.core.windows.net/               every insights-logs-* container
//	https://<account>.blob.core.windows.net/<container>    that container
//	https://<account>.dfs.core.windows.net/<container>     ADLS Gen2: the same account's blob endpoint
//	abfss://<container>@<account>.dfs.core.windows.net/    the same
//	http://127.0.0.1:10000/devstoreaccount1/<container>    path-style: Azurite, custom endpoints
//
// # Errors
//
// Every error of a storage call is an *azstorage.Error (no secret in its
// text; Permanent for a blob that is gone or a range past its end,
// Unusable for a refused credential or a missing container).
// azstorage.ErrBadURL reports a URL that names a folder inside a
// container, ErrNoContainers an account without insights-logs-*
// containers.
//
// Requests are retried by the SDK (azstorage.DefaultRetry); a download
// that breaks mid-stream is resumed from where it stopped.
package azureblob
