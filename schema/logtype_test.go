package schema

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestLoadAzureAudit(t *testing.T) {
	lt, err := Load("Azure.Audit")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if got, want := lt.Schema, "Azure.Audit"; got != want {
		t.Errorf("Schema=%q, want %q", got, want)
	}
	var paths []string
	if err := lt.Walk(func(path string, _ *Field) error {
		paths = append(paths, path)
		return nil
	}); err != nil {
		t.Fatalf("Walk: %v", err)
	}
	if got, want := len(paths), 186; got != want {
		t.Errorf("fields=%d, want %d", got, want)
	}
	if got, want := len(lt.Fields), 18; got != want {
		t.Errorf("top-level fields=%d, want %d", got, want)
	}
	for _, p := range []string{
		"Level",
		"properties._billedSize",
		"properties.initiatedBy.user.roles",
		"properties.additionalDetails.key",
		"properties.targetResources.modifiedProperties.oldValue",
		"properties.__UDI_RequiredFields_EventTime",
		"properties.mfaDetail.authMethod",
		"time",
	} {
		if !slices.Contains(paths, p) {
			t.Errorf("Walk did not visit %s", p)
		}
	}
	if got, want := paths[len(paths)-1], "time"; got != want {
		t.Errorf("last path=%q, want %q", got, want)
	}
	ev := lt.EventTimeField()
	if ev == nil {
		t.Fatal("EventTimeField=nil, want time")
	}
	if got, want := ev.Name, "time"; got != want {
		t.Errorf("EventTimeField=%q, want %q", got, want)
	}
}

func TestLogTypes(t *testing.T) {
	if _, err := embedded(); err != nil {
		t.Fatalf("embedded log types: %v", err)
	}
	got := LogTypes()
	if !slices.Contains(got, "Azure.Audit") {
		t.Errorf("LogTypes()=%q, want it to contain Azure.Audit", got)
	}
	if !slices.IsSorted(got) {
		t.Errorf("LogTypes()=%q, want sorted", got)
	}
}

func TestLoadUnknown(t *testing.T) {
	_, err := Load("Nope.Nothing")
	if !errors.Is(err, ErrUnknownLogType) {
		t.Fatalf("err=%v, want ErrUnknownLogType", err)
	}
	for _, want := range []string{`"Nope.Nothing"`, "Azure.Audit"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("err=%q, want it to mention %s", err, want)
		}
	}
}

func TestLoadReturnsCopies(t *testing.T) {
	a, err := Load("Azure.Audit")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	a.Fields[0].Name = "changed"
	b, err := Load("Azure.Audit")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if got, want := b.Fields[0].Name, "Level"; got != want {
		t.Errorf("second Load: first field=%q, want %q", got, want)
	}
}

