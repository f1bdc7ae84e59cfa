// Package azstorage is what the Azure source (source/azureblob) and the
// Azure lake (lake/objstore) share: parsing storage URLs (ParseURL),
// choosing a credential (Auth, AuthFromEnv, Connect) and keeping secrets
// out of errors (Error). It sits below both, so that no source imports a
// sink and no sink imports a source; any other package that reaches an
// Azure storage account (a table format's Azure IO, for instance) takes
// its URL and credentials from here too.
//
// # URLs
//
//	https://<account>.blob.core.windows.net/               the account
//	https://<account>.blob.core.windows.net/<container>    a container
//	https://<account>.dfs.core.windows.net/<container>     ADLS Gen2: the same account's blob endpoint
//	abfss://<container>@<account>.dfs.core.windows.net/    the same
//	http://127.0.0.1:10000/devstoreaccount1/<container>    path-style: Azurite, custom endpoints
//
// Any of them may carry a SAS as its query (?sv=...&sig=...), and a
// folder below the container (Location.Prefix).
//
// # Authentication
//
// Connect takes the first of these that applies:
//
//  1. a connection string (Auth.ConnectionString, from
//     AZURE_STORAGE_CONNECTION_STRING): its AccountKey or
//     SharedAccessSignature, used on the URL's endpoint, if it names the
//     URL's account (or names none);
//  2. a shared access signature: the URL's query, else Auth.SASToken
//     (AZURE_STORAGE_SAS_TOKEN);
//  3. the account key (Auth.AccountKey, from AZURE_STORAGE_KEY), with the
//     account name from the URL;
//  4. Microsoft Entra ID through azidentity.NewDefaultAzureCredential:
//     environment service principal (AZURE_CLIENT_ID, AZURE_TENANT_ID,
//     AZURE_CLIENT_SECRET...), workload identity, managed identity, Azure
//     CLI, Azure Developer CLI (or Auth.Credential when given).
//
// Auth.Account (AZURE_STORAGE_ACCOUNT), when set, limits 2's token and 3
// to that account. A connection string or key for another account is
// passed over, not an error, so that a source and a lake in two accounts
// can share one environment: e.g. the export read with a SAS in its URL
// and the lake written with a managed identity.
//
// Why this order: a secret someone set for storage is a deliberate choice
// and wins over the ambient identity of the machine, which
// DefaultAzureCredential would pick up silently (and slowly: it probes
// each kind in turn, the managed identity endpoint included). Among the
// secrets, the connection string comes first because it is the complete
// one, what Azurite and `az storage account show-connection-string` give,
// and checked against the URL's account; a SAS comes before the account
// key because it is the narrower grant, and the one in the URL before the
// one in the environment because it was given for this URL. Entra ID is
// last but is the one to use in production: no secret to rotate, access
// limited by RBAC (Storage Blob Data Reader on the export, Storage Blob
// Data Contributor on the lake). Account.Method names the choice; 401 and
// 403 errors show it.
//
// Requests are retried by the SDK (DefaultRetry: 408, 429, 500, 502, 503
// and 504, exponential backoff from 1s to 30s, Retry-After honoured, 6
// tries).
//
// # Errors
//
// Account.Wrap turns the error of a storage call into an *Error: the
// operation, the account, container and blob, the HTTP status and Azure
// error code, and for 401 and 403 the credential in use. It never holds a
// SAS, a key, a connection string, a URL's query or a response body;
// errors.Is(err, ErrNotFound) tests for a 404. (*Error).Permanent marks a
// 404 or 416 read, which no retry can fix, and (*Error).Unusable a refused
// credential or a missing container, which no retry fixes until someone
// does. ErrBadURL and ErrConnectionString report bad settings.
package azstorage
