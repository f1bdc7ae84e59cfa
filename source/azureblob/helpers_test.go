package azureblob_test

import (
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/entralake/entralake/internal/azstorage"
	"github.com/entralake/entralake/internal/azurite"
	"github.com/entralake/entralake/source/azureblob"
	"github.com/entralake/entralake/stages/lister"
	"github.com/entralake/entralake/stages/parser"
)

// Compile-time checks: a Source is what the lister and the parsers use.
var (
	_ lister.Source     = (*azureblob.Source)(nil)
	_ parser.BlobReader = (*azureblob.Source)(nil)
)

// fastRetry keeps failing tests quick.
var fastRetry = azstorage.Options{Retry: policy.RetryOptions{MaxRetries: 2, RetryDelay: 10 * time.Millisecond, MaxRetryDelay: 50 * time.Millisecond}}

// account is an Azurite account: the server, and the auth a Source uses.
type account struct {
	srv  *azurite.Server
	auth azstorage.Auth
}

func startAccount(t testing.TB) *account {
	t.Helper()
	srv := azurite.Start(t)
	return &account{srv: srv, auth: azstorage.Auth{ConnectionString: srv.ConnectionString}}
}

// open opens a Source on url (relative to the account's endpoint).
func (a *account) open(t testing.TB, path string, only ...string) *azureblob.Source {
	t.Helper()
	src, err := azureblob.Open(azureblob.Config{URL: a.srv.URL(path), Auth: a.auth, Containers: only, Options: fastRetry})
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// container returns a client of container name, created if missing.
func (a *account) container(t testing.TB, name string) *container.Client {
	t.Helper()
	return a.srv.Container(t, name)
}
