package parser

import (
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/entralake/entralake/schema"
)

// TestReasons pins, for every kind of quarantine reason, a line that has it
// and the exact text of its reason column. It fails when a kind has no case
// here, when a reason is counted under another kind, and when a reason is
// reworded: the kind no longer depends on the wording, but users' queries
// on the reason column may.
func TestReasons(t *testing.T) {
	long := `{"time":"2025-04-11T16:01:02Z","resourceId":"/r","operationName":"` + strings.Repeat("x", 200) + `"}`
	cases := []struct {
		kind       ReasonKind
		line, want string
	}{
		{ReasonTruncatedJSON, `{"time":"2025-04-11T16:01:02Z","resourceId":"/r"`, "truncated JSON: the text ends before the JSON value is complete"},
		{ReasonInvalidJSON, `{"time":x}`, "invalid JSON at byte 8: invalid character 'x' at start of value"},
		{ReasonInvalidJSON, `{"time":"2025-04-11T16:01:02Z","time":"2025-04-11T16:01:03Z","resourceId":"/r","operationName":"op"}`, `invalid JSON: duplicate object member name "time"`},
		{ReasonTooLong, long, "line of 270 bytes exceeds the maximum record size of 256 bytes (raw holds its first bytes)"},
		{ReasonMissingRequired, `{"time":"2025-04-11T16:01:02Z","resourceId":"/r"}`, `missing required field "operationName"`},
		{ReasonMissingRequired, `{}`, `missing required fields "operationName", "resourceId", "time"`},
		{ReasonBadTime, `{"time":"yesterday","resourceId":"/r","operationName":"op"}`, `unusable event time: "time" is "yesterday": not an RFC 3339 or M/D/YYYY h:mm:ss AM/PM time`},
		{ReasonNotAnObject, `42`, "the JSON value is a JSON number, not an object"},
	}
	p := newTestParser(t, Config{MaxRecordSize: 256})
	seen := map[ReasonKind]bool{}
	for _, c := range cases {
		seen[c.kind] = true
		res := parseBytes(t, p, schema.Task{Final: true}, []byte(c.line+"\r\n"))
		var reasons []string
		for _, b := range res.batches {
			if b.Table != "azure_audit" {
				col := b.Record.Column(6).(*array.String)
				for i := range col.Len() {
					reasons = append(reasons, col.Value(i))
				}
			}
		}
		res.release()
		if len(reasons) != 1 || reasons[0] != c.want {
			t.Errorf("%.40s: reasons %q, want [%q]", c.line, reasons, c.want)
		}
		if got := res.stats.ByReason; len(got) != 1 || got[c.kind] != 1 {
			t.Errorf("%.40s: counted by kind %v, want {%s: 1}", c.line, got, c.kind)
		}
	}
	for _, k := range ReasonKinds() {
		if !seen[k] {
			t.Errorf("kind %s has no case in this test", k)
		}
	}
	if kinds := ReasonKinds(); len(slices.Compact(slices.Sorted(slices.Values(kinds)))) != len(kinds) {
		t.Errorf("ReasonKinds lists a kind twice: %v", kinds)
	}
}
