package schema

import (
	"bytes"
	"fmt"
	"io"
	"strings"
)

// Describe writes the log type as a human-readable tree, one line per field
// with two spaces of indent per nesting level:
//
//	fields (186):
//	- properties: object
//	  - targetResources: array<object>
//	    - displayName: string
//	- time: timestamp  (required; timeFormats: rfc3339 | '%m/%d/%Y %I:%M:%S %p'; isEventTime)
//
// The fields of an array's element are listed under the array. A section
// with the standard p_ columns and their Arrow types follows.
func (lt *LogType) Describe(w io.Writer) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s: %s\n", lt.Schema, lt.Description)
	if lt.ReferenceURL != "" {
		fmt.Fprintf(&b, "reference: %s\n", lt.ReferenceURL)
	}
	fmt.Fprintf(&b, "table: %s\nquarantine table: %s\n", lt.Table(), lt.QuarantineTable())

	n := 0
	_ = lt.Walk(func(string, *Field) error { n++; return nil })
	fmt.Fprintf(&b, "\nfields (%d):\n", n)
	describeFields(&b, lt.Fields, "")

	b.WriteString("\np_ columns:\n")
	for _, c := range standardColumns() {
		fmt.Fprintf(&b, "- %s: %s\n", c.Name, c.Type)
	}
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("describe log type %q: %w", lt.Schema, err)
	}
	return nil
}

func describeFields(b *bytes.Buffer, fields []*Field, indent string) {
	for _, f := range fields {
		fmt.Fprintf(b, "%s- %s: %s", indent, f.Name, typeName(f))
		if a := annotations(f); a != "" {
			fmt.Fprintf(b, "  (%s)", a)
		}
		b.WriteByte('\n')
		describeFields(b, f.nested(), indent+"  ")
	}
}

// typeName is the field's type, with arrays written as array<element type>.
func typeName(f *Field) string {
	if f.Type == TypeArray && f.Element != nil {
		return "array<" + typeName(f.Element) + ">"
	}
	return f.Type
}

// annotations lists the field's flags, its indicators and its time formats,
// including those of an array's element, separated by "; ".
func annotations(f *Field) string {
	var indicators, formats []string
	for e := f; e != nil; e = e.Element {
		indicators = append(indicators, e.Indicators...)
		for _, tf := range e.TimeFormats {
			if !namedTimeFormats[tf] {
				tf = "'" + strings.ReplaceAll(tf, "'", "''") + "'"
			}
			formats = append(formats, tf)
		}
	}
	var parts []string
	if f.Required {
		parts = append(parts, "required")
	}
	if len(indicators) > 0 {
		parts = append(parts, "indicators: "+strings.Join(indicators, ", "))
	}
	if len(formats) > 0 {
		parts = append(parts, "timeFormats: "+strings.Join(formats, " | "))
	}
	if f.IsEventTime {
		parts = append(parts, "isEventTime")
	}
	return strings.Join(parts, "; ")
}
