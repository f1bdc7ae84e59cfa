package azstorage

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"
)

// Environment variables read by AuthFromEnv (the names the Azure CLI and
// SDKs use).
const (
	EnvConnectionString = "AZURE_STORAGE_CONNECTION_STRING"
	EnvSASToken         = "AZURE_STORAGE_SAS_TOKEN"
	EnvAccountKey       = "AZURE_STORAGE_KEY"
	EnvAccount          = "AZURE_STORAGE_ACCOUNT"
)

// Auth holds the credentials to choose from; Connect takes the first that
// applies, in the order of the fields (see the package doc for why).
type Auth struct {
	// ConnectionString is a storage connection string with AccountName and
	// AccountKey, or SharedAccessSignature, or "UseDevelopmentStorage=true".
	// It applies only to the account it names.
	ConnectionString string
	// SASToken is a shared access signature query (with or without the
	// leading "?"); a SAS in the URL comes first.
	SASToken string
	// AccountKey is a shared key; the account name comes from the URL.
	AccountKey string
	// Account, when set, limits SASToken and AccountKey to that account.
	Account string
	// Credential replaces azidentity.NewDefaultAzureCredential when no
	// secret above applies.
	Credential azcore.TokenCredential
}

// AuthFromEnv reads AZURE_STORAGE_CONNECTION_STRING, AZURE_STORAGE_SAS_TOKEN,
// AZURE_STORAGE_KEY and AZURE_STORAGE_ACCOUNT (which limits the SAS token
// and the key to that account).
func AuthFromEnv() Auth {
	return Auth{
		ConnectionString: os.Getenv(EnvConnectionString),
		SASToken:         os.Getenv(EnvSASToken),
		AccountKey:       os.Getenv(EnvAccountKey),
		Account:          os.Getenv(EnvAccount),
	}
}

// Methods of authentication, as Account.Method reports them.
const (
	MethodConnectionString = "connection string"
	MethodSAS              = "shared access signature"
	MethodAccountKey       = "account key"
	MethodEntraID          = "Microsoft Entra ID (DefaultAzureCredential)"
	MethodToken            = "Microsoft Entra ID (given credential)"
)

// Options tune the HTTP client of an Account.
type Options struct {
	// Retry is the SDK's retry policy for every request. Zero fields take
	// DefaultRetry's; status codes 408, 429, 500, 502, 503 and 504 are
	// retried with exponential backoff, honouring Retry-After.
	Retry policy.RetryOptions
	// Transport replaces the HTTP client (tests).
	Transport policy.Transporter
}

// DefaultRetry is the retry policy used when Options.Retry is zero: up to 6
// tries, 1s doubling to at most 30s between them. TryTimeout stays 0: a
// download stream may take long, and a stalled stream is resumed by the
// retry reader instead.
var DefaultRetry = policy.RetryOptions{MaxRetries: 5, RetryDelay: time.Second, MaxRetryDelay: 30 * time.Second}

// Account is a storage account opened with one credential.
type Account struct {
	loc    Location
	method string
	svc    *service.Client
	red    redactor
}

