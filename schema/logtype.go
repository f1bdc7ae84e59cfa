package schema

import (
	"errors"
	"fmt"
	"strings"

	"github.com/goccy/go-yaml"
)

// ErrInvalidSchema is wrapped by the errors of Parse.
var ErrInvalidSchema = errors.New("invalid schema")

// LogType is a log type: its name and its fields, as in Panther's schema YAML.
type LogType struct {
	// Schema is the log type's name, e.g. "Azure.Audit" (p_log_type).
	Schema string `yaml:"schema"`
	// Description says what the logs are.
	Description string `yaml:"description,omitempty"`
	// ReferenceURL points to the documentation of the logs.
	ReferenceURL string `yaml:"referenceURL,omitempty"`
	// Fields are the top-level fields, in column order.
	Fields []*Field `yaml:"fields"`
}

// Parse decodes a log type from Panther's schema YAML and validates it. Keys
// the format does not know are errors. The error wraps ErrInvalidSchema and
// names each invalid field by its dotted path.
func Parse(data []byte) (*LogType, error) {
	var lt LogType
	if err := yaml.UnmarshalWithOptions(data, &lt, yaml.Strict()); err != nil {
		return nil, fmt.Errorf("%w: decode yaml: %w", ErrInvalidSchema, err)
	}
	if err := lt.validate(); err != nil {
		return nil, err
	}
	return &lt, nil
}

// Table returns the name of the log type's lake table: the schema name in
// lower case with every character other than [a-z0-9] replaced by '_', e.g.
// "azure_audit" for "Azure.Audit".
func (lt *LogType) Table() string {
	return strings.Map(func(r rune) rune {
		if 'a' <= r && r <= 'z' || '0' <= r && r <= '9' {
			return r
		}
		return '_'
	}, strings.ToLower(lt.Schema))
}

// QuarantineTable returns the name of the table that holds the log type's
// records that could not become rows, e.g. "azure_audit_quarantine".
func (lt *LogType) QuarantineTable() string {
	return lt.Table() + "_quarantine"
}

// EventTimeField returns the top-level field marked isEventTime, or nil if
// there is none (Parse rejects such a schema).
func (lt *LogType) EventTimeField() *Field {
	for _, f := range lt.Fields {
		if f.IsEventTime {
			return f
		}
	}
	return nil
}

// Walk calls fn for every field, depth first in column order, with its
// dotted path: "properties", "properties.targetResources",
// "properties.targetResources.modifiedProperties.oldValue". The fields of an
// array's element are visited under the array's path; the element itself is
// not a field and is not visited. Walk stops at and returns the first error
// fn returns.
func (lt *LogType) Walk(fn func(path string, f *Field) error) error {
	return walk("", lt.Fields, fn)
}

func walk(prefix string, fields []*Field, fn func(string, *Field) error) error {
	for _, f := range fields {
		path := joinPath(prefix, f.Name)
		if err := fn(path, f); err != nil {
			return err
		}
		if err := walk(path, f.nested(), fn); err != nil {
			return err
		}
	}
	return nil
}

