// Package location classifies the values of --source and --lake: a folder
// on this machine, or the URL of a storage service entralake reads and
// writes. It is the one place that decides what a value names, so that a
// URL with a scheme entralake does not support (wasb://, file://) or a
// malformed one is refused before anything is created, instead of being
// taken for a local folder named "s3:".
//
// A new kind of storage is a new Kind, its schemes in the schemes table,
// its forms in Forms, and a case in Parse.
package location

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/entralake/entralake/internal/azstorage"
)

// Kind is the kind of storage a location is on.
type Kind int

const (
	// Local is a folder on this machine.
	Local Kind = iota
	// Azure is Azure Blob Storage or ADLS Gen2 (through its blob endpoint),
	// or an emulator of it (Azurite).
	Azure
	// S3 is Amazon S3 or an S3-compatible service (a lake only).
	S3
	// GCS is Google Cloud Storage (a lake only).
	GCS
)

// String names the kind for messages.
func (k Kind) String() string {
	switch k {
	case Local:
		return "local folder"
	case Azure:
		return "Azure Blob Storage"
	case S3:
		return "S3"
	case GCS:
		return "Google Cloud Storage"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Role is what a location is used for: some forms serve one role only.
type Role int

const (
	// Source is an export to read (--source).
	Source Role = iota
	// Lake is where the tables are written (--lake).
	Lake
)

// ErrUnsupported reports a URL whose scheme entralake does not read or write.
var ErrUnsupported = errors.New("unsupported location")

// ErrBadURL reports a URL of a supported scheme that cannot be used; it is
// internal/azstorage's, so that errors.Is works across both.
var ErrBadURL = azstorage.ErrBadURL

// schemes maps each supported URL scheme (lower case) to its kind.
var schemes = map[string]Kind{
	"https": Azure,
	"http":  Azure,
	"abfss": Azure,
	"abfs":  Azure,
	// azblob is gocloud.dev's form: the container in the host, the
	// account from the environment (azblobURL).
	"azblob": Azure,
	"s3":     S3,
	"gs":     GCS,
}

// S3Params are the query parameters an s3:// lake URL may carry (those of
// gocloud.dev's s3blob opener and of its AWS configuration): they choose
// the region, an endpoint, path-style addressing, encryption and the
// credentials' profile or role, never a secret.
var S3Params = []string{
	"region", "endpoint", "use_path_style", "s3ForcePathStyle", "disable_https", "dualstack", "fips",
	"hostname_immutable", "accelerate", "ssetype", "kmskeyid", "profile", "anonymous",
	"role", "role_session_name", "role_external_id", "role_duration", "web_identity_token_file",
	"rate_limiter_capacity", "request_checksum_calculation", "response_checksum_validation",
}

// Forms lists the accepted forms of a role's value, for help and errors.
func Forms(r Role) []string {
	if r == Source {
		return []string{
			"a local folder laid out as <container>/<blob path>",
			"https://<account>.blob.core.windows.net[/<container>]",
			"https://<account>.dfs.core.windows.net[/<container>]",
			"abfss://<container>@<account>.dfs.core.windows.net",
			"http://<host>:<port>/<account>[/<container>] (Azurite)",
			"azblob://<container> (account from AZURE_STORAGE_ACCOUNT)",
		}
	}
	return []string{
		"a local folder",
		"https://<account>.blob.core.windows.net/<container>[/<folder>]",
		"https://<account>.dfs.core.windows.net/<container>[/<folder>]",
		"abfss://<container>@<account>.dfs.core.windows.net[/<folder>]",
		"http://<host>:<port>/<account>/<container>[/<folder>] (Azurite)",
		"azblob://<container>[/<folder>] (account from AZURE_STORAGE_ACCOUNT or ?storage_account=)",
		"s3://<bucket>[/<folder>][?region=<region>&endpoint=<URL>&use_path_style=true]",
		"gs://<bucket>[/<folder>]",
	}
}

// Location is a classified --source or --lake value.
type Location struct {
	// Kind is the kind of storage.
	Kind Kind
	// Path is the folder of a Local location, as given.
	Path string
	// URL is the value of a URL location, as given (its query may hold a
	// SAS: log String instead).
	URL string
	// Azure is the parsed URL of an Azure location.
	Azure azstorage.Location
	// Bucket and Prefix are the bucket and the folder ("" or ending in
	// "/") of an S3 or GCS location; Query its query parameters (S3Params).
	Bucket, Prefix string
	Query          url.Values
}

// String returns the location fit for logs and ids: a URL without its
// query, which may be a secret.
func (l Location) String() string {
	switch l.Kind {
	case Azure:
		return l.Azure.String()
	case S3, GCS:
		scheme := "s3"
		if l.Kind == GCS {
			scheme = "gs"
		}
		return scheme + "://" + l.Bucket + "/" + l.Prefix
	}
	return l.Path
}

// schemeRE matches what makes a value look like a URL rather than a path:
// a scheme of two characters or more (one letter followed by ":" is a
// Windows drive), a colon and a slash. "s3://bucket", "https:/host" (one
// slash, a typo) and "gs:/b" all look like URLs; "./s3:x" and "C:/x" do not.
var schemeRE = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9+.-]+):/`)

// Scheme returns the URL scheme of s in lower case, or "" when s does not
// look like a URL (and so names a local folder).
func Scheme(s string) string {
	m := schemeRE.FindStringSubmatch(s)
	if m == nil {
		return ""
	}
	return strings.ToLower(m[1])
}

// Parse classifies s as a value of role r. A value that does not look like
// a URL is a local folder; a URL must have a supported scheme and be well
// formed for its role. Errors never hold a URL's query, and say which
// forms are accepted.
func Parse(r Role, s string) (Location, error) {
	if s == "" {
		return Location{}, errors.New("empty location")
	}
	scheme := Scheme(s)
	if scheme == "" {
		return Location{Kind: Local, Path: s}, nil
	}
	kind, ok := schemes[scheme]
	if !ok {
		return Location{}, fmt.Errorf("%w %s: scheme %s:// is not supported; use %s",
			ErrUnsupported, stripQuery(s), scheme, strings.Join(Forms(r), ", or "))
	}
	if !strings.HasPrefix(s[len(scheme)+1:], "//") {
		return Location{}, fmt.Errorf("%w %s: want %s://...; use %s", ErrBadURL, stripQuery(s), scheme, strings.Join(Forms(r), ", or "))
	}
	switch kind {
	case Azure:
		if scheme == "azblob" {
			var err error
			if s, err = azblobURL(s); err != nil {
				return Location{}, err
			}
		}
		loc, err := azstorage.ParseURL(s)
		if err != nil {
			return Location{}, err
		}
		switch {
		case r == Source && loc.Prefix != "":
			return Location{}, fmt.Errorf("%w %s: a source URL names an account or a container, not a folder inside one", ErrBadURL, loc)
		case r == Lake && loc.Container == "":
			return Location{}, fmt.Errorf("%w %s: a lake URL names a container: <account URL>/<container>[/<folder>]", ErrBadURL, loc)
		}
		return Location{Kind: Azure, URL: s, Azure: loc}, nil
	case S3, GCS:
		if r == Source {
			return Location{}, fmt.Errorf("%w %s: %s:// is for --lake only; use %s",
				ErrUnsupported, stripQuery(s), scheme, strings.Join(Forms(r), ", or "))
		}
		return parseBucketURL(kind, scheme, s)
	}
	return Location{}, fmt.Errorf("%w %s", ErrUnsupported, stripQuery(s))
}

// azblobURL turns gocloud.dev's azblob://<container>[/<folder>] into the
// Azure URL it names, with gocloud's rules: the account is the
// storage_account query parameter or AZURE_STORAGE_ACCOUNT, the domain
// (domain, AZURE_STORAGE_DOMAIN; blob.core.windows.net by default) and the
// protocol (protocol, AZURE_STORAGE_PROTOCOL; https) likewise, and a local
// emulator (localemu=true, AZURE_STORAGE_IS_LOCAL_EMULATOR, or a domain
// on localhost or 127.0.0.1) puts the account in the path. The
// credentials stay those of the Azure URL forms (internal/azstorage).
func azblobURL(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("%w %s: %v", ErrBadURL, stripQuery(s), errors.Unwrap(err))
	}
	if u.Host == "" || u.User != nil || u.Port() != "" || u.Fragment != "" {
		return "", fmt.Errorf("%w %s: want azblob://<container>[/<folder>]", ErrBadURL, stripQuery(s))
	}
	account, domain, protocol := os.Getenv("AZURE_STORAGE_ACCOUNT"), os.Getenv("AZURE_STORAGE_DOMAIN"), os.Getenv("AZURE_STORAGE_PROTOCOL")
	emulator, _ := strconv.ParseBool(os.Getenv("AZURE_STORAGE_IS_LOCAL_EMULATOR"))
	for k, v := range u.Query() {
		switch k {
		case "storage_account":
			account = v[0]
		case "domain":
			domain = v[0]
		case "protocol":
			protocol = v[0]
		case "localemu":
			if emulator, err = strconv.ParseBool(v[0]); err != nil {
				return "", fmt.Errorf("%w %s: localemu=%q is not true or false", ErrBadURL, stripQuery(s), v[0])
			}
		default:
			return "", fmt.Errorf("%w %s: unknown query parameter %q (accepted: storage_account, domain, protocol, localemu; a SAS goes in AZURE_STORAGE_SAS_TOKEN)", ErrBadURL, stripQuery(s), k)
		}
	}
	switch {
	case account == "":
		return "", fmt.Errorf("%w %s: no storage account: set AZURE_STORAGE_ACCOUNT or ?storage_account=, or give https://<account>.blob.core.windows.net/<container>", ErrBadURL, stripQuery(s))
	case protocol == "":
		protocol = "https"
	case protocol != "http" && protocol != "https":
		return "", fmt.Errorf("%w %s: protocol %q is not http or https", ErrBadURL, stripQuery(s), protocol)
	}
	if domain == "" {
		domain = "blob.core.windows.net"
	}
	path := "/" + u.Host + strings.TrimSuffix(u.EscapedPath(), "/")
	if emulator || strings.HasPrefix(domain, "127.0.0.1") || strings.HasPrefix(domain, "localhost") {
		return protocol + "://" + domain + "/" + account + path, nil
	}
	return protocol + "://" + account + "." + domain + path, nil
}

// bucketRE matches the bucket names S3 and GCS accept (lower case, digits,
// '.', '-', '_' for GCS), 3 to 222 characters.
var bucketRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$`)

