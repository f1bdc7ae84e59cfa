package azstorage

import (
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
)

// ErrNotFound matches (with errors.Is) an *Error whose container or blob
// does not exist.
var ErrNotFound = errors.New("not found")

// Error is a failed storage call. Its message names the operation, the
// account, container and blob, and the HTTP status and Azure error code of
// the response; it never holds a URL's query (a SAS), a key, a connection
// string or a response body (a service may echo the request in it).
type Error struct {
	// Op is the operation, e.g. "list blobs", "read blob", "commit block list".
	Op string
	// Account, Container and Blob locate the target; Container and Blob
	// may be empty.
	Account, Container, Blob string
	// StatusCode and Code are the HTTP status and the x-ms-error-code of
	// the response (e.g. 403, "AuthenticationFailed"); zero and empty
	// when no response came.
	StatusCode int
	Code       string
	// Method is the credential in use (see Account.Method), shown on 401
	// and 403.
	Method string
	// Err is the cause when no response came (network, context,
	// credential errors), with secrets removed from its text.
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Op)
	b.WriteByte(' ')
	b.WriteString(e.Account)
	for _, s := range []string{e.Container, e.Blob} {
		if s != "" {
			b.WriteByte('/')
			b.WriteString(s)
		}
	}
	if e.StatusCode != 0 {
		b.WriteString(": ")
		b.WriteString(strconv.Itoa(e.StatusCode))
		b.WriteByte(' ')
		if e.Code != "" {
			b.WriteString(e.Code)
		} else {
			b.WriteString(http.StatusText(e.StatusCode))
		}
		if e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden {
			b.WriteString(" (auth: ")
			b.WriteString(e.Method)
			b.WriteByte(')')
		}
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrNotFound) true for a 404.
func (e *Error) Is(target error) bool {
	return target == ErrNotFound && e.StatusCode == http.StatusNotFound
}

// Permanent reports that trying again cannot help: the blob is gone (404)
// or the range starts past its end (416). The worker pool dead-letters
// such a task at once. A missing container is not the task's fault: see
// Unusable.
func (e *Error) Permanent() bool {
	return (e.StatusCode == http.StatusNotFound && !e.Unusable()) || e.StatusCode == http.StatusRequestedRangeNotSatisfiable
}

// Unusable reports that the account cannot be used as configured: the
// credential is refused (401, 403) or the container does not exist. No
// call succeeds until someone fixes it: `run --once` stops, a watching
// stage retries with growing delays and reports not-ready.
func (e *Error) Unusable() bool {
	return e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden || e.Code == "ContainerNotFound"
}

// wrap returns err as an *Error (nil for nil); an *Error is returned as is.
func (a *Account) wrap(op, container, blob string, err error) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	e = &Error{Op: op, Account: a.loc.Account, Container: container, Blob: blob, Method: a.method}
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		e.StatusCode, e.Code = re.StatusCode, re.ErrorCode
		return e
	}
	e.Err = a.red.scrubErr(err)
	return e
}

// urlQueryRE matches a URL's query (and fragment) inside a text.
var urlQueryRE = regexp.MustCompile(`(?i)(\b[a-z][a-z0-9+.-]*://[^\s"'<>?#]*)[?#][^\s"'<>]*`)

// redactor removes secrets from error texts.
type redactor struct{ secrets []string }

// add registers a secret (a SAS query, a key, a connection string).
func (r *redactor) add(s string) {
	s = strings.TrimSpace(strings.TrimPrefix(s, "?"))
	if s == "" {
		return
	}
	r.secrets = append(r.secrets, s, url.QueryEscape(s))
	if sig := sasSignature(s); sig != "" {
		r.secrets = append(r.secrets, sig, url.QueryEscape(sig))
	}
	// Longest first, so that a secret holding another goes whole.
	slices.SortFunc(r.secrets, func(a, b string) int { return len(b) - len(a) })
	r.secrets = slices.Compact(r.secrets)
}

// scrub removes every URL query and every known secret from s.
func (r *redactor) scrub(s string) string {
	s = urlQueryRE.ReplaceAllString(s, "${1}?REDACTED")
	for _, sec := range r.secrets {
		if len(sec) >= 4 {
			s = strings.ReplaceAll(s, sec, "REDACTED")
		}
	}
	return s
}

// scrubErr returns err with a scrubbed text. The result's Unwrap chain does
// not reach err (whose text may hold secrets), but errors.Is still sees the
// causes, e.g. context.Canceled.
func (r *redactor) scrubErr(err error) error {
	return &scrubbedError{msg: r.scrub(err.Error()), cause: err}
}

type scrubbedError struct {
	msg   string
	cause error
}

func (e *scrubbedError) Error() string        { return e.msg }
func (e *scrubbedError) Is(target error) bool { return errors.Is(e.cause, target) }