func joinPath(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

// validIndicators is the set of indicators a field may carry.
var validIndicators = map[string]bool{
	IndicatorIP: true, IndicatorUsername: true, IndicatorTraceID: true,
	"email": true, "domain": true, "url": true, "hostname": true,
	"md5": true, "sha1": true, "sha256": true, "mac": true,
	"arn": true, "aws_account_id": true,
}

// namedTimeFormats are the time formats that are not strftime patterns.
var namedTimeFormats = map[string]bool{
	"rfc3339": true, "unix": true, "unix_ms": true, "unix_us": true,
	"unix_ns": true, "unix_auto": true,
}

// validator collects the problems of a schema.
type validator struct {
	errs []error
}

func (v *validator) addf(path, format string, args ...any) {
	v.errs = append(v.errs, fmt.Errorf("%s: %s", path, fmt.Sprintf(format, args...)))
}

// validate checks the log type and returns all the problems found, joined:
// known types, objects with fields, arrays with an element, unique names per
// level, no p_ names, exactly one top-level timestamp with isEventTime,
// timeFormats only on timestamps, and known time formats and indicators.
func (lt *LogType) validate() error {
	var v validator
	if lt.Schema == "" {
		v.addf("schema", "missing log type name")
	}
	if len(lt.Fields) == 0 {
		v.addf("fields", "no fields")
	}
	v.fields("", lt.Fields, true)

	var events []string
	for _, f := range lt.Fields {
		if f != nil && f.IsEventTime {
			events = append(events, f.Name)
		}
	}
	switch {
	case len(events) == 0 && len(lt.Fields) > 0:
		v.addf("fields", "no top-level timestamp field with isEventTime")
	case len(events) > 1:
		v.addf(strings.Join(events, ", "), "more than one field with isEventTime")
	}

	if len(v.errs) == 0 {
		return nil
	}
	name := ""
	if lt.Schema != "" {
		name = fmt.Sprintf(" %q", lt.Schema)
	}
	return fmt.Errorf("%w%s: %w", ErrInvalidSchema, name, errors.Join(v.errs...))
}

// fields checks the fields of one level, whose paths start with prefix.
func (v *validator) fields(prefix string, fields []*Field, top bool) {
	seen := make(map[string]bool, len(fields))
	for i, f := range fields {
		if f == nil || f.Name == "" {
			v.addf(fmt.Sprintf("%s[%d]", joinPath(prefix, "fields"), i), "field without name")
			continue
		}
		path := joinPath(prefix, f.Name)
		if strings.HasPrefix(f.Name, "p_") {
			v.addf(path, "name starts with p_ (reserved for standard columns)")
		}
		if seen[f.Name] {
			v.addf(path, "duplicate field name")
		}
		seen[f.Name] = true
		v.field(path, path, f, top)
	}
}

// field checks one field or element. label names it in messages; prefix is
// the path of its nested fields.
func (v *validator) field(label, prefix string, f *Field, top bool) {
	switch f.Type {
	case TypeString, TypeBigint, TypeFloat, TypeBoolean, TypeTimestamp, TypeJSON:
	case TypeObject:
		if len(f.Fields) == 0 {
			v.addf(label, "object without fields")
		}
		v.fields(prefix, f.Fields, false)
	case TypeArray:
		if f.Element == nil {
			v.addf(label, "array without element")
			break
		}
		v.element(label+": element", prefix, f.Element)
	case "":
		v.addf(label, "missing type")
	default:
		v.addf(label, "unknown type %q", f.Type)
	}
	if f.Type != TypeObject && len(f.Fields) > 0 {
		v.addf(label, "fields on a non-object field (type %s)", f.Type)
	}
	if f.Type != TypeArray && f.Element != nil {
		v.addf(label, "element on a non-array field (type %s)", f.Type)
	}
	if len(f.TimeFormats) > 0 && f.Type != TypeTimestamp {
		v.addf(label, "timeFormats on a non-timestamp field (type %s)", f.Type)
	}
	for _, tf := range f.TimeFormats {
		if !namedTimeFormats[tf] && !strings.HasPrefix(tf, "%") {
			v.addf(label, "unknown time format %q", tf)
		}
	}
	for _, ind := range f.Indicators {
		if !validIndicators[ind] {
			v.addf(label, "unknown indicator %q", ind)
		}
	}
	if f.IsEventTime {
		if !top {
			v.addf(label, "isEventTime below the top level")
		}
		if f.Type != TypeTimestamp {
			v.addf(label, "isEventTime on a non-timestamp field (type %s)", f.Type)
		}
	}
}

// element checks an array's element: a field without name or required flag.
func (v *validator) element(label, prefix string, f *Field) {
	if f.Name != "" {
		v.addf(label, "name %q on an array element", f.Name)
	}
	if f.Required {
		v.addf(label, "required on an array element")
	}
	v.field(label, prefix, f, false)
}
