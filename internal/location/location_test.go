package location_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/entralake/entralake/internal/location"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		role location.Role
		in   string
		kind location.Kind
		str  string
	}{
		{location.Lake, "./lake", location.Local, "./lake"},
		{location.Lake, "/srv/lake", location.Local, "/srv/lake"},
		{location.Lake, "lake", location.Local, "lake"},
		{location.Lake, "C:/lake", location.Local, "C:/lake"}, // a Windows drive, not a scheme
		{location.Lake, "./s3://x", location.Local, "./s3://x"},
		{location.Source, "export", location.Local, "export"},
		{location.Lake, "https://acct.blob.core.windows.net/lake/entra?sv=1&sig=c2VjcmV0", location.Azure, "https://acct.blob.core.windows.net/lake/entra"},
		{location.Lake, "abfss://lake@acct.dfs.core.windows.net/x", location.Azure, "https://acct.blob.core.windows.net/lake/x"},
		{location.Lake, "HTTP://127.0.0.1:10000/devstoreaccount1/lake", location.Azure, "http://127.0.0.1:10000/devstoreaccount1/lake"},
		{location.Source, "https://acct.blob.core.windows.net", location.Azure, "https://acct.blob.core.windows.net/"},
		{location.Source, "https://acct.blob.core.windows.net/insights-logs-signinlogs", location.Azure, "https://acct.blob.core.windows.net/insights-logs-signinlogs"},
		{location.Lake, "s3://bucket", location.S3, "s3://bucket/"},
		{location.Lake, "s3://my.bucket/entra/lake/?region=eu-west-1&endpoint=http://127.0.0.1:9000&use_path_style=true", location.S3, "s3://my.bucket/entra/lake/"},
		{location.Lake, "gs://bucket/entra", location.GCS, "gs://bucket/entra/"},
	} {
		loc, err := location.Parse(tc.role, tc.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.in, err)
			continue
		}
		if loc.Kind != tc.kind || loc.String() != tc.str {
			t.Errorf("Parse(%q) = %v %q, want %v %q", tc.in, loc.Kind, loc.String(), tc.kind, tc.str)
		}
	}
}

func TestParseRefuses(t *testing.T) {
	for _, tc := range []struct {
		role location.Role
		in   string
		is   error
		want string // in the message
	}{
		{location.Lake, "wasb://bucket/lake", location.ErrUnsupported, "scheme wasb:// is not supported; use a local folder, or https://<account>.blob.core.windows.net/<container>"},
		{location.Source, "gs://bucket/export", location.ErrUnsupported, "gs:// is for --lake only; use a local folder laid out as <container>/<blob path>"},
		{location.Source, "s3://bucket/export", location.ErrUnsupported, "s3:// is for --lake only"},
		{location.Lake, "s3://", location.ErrBadURL, "no bucket"},
		{location.Lake, "s3:///lake", location.ErrBadURL, "no bucket"},
		{location.Lake, "s3://Bad_Bucket/lake", location.ErrBadURL, "not a bucket name"},
		{location.Lake, "s3://bucket:9000/lake", location.ErrBadURL, "?endpoint="},
		{location.Lake, "s3://bucket/a//b", location.ErrBadURL, "empty"},
		{location.Lake, "s3://bucket/../b", location.ErrBadURL, ".."},
		{location.Lake, "s3://bucket/lake?regoin=x", location.ErrBadURL, `unknown query parameter "regoin"`},
		{location.Lake, "s3://bucket/lake?prefix=x/", location.ErrBadURL, `unknown query parameter "prefix"`},
		{location.Lake, "gs://bucket/lake?region=x", location.ErrBadURL, "accepted: none"},
		{location.Lake, "wasb://lake@acct.blob.core.windows.net", location.ErrUnsupported, "wasb://"},
		{location.Lake, "file:///srv/lake", location.ErrUnsupported, "file://"},
		{location.Lake, "S3://bucket?sig=c2VjcmV0", location.ErrBadURL, "S3://bucket"},
		{location.Lake, "ftp://host/x?sig=c2VjcmV0", location.ErrUnsupported, "ftp://"},
		{location.Lake, "https:/acct.blob.core.windows.net/lake", location.ErrBadURL, "want https://"},
		{location.Lake, "https://", location.ErrBadURL, "no host"},
		{location.Lake, "https://acct.blob.core.windows.net", location.ErrBadURL, "a lake URL names a container"},
		{location.Source, "https://acct.blob.core.windows.net/cont/folder", location.ErrBadURL, "not a folder inside one"},
		{location.Lake, "https://acct.blob.core.windows.net/Bad_Name", location.ErrBadURL, "not a container name"},
		{location.Lake, "", nil, "empty"},
	} {
		_, err := location.Parse(tc.role, tc.in)
		if err == nil {
			t.Errorf("Parse(%q) accepted it", tc.in)
			continue
		}
		if tc.is != nil && !errors.Is(err, tc.is) {
			t.Errorf("Parse(%q) = %v, want %v", tc.in, err, tc.is)
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q) = %q, want it to say %q", tc.in, err, tc.want)
		}
		if strings.Contains(err.Error(), "c2VjcmV0") {
			t.Errorf("Parse(%q): error %q holds the query", tc.in, err)
		}
	}
}

