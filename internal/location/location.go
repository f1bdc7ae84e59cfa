// Package location classifies the values of --source and --lake: a folder
// on this machine, or the URL of a storage service entralake reads and
// writes. It is the one place that decides what a value names, so that a
// URL with a scheme entralake does not support (s3://, gs://) or a
// malformed one is refused before anything is created, instead of being
// taken for a local folder named "s3:".
//
// A new kind of storage is a new Kind, its schemes in the schemes table,
// its forms in Forms, and a case in Parse.
package location

import (
	"errors"
	"fmt"
	"regexp"
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
)

// String names the kind for messages.
func (k Kind) String() string {
	switch k {
	case Local:
		return "local folder"
	case Azure:
		return "Azure Blob Storage"
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
		}
	}
	return []string{
		"a local folder",
		"https://<account>.blob.core.windows.net/<container>[/<folder>]",
		"https://<account>.dfs.core.windows.net/<container>[/<folder>]",
		"abfss://<container>@<account>.dfs.core.windows.net[/<folder>]",
		"http://<host>:<port>/<account>/<container>[/<folder>] (Azurite)",
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
}

// String returns the location fit for logs and ids: a URL without its
// query, which may be a secret.
func (l Location) String() string {
	if l.Kind == Azure {
		return l.Azure.String()
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
	}
	return Location{}, fmt.Errorf("%w %s", ErrUnsupported, stripQuery(s))
}

// stripQuery drops a URL's query, which may be a secret.
func stripQuery(s string) string {
	s, _, _ = strings.Cut(s, "?")
	return s
}
