package parser

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/go-json-experiment/json/jsontext"
)

// ReasonKind is the kind of problem that put a record in quarantine. It is
// the reason label of the entralake_records_quarantined_total metric; the
// quarantine table's reason column holds the whole Reason text, which
// begins with the words shown below.
type ReasonKind string

// The kinds of quarantine reasons.
const (
	// ReasonTruncatedJSON: "truncated JSON: ...", the text ends inside a value.
	ReasonTruncatedJSON ReasonKind = "truncated_json"
	// ReasonInvalidJSON: "invalid JSON ...", a syntax error (with its byte),
	// invalid UTF-8, duplicate names, nesting too deep.
	ReasonInvalidJSON ReasonKind = "invalid_json"
	// ReasonTooLong: "line of N bytes exceeds the maximum record size ...".
	ReasonTooLong ReasonKind = "too_long"
	// ReasonMissingRequired: "missing required field(s) ...".
	ReasonMissingRequired ReasonKind = "missing_required"
	// ReasonBadTime: "unusable event time: ...".
	ReasonBadTime ReasonKind = "bad_time"
	// ReasonNotAnObject: "the JSON value is ..., not an object".
	ReasonNotAnObject ReasonKind = "not_an_object"
)

// ReasonKinds returns every kind, in a fixed order: metrics export each one,
// at zero too.
func ReasonKinds() []ReasonKind {
	return []ReasonKind{ReasonTruncatedJSON, ReasonInvalidJSON, ReasonTooLong, ReasonMissingRequired, ReasonBadTime, ReasonNotAnObject}
}

// Reason says why a record was quarantined: its kind, for metrics, and the
// text of the quarantine table's reason column, which says what is wrong
// and where in words a person can act on.
type Reason struct {
	Kind ReasonKind
	Text string
}

func (r Reason) String() string { return r.Text }

// reasonFor turns a decoding error into a reason.
func reasonFor(err error) Reason {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return Reason{ReasonTruncatedJSON, "truncated JSON: the text ends before the JSON value is complete"}
	}
	var se *jsontext.SyntacticError
	if errors.As(err, &se) {
		return Reason{ReasonInvalidJSON, "invalid JSON at byte " + strconv.FormatInt(se.ByteOffset, 10) + ": " + strings.TrimPrefix(se.Err.Error(), "jsontext: ")}
	}
	return Reason{ReasonInvalidJSON, "invalid JSON: " + err.Error()}
}

func reasonTooLong(size int64, limit int) Reason {
	return Reason{ReasonTooLong, fmt.Sprintf("line of %d bytes exceeds the maximum record size of %d bytes (raw holds its first bytes)", size, limit)}
}

func reasonNotAnObject(kind string) Reason {
	return Reason{ReasonNotAnObject, "the JSON value is " + kind + ", not an object"}
}

func reasonBadTime(detail string) Reason {
	return Reason{ReasonBadTime, "unusable event time: " + detail}
}

// reasonMissing names the required fields (quoted) a record lacks.
func reasonMissing(fields []string) Reason {
	if len(fields) == 1 {
		return Reason{ReasonMissingRequired, "missing required field " + fields[0]}
	}
	return Reason{ReasonMissingRequired, "missing required fields " + strings.Join(fields, ", ")}
}