func TestWalkStops(t *testing.T) {
	lt, err := Load("Azure.Audit")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	stop := errors.New("stop")
	n := 0
	err = lt.Walk(func(path string, _ *Field) error {
		n++
		if path == "properties" {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) {
		t.Errorf("Walk err=%v, want %v", err, stop)
	}
	if got, want := n, 12; got != want {
		t.Errorf("visited=%d, want %d", got, want)
	}
}

func TestTable(t *testing.T) {
	tests := []struct {
		schema, table, quarantine string
	}{
		{"Azure.Audit", "azure_audit", "azure_audit_quarantine"},
		{"AWS.CloudTrail", "aws_cloudtrail", "aws_cloudtrail_quarantine"},
		{"Custom.My-Logs v2", "custom_my_logs_v2", "custom_my_logs_v2_quarantine"},
		{"Okta.SystemLog", "okta_systemlog", "okta_systemlog_quarantine"},
	}
	for _, tt := range tests {
		t.Run(tt.schema, func(t *testing.T) {
			lt := &LogType{Schema: tt.schema}
			if got, want := lt.Table(), tt.table; got != want {
				t.Errorf("Table()=%q, want %q", got, want)
			}
			if got, want := lt.QuarantineTable(), tt.quarantine; got != want {
				t.Errorf("QuarantineTable()=%q, want %q", got, want)
			}
		})
	}
}

// validHead is the start of a valid schema; tests append fields to it.
const validHead = `schema: Test.Log
fields:
  - name: time
    type: timestamp
    timeFormats: [rfc3339, '%Y-%m-%d']
    isEventTime: true
`

func TestParseValid(t *testing.T) {
	lt, err := Parse([]byte(validHead + `
  - name: tags
    type: array
    element:
      type: string
      indicators: [ip]
  - name: nested
    type: array
    element:
      type: array
      element:
        type: object
        fields:
          - name: x
            type: float
`))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if got, want := lt.Fields[1].ArrowType().String(), "list<element: utf8, nullable>"; got != want {
		t.Errorf("tags type=%s, want %s", got, want)
	}
	if got, want := lt.Fields[2].ArrowType().String(), "list<element: list<element: struct<x: float64 nullable>, nullable>, nullable>"; got != want {
		t.Errorf("nested type=%s, want %s", got, want)
	}
	var paths []string
	_ = lt.Walk(func(p string, _ *Field) error { paths = append(paths, p); return nil })
	if got, want := strings.Join(paths, " "), "time tags nested nested.x"; got != want {
		t.Errorf("paths=%q, want %q", got, want)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string // substrings of the error
	}{
		{"empty", ``, []string{"schema: missing log type name", "fields: no fields"}},
		{"unknown top-level key", validHead + "owner: me\n", []string{"owner"}},
		{"unknown field key", validHead + "  - name: a\n    type: string\n    colour: red\n", []string{"colour"}},
		{"missing type", validHead + "  - name: a\n", []string{"a: missing type"}},
		{"unknown type", validHead + "  - name: a\n    type: text\n", []string{`a: unknown type "text"`}},
		{"field without name", validHead + "  - type: string\n", []string{"fields[1]: field without name"}},
		{"object without fields", validHead + "  - name: props\n    type: object\n", []string{"props: object without fields"}},
		{"array without element", validHead + `  - name: properties
    type: object
    fields:
      - name: targetResources
        type: array
`, []string{"properties.targetResources: array without element"}},
		{"element unknown type", validHead + "  - name: arr\n    type: array\n    element:\n      type: list\n", []string{`arr: element: unknown type "list"`}},
		{"element field path", validHead + `  - name: arr
    type: array
    element:
      type: object
      fields:
        - name: x
          type: int
`, []string{`arr.x: unknown type "int"`}},
		{"element with name", validHead + "  - name: arr\n    type: array\n    element:\n      name: e\n      type: string\n", []string{`arr: element: name "e"`}},
		{"fields on string", validHead + "  - name: a\n    type: string\n    fields:\n      - name: b\n        type: string\n", []string{"a: fields on a non-object field (type string)"}},
		{"element on object", validHead + "  - name: a\n    type: object\n    fields:\n      - name: b\n        type: string\n    element:\n      type: string\n", []string{"a: element on a non-array field (type object)"}},
		{"duplicate top-level", validHead + "  - name: time\n    type: string\n", []string{"time: duplicate field name"}},
		{"duplicate nested", validHead + `  - name: props
    type: object
    fields:
      - name: id
        type: string
      - name: id
        type: bigint
`, []string{"props.id: duplicate field name"}},
		{"p_ name", validHead + "  - name: p_extra\n    type: string\n", []string{"p_extra: name starts with p_"}},
		{"no event time", "schema: T\nfields:\n  - name: time\n    type: timestamp\n", []string{"no top-level timestamp field with isEventTime"}},
		{"two event times", validHead + "  - name: t2\n    type: timestamp\n    isEventTime: true\n", []string{"time, t2: more than one field with isEventTime"}},
		{"nested event time", validHead + "  - name: props\n    type: object\n    fields:\n      - name: t\n        type: timestamp\n        isEventTime: true\n", []string{"props.t: isEventTime below the top level"}},
		{"event time on string", "schema: T\nfields:\n  - name: when\n    type: string\n    isEventTime: true\n", []string{"when: isEventTime on a non-timestamp field (type string)"}},
		{"timeFormats on string", validHead + "  - name: a\n    type: string\n    timeFormats: [rfc3339]\n", []string{"a: timeFormats on a non-timestamp field (type string)"}},
		{"unknown time format", validHead + "  - name: t\n    type: timestamp\n    timeFormats: [iso8601]\n", []string{`t: unknown time format "iso8601"`}},
		{"unknown indicator", validHead + "  - name: a\n    type: string\n    indicators: [phone]\n", []string{`a: unknown indicator "phone"`}},
		{"not yaml", "schema: [", []string{"decode yaml"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml))
			if err == nil {
				t.Fatalf("Parse: got nil error, want one mentioning %q", tt.want)
			}
			if !errors.Is(err, ErrInvalidSchema) {
				t.Errorf("err=%v, want it to wrap ErrInvalidSchema", err)
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("err=%q, want it to contain %q", err, want)
				}
			}
		})
	}
}