// TestParseAzblob: gocloud.dev's azblob:// form names the Azure URL that
// gocloud's own opener would, with the account from the environment.
func TestParseAzblob(t *testing.T) {
	for _, env := range []string{"AZURE_STORAGE_DOMAIN", "AZURE_STORAGE_PROTOCOL", "AZURE_STORAGE_IS_LOCAL_EMULATOR"} {
		t.Setenv(env, "")
	}
	t.Setenv("AZURE_STORAGE_ACCOUNT", "")
	if _, err := location.Parse(location.Lake, "azblob://lake"); !errors.Is(err, location.ErrBadURL) || !strings.Contains(err.Error(), "AZURE_STORAGE_ACCOUNT") {
		t.Errorf("azblob:// without an account: %v, want ErrBadURL naming AZURE_STORAGE_ACCOUNT", err)
	}
	t.Setenv("AZURE_STORAGE_ACCOUNT", "acct")
	for _, tc := range []struct{ in, want string }{
		{"azblob://lake", "https://acct.blob.core.windows.net/lake"},
		{"azblob://lake/entra/audit/", "https://acct.blob.core.windows.net/lake/entra/audit"},
		{"azblob://lake?storage_account=other", "https://other.blob.core.windows.net/lake"},
		{"azblob://lake/x?domain=127.0.0.1:10000&protocol=http&storage_account=devstoreaccount1", "http://127.0.0.1:10000/devstoreaccount1/lake/x"},
		{"azblob://lake?domain=azurite:10000&protocol=http&localemu=true", "http://azurite:10000/acct/lake"},
	} {
		loc, err := location.Parse(location.Lake, tc.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.in, err)
			continue
		}
		if loc.Kind != location.Azure || loc.String() != tc.want {
			t.Errorf("Parse(%q) = %v %q, want Azure %q", tc.in, loc.Kind, loc.String(), tc.want)
		}
	}
	t.Setenv("AZURE_STORAGE_DOMAIN", "localhost:10000")
	t.Setenv("AZURE_STORAGE_PROTOCOL", "http")
	if loc, err := location.Parse(location.Lake, "azblob://lake"); err != nil || loc.String() != "http://localhost:10000/acct/lake" {
		t.Errorf("azblob:// with the emulator's domain in the environment: %v %q", err, loc.String())
	}
	for _, bad := range []string{"azblob://lake?sig=c2VjcmV0", "azblob://lake?protocol=ftp", "azblob://lake?localemu=maybe", "azblob://", "azblob://lake:99/x"} {
		if _, err := location.Parse(location.Lake, bad); !errors.Is(err, location.ErrBadURL) || strings.Contains(err.Error(), "c2VjcmV0") {
			t.Errorf("Parse(%q) = %v, want ErrBadURL without the query", bad, err)
		}
	}
}
