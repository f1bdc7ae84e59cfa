package azstorage_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/entralake/entralake/internal/azstorage"
)

func TestParseURL(t *testing.T) {
	tests := []struct {
		in   string
		want azstorage.Location
	}{
		{"https://acct.blob.core.windows.net", azstorage.Location{ServiceURL: "https://acct.blob.core.windows.net/", Account: "acct"}},
		{"https://acct.blob.core.windows.net/", azstorage.Location{ServiceURL: "https://acct.blob.core.windows.net/", Account: "acct"}},
		{"https://ACCT.blob.core.windows.net/insights-logs-signinlogs", azstorage.Location{ServiceURL: "https://acct.blob.core.windows.net/", Account: "acct", Container: "insights-logs-signinlogs"}},
		{"https://acct.blob.core.windows.net/lake/entra/v1/", azstorage.Location{ServiceURL: "https://acct.blob.core.windows.net/", Account: "acct", Container: "lake", Prefix: "entra/v1"}},
		{"https://acct.dfs.core.windows.net/lake/entra", azstorage.Location{ServiceURL: "https://acct.blob.core.windows.net/", Account: "acct", Container: "lake", Prefix: "entra"}},
		{"abfss://lake@acct.dfs.core.windows.net/entra", azstorage.Location{ServiceURL: "https://acct.blob.core.windows.net/", Account: "acct", Container: "lake", Prefix: "entra"}},
		{"abfss://lake@acct.dfs.core.chinacloudapi.cn", azstorage.Location{ServiceURL: "https://acct.blob.core.chinacloudapi.cn/", Account: "acct", Container: "lake"}},
		{"http://127.0.0.1:10000/devstoreaccount1", azstorage.Location{ServiceURL: "http://127.0.0.1:10000/devstoreaccount1/", Account: "devstoreaccount1"}},
		{"http://127.0.0.1:10000/devstoreaccount1/lake/x", azstorage.Location{ServiceURL: "http://127.0.0.1:10000/devstoreaccount1/", Account: "devstoreaccount1", Container: "lake", Prefix: "x"}},
		{"https://acct.blob.core.windows.net/c01?sv=2024-11-04&sp=rl&sig=abc%2Bdef%3D", azstorage.Location{ServiceURL: "https://acct.blob.core.windows.net/", Account: "acct", Container: "c01", SAS: "sv=2024-11-04&sp=rl&sig=abc%2Bdef%3D"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := azstorage.ParseURL(tt.in)
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
		_, err := azstorage.ParseURL(in)
		if !errors.Is(err, azstorage.ErrBadURL) {
			t.Fatalf("ParseURL(%q) err=%v, want ErrBadURL", in, err)
		}
		if strings.Contains(err.Error(), "c2VjcmV0") {
			t.Fatalf("error %q holds the secret", err)
		}
	}
}

func TestConnectChoosesCredential(t *testing.T) {
	loc := func(s string) azstorage.Location {
		l, err := azstorage.ParseURL(s)
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
		auth azstorage.Auth
		want string
	}{
		{"connection string first", "https://acct.blob.core.windows.net/lake?sv=1&sig=x", azstorage.Auth{ConnectionString: cs, SASToken: "sv=1&sig=y", AccountKey: key}, azstorage.MethodConnectionString},
		{"connection string of another account is passed over", "https://other.blob.core.windows.net/lake?sv=1&sig=x", azstorage.Auth{ConnectionString: cs}, azstorage.MethodSAS},
		{"development storage", "http://127.0.0.1:10000/devstoreaccount1", azstorage.Auth{ConnectionString: "UseDevelopmentStorage=true"}, azstorage.MethodConnectionString},
		{"SAS in the URL", "https://acct.blob.core.windows.net/lake?sv=1&sig=x", azstorage.Auth{AccountKey: key}, azstorage.MethodSAS},
		{"SAS token", "https://acct.blob.core.windows.net/lake", azstorage.Auth{SASToken: "?sv=1&sig=y", AccountKey: key}, azstorage.MethodSAS},
		{"SAS token of another account", "https://acct.blob.core.windows.net/lake", azstorage.Auth{SASToken: "?sv=1&sig=y", Account: "other"}, azstorage.MethodEntraID},
		{"account key", "https://acct.blob.core.windows.net/lake", azstorage.Auth{AccountKey: key, Account: "ACCT"}, azstorage.MethodAccountKey},
		{"Entra ID", "https://acct.blob.core.windows.net/lake", azstorage.Auth{}, azstorage.MethodEntraID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := azstorage.Connect(loc(tt.url), tt.auth, azstorage.Options{})
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
	loc, err := azstorage.ParseURL("https://acct.blob.core.windows.net/lake")
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
		_, err := azstorage.Connect(loc, azstorage.Auth{ConnectionString: cs}, azstorage.Options{})
		if err == nil {
			t.Fatalf("Connect with a bad connection string: no error")
		}
		if strings.Contains(err.Error(), secret[:12]) {
			t.Fatalf("error %q holds the secret", err)
		}
	}
}