// parseBucketURL parses an s3:// or gs:// lake URL: the host is the
// bucket, the path the lake's folder inside it.
func parseBucketURL(kind Kind, scheme, s string) (Location, error) {
	u, err := url.Parse(s)
	if err != nil {
		return Location{}, fmt.Errorf("%w %s: %v", ErrBadURL, stripQuery(s), errors.Unwrap(err))
	}
	form := Forms(Lake)[len(Forms(Lake))-2]
	if kind == GCS {
		form = Forms(Lake)[len(Forms(Lake))-1]
	}
	switch {
	case u.Host == "":
		return Location{}, fmt.Errorf("%w %s: no bucket; want %s", ErrBadURL, stripQuery(s), form)
	case u.User != nil || u.Port() != "":
		return Location{}, fmt.Errorf("%w %s: want %s (an endpoint goes in ?endpoint=)", ErrBadURL, stripQuery(s), form)
	case !bucketRE.MatchString(u.Host):
		return Location{}, fmt.Errorf("%w %s: %q is not a bucket name (3 to 222 lower-case letters, digits, '.', '-')", ErrBadURL, stripQuery(s), u.Host)
	case u.Fragment != "":
		return Location{}, fmt.Errorf("%w %s: a lake URL has no #fragment", ErrBadURL, stripQuery(s))
	}
	prefix := strings.Trim(u.Path, "/")
	if prefix != "" {
		if err := checkFolder(prefix); err != nil {
			return Location{}, fmt.Errorf("%w %s: %v", ErrBadURL, stripQuery(s), err)
		}
		prefix += "/"
	}
	q := u.Query()
	for k := range q {
		if kind == GCS || !slices.Contains(S3Params, k) {
			allowed := "none"
			if kind == S3 {
				allowed = strings.Join(S3Params, ", ")
			}
			return Location{}, fmt.Errorf("%w %s: unknown query parameter %q (accepted: %s)", ErrBadURL, stripQuery(s), k, allowed)
		}
	}
	return Location{Kind: kind, URL: s, Bucket: u.Host, Prefix: prefix, Query: q}, nil
}

// checkFolder accepts a clean relative folder: no empty, "." or ".."
// segment.
func checkFolder(p string) error {
	for _, seg := range strings.Split(p, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("folder %q has an empty, \".\" or \"..\" segment", p)
		}
	}
	return nil
}

// stripQuery drops a URL's query, which may be a secret.
func stripQuery(s string) string {
	s, _, _ = strings.Cut(s, "?")
	return s
}
