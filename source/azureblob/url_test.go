package azureblob_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/entralake/entralake/source/azureblob"
)

func TestParseURL(t *testing.T) {
	tests := []struct {
		in   string
		want azureblob.Location
	}{
		{"https://acct.blob.core.windows.net", azureblob.Location{ServiceURL: "https://acct.blob.core.windows.net/", Account: "acct"}},
		{"https://acct.blob.core.windows.net/", azureblob.Location{ServiceURL: "https://acct.blob.core.windows.net/", Account: "acct"}},
		{"https://ACCT.blob.core.windows.net/insights-logs-signinlogs", azureblob.Location{ServiceURL: "https://acct.blob.core.windows.net/", Account: "acct", Container: "insights-logs-signinlogs"}},
		{"https://acct.blob.core.windows.net/lake/entra/v1/", azureblob.Location{ServiceURL: "https://acct.blob.core.windows.net/", Account: "acct", Container: "lake", Prefix: "entra/v1"}},
		{"https://acct.dfs.core.windows.net/lake/entra", azureblob.Location{ServiceURL: "https://acct.blob.core.windows.net/", Account: "acct", Container: "lake", Prefix: "entra"}},
		{"abfss://lake@acct.dfs.core.windows.net/entra", azureblob.Location{ServiceURL: "https://acct.blob.core.windows.net/", Account: "acct", Container: "lake", Prefix: "entra"}},
		{"abfss://lake@acct.dfs.core.chinacloudapi.cn", azureblob.Location{ServiceURL: "https://acct.blob.core.chinacloudapi.cn/", Account: "acct", Container: "lake"}},
		{"http://127.0.0.1:10000/devstoreaccount1", azureblob.Location{ServiceURL: "http://127.0.0.1:10000/devstoreaccount1/", Account: "devstoreaccount1"}},
		{"http://127.0.0.1:10000/devstoreaccount1/lake/x", azureblob.Location{ServiceURL: "http://127.0.0.1:10000/devstoreaccount1/", Account: "devstoreaccount1", Container: "lake", Prefix: "x"}},
		{"https://acct.blob.core.windows.net/c01?sv=2024-11-04&sp=rl&sig=abc%2Bdef%3D", azureblob.Location{ServiceURL: "https://acct.blob.core.windows.net/", Account: "acct", Container: "c01", SAS: "sv=2024-11-04&sp=rl&sig=abc%2Bdef%3D"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := azureblob.ParseURL(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("ParseURL=%+v, want %+v", got, tt.want)
			}
			if s := got.String(); strings.Contains(s, "sig=") {
				t.Fatalf("String()=%q holds the SAS", s)
			}
		})
	}
}

func TestParseURLErrorsHideSecrets(t *testing.T) {
	const sig = "c2VjcmV0LXNpZ25hdHVyZQ%3D%3D"
	for _, in := range []string{
		"https://acct.blob.core.windows.net/BadName?sv=1&sig=" + sig,
		"https://ac ct.blob.core.windows.net/lake?sv=1&sig=" + sig,
		"ftp://acct.blob.core.windows.net/lake?sv=1&sig=" + sig,
		"https://acct.blob.core.windows.net/lake?token=" + sig,
		"https://user:" + sig + "@acct.blob.core.windows.net/lake",
		"http://127.0.0.1:10000?sig=" + sig,
	} {
		_, err := azureblob.ParseURL(in)
		if !errors.Is(err, azureblob.ErrBadURL) {
			t.Fatalf("ParseURL(%q) err=%v, want ErrBadURL", in, err)
		}
		if strings.Contains(err.Error(), "c2VjcmV0") {
			t.Fatalf("error %q holds the secret", err)
		}
	}
}

func TestConnectChoosesCredential(t *testing.T) {
	loc := func(s string) azureblob.Location {
		l, err := azureblob.ParseURL(s)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	const key = "a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5"
	cs := "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=" + key + ";EndpointSuffix=core.windows.net"
	tests := []struct {
		name string
		url  string
		auth azureblob.Auth
		want string
	}{
		{"connection string first", "https://acct.blob.core.windows.net/lake?sv=1&sig=x", azureblob.Auth{ConnectionString: cs, SASToken: "sv=1&sig=y", AccountKey: key}, azureblob.MethodConnectionString},
		{"connection string of another account is passed over", "https://other.blob.core.windows.net/lake?sv=1&sig=x", azureblob.Auth{ConnectionString: cs}, azureblob.MethodSAS},
		{"development storage", "http://127.0.0.1:10000/devstoreaccount1", azureblob.Auth{ConnectionString: "UseDevelopmentStorage=true"}, azureblob.MethodConnectionString},
		{"SAS in the URL", "https://acct.blob.core.windows.net/lake?sv=1&sig=x", azureblob.Auth{AccountKey: key}, azureblob.MethodSAS},
		{"SAS token", "https://acct.blob.core.windows.net/lake", azureblob.Auth{SASToken: "?sv=1&sig=y", AccountKey: key}, azureblob.MethodSAS},
		{"SAS token of another account", "https://acct.blob.core.windows.net/lake", azureblob.Auth{SASToken: "?sv=1&sig=y", Account: "other"}, azureblob.MethodEntraID},
		{"account key", "https://acct.blob.core.windows.net/lake", azureblob.Auth{AccountKey: key, Account: "ACCT"}, azureblob.MethodAccountKey},
		{"Entra ID", "https://acct.blob.core.windows.net/lake", azureblob.Auth{}, azureblob.MethodEntraID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := azureblob.Connect(loc(tt.url), tt.auth, azureblob.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got := a.Method(); got != tt.want {
				t.Fatalf("Method=%q, want %q", got, tt.want)
			}
		})
	}
}

func TestConnectionStringErrorsHideSecrets(t *testing.T) {
	loc, err := azureblob.ParseURL("https://acct.blob.core.windows.net/lake")
	if err != nil {
		t.Fatal(err)
	}
	const secret = "c2VjcmV0c2VjcmV0c2VjcmV0"
	for _, cs := range []string{
		"AccountName=acct;AccountKey=" + secret + ";Garbage" + secret,
		"AccountKey=" + secret,
		"AccountName=acct;AccountKey=not base64 " + secret,
		"BlobEndpoint=https://acct.blob.core.windows.net/;Foo=" + secret,
	} {
		_, err := azureblob.Connect(loc, azureblob.Auth{ConnectionString: cs}, azureblob.Options{})
		if err == nil {
			t.Fatalf("Connect with a bad connection string: no error")
		}
		if strings.Contains(err.Error(), secret[:12]) {
			t.Fatalf("error %q holds the secret", err)
		}
	}
}
