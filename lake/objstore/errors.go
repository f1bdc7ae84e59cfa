package objstore

import (
	"errors"
	"io/fs"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	"gocloud.dev/gcerrors"
	"google.golang.org/api/googleapi"
)

// Error is a failed call to S3 or GCS. Its message names the operation,
// the object, and the HTTP status and service error code of the
// response; it never holds a URL's query, a credential or a response
// body.
type Error struct {
	// Op is the operation, e.g. "list", "read", "commit upload".
	Op string
	// Object is the bucket URL of the object or prefix: s3://bucket/key.
	Object string
	// StatusCode and Code are the HTTP status and the service's error code
	// (e.g. 403, "SignatureDoesNotMatch"); zero and empty when no response
	// came.
	StatusCode int
	Code       string
	// Kind is gocloud's classification of the error.
	Kind gcerrors.ErrorCode
	// Credentials names where the credentials came from, shown on 401 and
	// 403.
	Credentials string
	// Err is the cause when no response came (network, context,
	// credentials), its text scrubbed of URL queries.
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Op)
	b.WriteByte(' ')
	b.WriteString(e.Object)
	if e.StatusCode != 0 || e.Code != "" {
		b.WriteString(": ")
		if e.StatusCode != 0 {
			b.WriteString(strconv.Itoa(e.StatusCode))
			b.WriteByte(' ')
		}
		if e.Code != "" {
			b.WriteString(e.Code)
		} else {
			b.WriteString(http.StatusText(e.StatusCode))
		}
		if e.credentialProblem() && e.Credentials != "" {
			b.WriteString(" (credentials: ")
			b.WriteString(e.Credentials)
			b.WriteByte(')')
		}
		if !e.credentialProblem() && e.missingBucket() {
			b.WriteString(" (the bucket does not exist)")
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

// Is makes errors.Is(err, fs.ErrNotExist) true for a missing object (not
// a missing bucket).
func (e *Error) Is(target error) bool {
	return target == fs.ErrNotExist && e.Kind == gcerrors.NotFound && !e.missingBucket() && !e.credentialProblem()
}

// credentialCodes are the S3 error codes of credentials that are refused.
var credentialCodes = []string{"AccessDenied", "Forbidden", "SignatureDoesNotMatch", "InvalidAccessKeyId",
	"ExpiredToken", "InvalidToken", "TokenRefreshRequired", "InvalidClientTokenId", "XAdminUserNotFound"}

func (e *Error) credentialProblem() bool {
	return e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden ||
		e.Kind == gcerrors.PermissionDenied || slices.Contains(credentialCodes, e.Code)
}

// missingBucket: a missing object is a 404 on a read; on a write or a
// listing a 404 can only be the bucket's (or, on some S3-compatible
// servers, an unknown access key's: credentialProblem).
func (e *Error) missingBucket() bool {
	if e.Code == "NoSuchBucket" {
		return true
	}
	if e.credentialProblem() {
		return false
	}
	switch e.Op {
	case "list", "write", "upload", "start upload", "commit upload":
		return e.Kind == gcerrors.NotFound
	}
	return false
}

// Unusable reports that the lake cannot be used as configured: the
// credentials are refused or the bucket does not exist. No call succeeds
// until someone fixes it: `run --once` stops, a watching writer retries
// with growing delays and reports not-ready.
func (e *Error) Unusable() bool { return e.credentialProblem() || e.missingBucket() }

// newError classifies err, a failed call of op on object.
func newError(op, object, credentials string, err error) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	e = &Error{Op: op, Object: object, Kind: gcerrors.Code(err), Credentials: credentials}
	var ae smithy.APIError
	var re *awshttp.ResponseError
	var ge *googleapi.Error
	switch {
	case errors.As(err, &ge):
		e.StatusCode = ge.Code
		if len(ge.Errors) > 0 {
			e.Code = ge.Errors[0].Reason
		}
	case errors.As(err, &ae):
		e.Code = ae.ErrorCode()
		if errors.As(err, &re) {
			e.StatusCode = re.HTTPStatusCode()
		}
	case errors.As(err, &re):
		e.StatusCode = re.HTTPStatusCode()
	default:
		e.Err = &scrubbedError{msg: scrub(err.Error()), cause: err}
	}
	return e
}

// urlQueryRE matches a URL's query (and fragment) inside a text.
var urlQueryRE = regexp.MustCompile(`(?i)(\b[a-z][a-z0-9+.-]*://[^\s"'<>?#]*)[?#][^\s"'<>]*`)

// scrub removes every URL query from s: a presigned or SAS URL carries its
// signature there.
func scrub(s string) string { return urlQueryRE.ReplaceAllString(s, "${1}?REDACTED") }

// scrubbedError has a scrubbed text; errors.Is still sees the causes
// (context.Canceled), its Unwrap chain does not reach the original text.
type scrubbedError struct {
	msg   string
	cause error
}

func (e *scrubbedError) Error() string        { return e.msg }
func (e *scrubbedError) Is(target error) bool { return errors.Is(e.cause, target) }
