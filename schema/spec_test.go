package schema

import (
	"bytes"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

const (
	specPath = "../../shared/spec/azure-audit.md"
	seedPath = "../../shared/seed/entra-id-audit-logs.txt"
)

// specField is one line of a field tree as written in the spec and by
// Describe, with its nesting turned into a dotted path.
type specField struct {
	path, typ              string
	required, isEventTime  bool
	indicators, timeFormat string // joined with ","
}

func (f specField) String() string {
	return fmt.Sprintf("%s: %s (required=%t indicators=%q timeFormats=%q isEventTime=%t)",
		f.path, f.typ, f.required, f.indicators, f.timeFormat, f.isEventTime)
}

var treeLine = regexp.MustCompile(`^((?:  )*)- (\S+): (\S+)(?:  \((.*)\))?$`)

// parseTree reads "- name: type  (annotations)" lines, two spaces of indent
// per nesting level, into a flat list in document order.
func parseTree(t *testing.T, text string) []specField {
	t.Helper()
	var out []specField
	var stack []string // names of the enclosing fields
	for i, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		m := treeLine.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("tree line %d: cannot parse %q", i+1, line)
		}
		depth := len(m[1]) / 2
		if depth > len(stack) {
			t.Fatalf("tree line %d: indented %d levels under %d: %q", i+1, depth, len(stack), line)
		}
		stack = append(stack[:depth], m[2])
		f := specField{path: strings.Join(stack, "."), typ: m[3]}
		if m[4] != "" {
			for _, a := range strings.Split(m[4], "; ") {
				switch {
				case a == "required":
					f.required = true
				case a == "isEventTime":
					f.isEventTime = true
				case strings.HasPrefix(a, "indicators: "):
					f.indicators = strings.ReplaceAll(strings.TrimPrefix(a, "indicators: "), ", ", ",")
				case strings.HasPrefix(a, "timeFormats: "):
					var formats []string
					for _, tf := range strings.Split(strings.TrimPrefix(a, "timeFormats: "), " | ") {
						formats = append(formats, strings.Trim(tf, "'"))
					}
					f.timeFormat = strings.Join(formats, ",")
				default:
					t.Fatalf("tree line %d: unknown annotation %q", i+1, a)
				}
			}
		}
		out = append(out, f)
	}
	return out
}

// schemaTree is the loaded log type in the form of parseTree.
func schemaTree(t *testing.T, lt *LogType) []specField {
	t.Helper()
	var out []specField
	err := lt.Walk(func(path string, f *Field) error {
		typ := f.Type
		if f.Type == TypeArray {
			typ = "array<" + f.Element.Type + ">"
		}
		out = append(out, specField{
			path:        path,
			typ:         typ,
			required:    f.Required,
			isEventTime: f.IsEventTime,
			indicators:  strings.Join(f.Indicators, ","),
			timeFormat:  strings.Join(f.TimeFormats, ","),
		})
		return nil
	})
	if err != nil {
		t.Fatalf("Walk: %v", err)
	}
	return out
}

func compareTrees(t *testing.T, what string, got, want []specField) {
	t.Helper()
	for i := range max(len(got), len(want)) {
		switch {
		case i >= len(got):
			t.Errorf("%s: field %d missing, want %v", what, i, want[i])
		case i >= len(want):
			t.Errorf("%s: field %d is %v, want none", what, i, got[i])
		case got[i] != want[i]:
			t.Errorf("%s: field %d is %v, want %v", what, i, got[i], want[i])
		}
	}
}

// TestSpec checks the embedded Azure.Audit schema, and Describe's tree of it,
// field by field against the tree in the spec.
func TestSpec(t *testing.T) {
	doc, err := os.ReadFile(specPath)
	if os.IsNotExist(err) {
		t.Skipf("spec %s not found: nothing to compare with", specPath)
	}
	if err != nil {
		t.Fatalf("read spec: %v", err)
	}
	m := regexp.MustCompile("(?s)```text\n(.*?)```").FindSubmatch(doc)
	if m == nil {
		t.Fatalf("spec %s has no ```text block", specPath)
	}
	want := parseTree(t, string(m[1]))
	if got, want := len(want), 186; got != want {
		t.Errorf("spec fields=%d, want %d", got, want)
	}

	lt, err := Load("Azure.Audit")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	compareTrees(t, "schema", schemaTree(t, lt), want)

	var b bytes.Buffer
	if err := lt.Describe(&b); err != nil {
		t.Fatalf("Describe: %v", err)
	}
	out := b.String()
	start := strings.Index(out, " (186):\n")
	end := strings.Index(out, "\n\np_ columns:\n")
	if start < 0 || end < start {
		t.Fatalf("Describe output has no fields section:\n%s", out)
	}
	compareTrees(t, "Describe", parseTree(t, out[start+len(" (186):\n"):end+1]), want)
}

// TestSeedDescriptions checks that every field carries the description the
// user's document gives it. The document lost its indentation but kept the
// order of the fields, which is the order of Walk.
func TestSeedDescriptions(t *testing.T) {
	doc, err := os.ReadFile(seedPath)
	if os.IsNotExist(err) {
		t.Skipf("seed %s not found: nothing to compare with", seedPath)
	}
	if err != nil {
		t.Fatalf("read seed: %v", err)
	}
	lines := strings.Split(string(doc), "\n")
	start := slices.Index(lines, "fields:")
	if start < 0 {
		t.Fatalf("seed %s has no fields: line", seedPath)
	}
	type described struct{ name, description string }
	var want []described
	for _, line := range lines[start+1:] {
		if name, ok := strings.CutPrefix(line, "- name: "); ok {
			want = append(want, described{name: name})
		} else if d, ok := strings.CutPrefix(line, "description: "); ok && len(want) > 0 {
			want[len(want)-1].description = d
		}
	}

	lt, err := Load("Azure.Audit")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	var got []described
	_ = lt.Walk(func(_ string, f *Field) error {
		got = append(got, described{f.Name, f.Description})
		return nil
	})
	if len(got) != len(want) {
		t.Fatalf("fields=%d, seed fields=%d", len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("field %d=%+v, want %+v", i, got[i], want[i])
		}
	}
}
