package azstorage

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// ErrBadURL reports a storage URL that cannot be used. Its message never
// holds the URL's query.
var ErrBadURL = errors.New("bad storage URL")

// Location is a parsed storage URL.
type Location struct {
	// ServiceURL is the blob service endpoint, ending in "/", without a
	// query: https://<account>.blob.core.windows.net/, or path-style (Azurite,
	// custom endpoints) http://127.0.0.1:10000/devstoreaccount1/.
	ServiceURL string
	// Account is the storage account name.
	Account string
	// Container is the container named by the URL; empty for the account root.
	Container string
	// Prefix is the rest of the path, without leading or trailing "/".
	Prefix string
	// SAS is the URL's query when it is a shared access signature (it has
	// sig=). It is a secret: String leaves it out.
	SAS string
}

// String returns the URL without its query: safe to log, and stable, so
// it serves as a source id.
func (l Location) String() string {
	s := l.ServiceURL
	if l.Container != "" {
		s += l.Container
		if l.Prefix != "" {
			s += "/" + l.Prefix
		}
	}
	return s
}

// containerRE matches container names (plus the special $root and $logs).
var containerRE = regexp.MustCompile(`^(?:[a-z0-9](?:[a-z0-9]|-[a-z0-9]){2,62}|\$root|\$logs)$`)

// ParseURL parses the URL of an account, a container or a folder in a
// container:
//
//	https://<account>.blob.core.windows.net[/<container>[/<prefix>]][?<SAS>]
//	https://<account>.dfs.core.windows.net[/<container>[/<prefix>]]   (ADLS Gen2, mapped to the blob endpoint)
//	abfss://<container>@<account>.dfs.core.windows.net[/<prefix>]     (same)
//	http://127.0.0.1:10000/<account>[/<container>[/<prefix>]]         (path-style: Azurite, custom endpoints)
//
// A host whose first label is followed by ".blob." or ".dfs." names the
// account (any cloud's suffix works); any other host is path-style.
func ParseURL(raw string) (Location, error) {
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return Location{}, fmt.Errorf("%w %s: %v", ErrBadURL, stripQuery(raw), err)
	}
	if u.Host == "" {
		return Location{}, fmt.Errorf("%w %s: no host", ErrBadURL, stripQuery(raw))
	}
	var loc Location
	if q := u.RawQuery; q != "" {
		v, err := url.ParseQuery(q)
		if err != nil || v.Get("sig") == "" {
			return Location{}, fmt.Errorf("%w %s: its query is not a shared access signature (no sig=)", ErrBadURL, stripQuery(raw))
		}
		loc.SAS = q
	}
	scheme := strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Host)
	segs := splitPath(u.Path)
	switch scheme {
	case "abfs", "abfss":
		// abfss://<container>@<account>.dfs.core.windows.net/<prefix>
		if u.User == nil || u.User.Username() == "" {
			return Location{}, fmt.Errorf("%w %s: want abfss://<container>@<account>.dfs.core.windows.net/<path>", ErrBadURL, stripQuery(raw))
		}
		segs = append([]string{u.User.Username()}, segs...)
		scheme = "https"
	case "http", "https":
		if u.User != nil {
			return Location{}, fmt.Errorf("%w %s: user information in the URL is not supported", ErrBadURL, stripQuery(raw))
		}
	default:
		return Location{}, fmt.Errorf("%w %s: scheme %q: want https, http, abfss or abfs", ErrBadURL, stripQuery(raw), u.Scheme)
	}
	if first, rest, ok := strings.Cut(host, "."); ok && (strings.HasPrefix(rest, "blob.") || strings.HasPrefix(rest, "dfs.")) {
		// <account>.blob.<suffix> or <account>.dfs.<suffix>
		if svc, ok := strings.CutPrefix(rest, "dfs."); ok {
			host = first + ".blob." + svc
		}
		loc.Account = first
		loc.ServiceURL = scheme + "://" + host + "/"
	} else {
		if len(segs) == 0 {
			return Location{}, fmt.Errorf("%w %s: a path-style URL needs the account as its first path segment", ErrBadURL, stripQuery(raw))
		}
		loc.Account = segs[0]
		loc.ServiceURL = scheme + "://" + host + "/" + segs[0] + "/"
		segs = segs[1:]
	}
	if len(segs) > 0 {
		loc.Container = segs[0]
		if !containerRE.MatchString(loc.Container) {
			return Location{}, fmt.Errorf("%w %s: %q is not a container name", ErrBadURL, stripQuery(raw), loc.Container)
		}
		loc.Prefix = strings.Join(segs[1:], "/")
	}
	return loc, nil
}

func splitPath(p string) []string {
	var out []string
	for _, s := range strings.Split(p, "/") {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// stripQuery cuts the query and fragment off a URL-like string, and the
// password of its user information if it has one.
func stripQuery(raw string) string {
	if i := strings.IndexAny(raw, "?#"); i >= 0 {
		raw = raw[:i]
	}
	if scheme, rest, ok := strings.Cut(raw, "://"); ok {
		authority, _, _ := strings.Cut(rest, "/")
		if at := strings.LastIndexByte(authority, '@'); at >= 0 && strings.Contains(authority[:at], ":") {
			raw = scheme + "://REDACTED" + rest[at:]
		}
	}
	return raw
}
