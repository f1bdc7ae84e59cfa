package iceberg

// This file is the package's only use of internal/azstorage (URL parsing and
// the credential chain the Azure source and lakes share).

import (
	"fmt"
	"strings"

	iceio "github.com/apache/iceberg-go/io"
	_ "github.com/apache/iceberg-go/io/gocloud/azure" // abfs, abfss, wasb, wasbs
	"github.com/entralake/entralake/internal/azstorage"
)

// AzureAuth holds the Azure credentials to choose from, in the order
// azstorage.Connect takes them (connection string, SAS, account
// key, then Microsoft Entra ID through DefaultAzureCredential).
type AzureAuth = azstorage.Auth

// AzureAuthFromEnv reads AZURE_STORAGE_CONNECTION_STRING,
// AZURE_STORAGE_SAS_TOKEN, AZURE_STORAGE_KEY and AZURE_STORAGE_ACCOUNT.
func AzureAuthFromEnv() AzureAuth { return azstorage.AuthFromEnv() }

// azureStore maps an Azure lake URL to its Iceberg location (abfss:// for
// https endpoints, abfs:// for http ones) and to iceberg-go's adls.*
// properties for the credential azstorage's chain picks.
func azureStore(loc azstorage.Location, auth *AzureAuth) (store, error) {
	a := azstorage.AuthFromEnv()
	if auth != nil {
		a = *auth
	}
	if a.Credential != nil {
		return store{}, fmt.Errorf("%w: iceberg tables on Azure cannot use a given token credential; use DefaultAzureCredential or a storage secret", ErrConfig)
	}
	// Connect sends no request: it only picks the credential, and gives
	// the scrubber that keeps secrets out of errors.
	acct, err := azstorage.Connect(loc, a, azstorage.Options{})
	if err != nil {
		return store{}, err
	}
	scheme, host, _ := strings.Cut(loc.ServiceURL, "://")
	host = strings.TrimSuffix(host, "/")
	props := map[string]string{}
	var dfsHost string
	if first, rest, ok := strings.Cut(host, "."); ok && strings.HasPrefix(rest, "blob.") {
		// <account>.blob.<suffix>: the same account's dfs host names it.
		dfsHost = first + ".dfs." + strings.TrimPrefix(rest, "blob.")
		if rest != "blob.core.windows.net" {
			props[iceio.ADLSEndpoint] = rest
		}
	} else {
		// Path-style (Azurite): http://127.0.0.1:10000/<account>/. iceberg-go
		// (through gocloud) builds path-style URLs only for these hosts.
		hostPort, _, _ := strings.Cut(host, "/")
		if !strings.HasPrefix(hostPort, "127.0.0.1") && !strings.HasPrefix(hostPort, "localhost") {
			return store{}, fmt.Errorf("%w: lake %s: path-style Azure endpoints are supported only on 127.0.0.1 or localhost", ErrConfig, loc)
		}
		dfsHost = loc.Account + ".dfs.core.windows.net"
		props[iceio.ADLSEndpoint] = hostPort
	}
	props[iceio.ADLSProtocol] = scheme
	iceScheme := "abfss"
	if scheme == "http" {
		iceScheme = "abfs"
	}
	switch acct.Method() {
	case azstorage.MethodConnectionString:
		props[iceio.ADLSConnectionStringPrefix+loc.Account] = a.ConnectionString
	case azstorage.MethodSAS:
		sas := loc.SAS
		if sas == "" {
			sas = strings.TrimPrefix(a.SASToken, "?")
		}
		props[iceio.ADLSSasTokenPrefix+dfsHost] = sas
	case azstorage.MethodAccountKey:
		props[iceio.ADLSSharedKeyAccountName] = loc.Account
		props[iceio.ADLSSharedKeyAccountKey] = a.AccountKey
	}
	root := iceScheme + "://" + loc.Container + "@" + dfsHost
	if loc.Prefix != "" {
		root += "/" + loc.Prefix
	}
	return store{
		root:   root,
		props:  props,
		remote: true,
		name:   loc.String(),
		scrub: func(op string, err error) error {
			return acct.Wrap(op, loc.Container, "", err)
		},
	}, nil
}