// Connect opens the account of loc with the first credential of auth that
// applies to it. It sends no request.
func Connect(loc Location, auth Auth, o Options) (*Account, error) {
	if loc.ServiceURL == "" {
		return nil, fmt.Errorf("%w: no service URL", ErrBadURL)
	}
	retry := o.Retry
	if retry.MaxRetries == 0 {
		retry.MaxRetries = DefaultRetry.MaxRetries
	}
	if retry.RetryDelay == 0 {
		retry.RetryDelay = DefaultRetry.RetryDelay
	}
	if retry.MaxRetryDelay == 0 {
		retry.MaxRetryDelay = DefaultRetry.MaxRetryDelay
	}
	opts := &service.ClientOptions{ClientOptions: azcore.ClientOptions{Retry: retry, Transport: o.Transport}}
	a := &Account{loc: loc}
	a.red.add(loc.SAS)
	a.red.add(auth.ConnectionString)
	a.red.add(auth.SASToken)
	a.red.add(auth.AccountKey)
	var cs connString
	if auth.ConnectionString != "" {
		var err error
		if cs, err = parseConnectionString(auth.ConnectionString); err != nil {
			return nil, err
		}
		a.red.add(cs.key)
		a.red.add(cs.sas)
	}
	forAccount := auth.Account == "" || strings.EqualFold(auth.Account, loc.Account)
	var err error
	switch {
	case auth.ConnectionString != "" && (cs.account == "" || strings.EqualFold(cs.account, loc.Account)):
		a.method = MethodConnectionString
		if cs.key != "" {
			var cred *service.SharedKeyCredential
			if cred, err = service.NewSharedKeyCredential(cs.account, cs.key); err == nil {
				a.svc, err = service.NewClientWithSharedKeyCredential(loc.ServiceURL, cred, opts)
			}
		} else {
			a.svc, err = service.NewClientWithNoCredential(loc.ServiceURL+"?"+cs.sas, opts)
		}
	case loc.SAS != "" || (auth.SASToken != "" && forAccount):
		a.method = MethodSAS
		sas := loc.SAS
		if sas == "" {
			sas = strings.TrimPrefix(auth.SASToken, "?")
		}
		a.svc, err = service.NewClientWithNoCredential(loc.ServiceURL+"?"+sas, opts)
	case auth.AccountKey != "" && forAccount:
		a.method = MethodAccountKey
		var cred *service.SharedKeyCredential
		if cred, err = service.NewSharedKeyCredential(loc.Account, auth.AccountKey); err == nil {
			a.svc, err = service.NewClientWithSharedKeyCredential(loc.ServiceURL, cred, opts)
		}
	default:
		cred := auth.Credential
		a.method = MethodToken
		if cred == nil {
			a.method = MethodEntraID
			cred, err = azidentity.NewDefaultAzureCredential(nil)
		}
		if err == nil {
			a.svc, err = service.NewClient(loc.ServiceURL, cred, opts)
		}
	}
	if err != nil {
		return nil, a.wrap("open account", "", "", fmt.Errorf("%s: %w", a.method, err))
	}
	return a, nil
}

// developmentKey is Azurite's well-known key of devstoreaccount1 (public).
const developmentKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

// ErrConnectionString reports a connection string that cannot be used. Its
// message never holds the connection string.
var ErrConnectionString = errors.New("bad storage connection string")

// connString is what Connect uses of a connection string.
type connString struct{ account, key, sas string }

// parseConnectionString reads the account (AccountName, or the account of
// BlobEndpoint) and the key or SAS of a connection string.
func parseConnectionString(s string) (connString, error) {
	kv := map[string]string{}
	for i, part := range strings.Split(strings.TrimSpace(s), ";") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return connString{}, fmt.Errorf("%w: element %d is not key=value", ErrConnectionString, i+1)
		}
		kv[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
	}
	if strings.EqualFold(kv["usedevelopmentstorage"], "true") {
		kv["accountname"], kv["accountkey"] = "devstoreaccount1", developmentKey
	}
	cs := connString{account: kv["accountname"], key: kv["accountkey"], sas: strings.TrimPrefix(kv["sharedaccesssignature"], "?")}
	if cs.account == "" {
		if ep := kv["blobendpoint"]; ep != "" {
			if l, err := ParseURL(ep); err == nil {
				cs.account = l.Account
			}
		}
	}
	switch {
	case cs.key != "" && cs.account == "":
		return connString{}, fmt.Errorf("%w: AccountKey without AccountName", ErrConnectionString)
	case cs.key == "" && cs.sas == "":
		return connString{}, fmt.Errorf("%w: it has neither AccountKey nor SharedAccessSignature", ErrConnectionString)
	}
	return cs, nil
}

// Location returns the parsed URL the account was opened with.
func (a *Account) Location() Location { return a.loc }

// Method names the credential in use (one of the Method constants); it
// is safe to log.
func (a *Account) Method() string { return a.method }

// Service returns the SDK client of the account.
func (a *Account) Service() *service.Client { return a.svc }

// Container returns the SDK client of a container.
func (a *Account) Container(name string) *container.Client { return a.svc.NewContainerClient(name) }

// Wrap returns err as an *Error for operation op on container/blob, with
// every secret the account knows removed from its text. It returns nil
// for nil.
func (a *Account) Wrap(op, container, blob string, err error) error {
	return a.wrap(op, container, blob, err)
}

// sasSignature returns the sig= value of a SAS query, if any.
func sasSignature(q string) string {
	v, err := url.ParseQuery(strings.TrimPrefix(q, "?"))
	if err != nil {
		return ""
	}
	return v.Get("sig")
}
