package schema

import "github.com/apache/arrow-go/v18/arrow"

// Field types, the values of Field.Type.
const (
	// TypeString is a UTF-8 string.
	TypeString = "string"
	// TypeBigint is a signed 64-bit integer.
	TypeBigint = "bigint"
	// TypeFloat is a 64-bit floating point number.
	TypeFloat = "float"
	// TypeBoolean is true or false.
	TypeBoolean = "boolean"
	// TypeTimestamp is a point in time, parsed with the field's TimeFormats
	// and stored as microseconds in UTC.
	TypeTimestamp = "timestamp"
	// TypeJSON is any JSON value, stored as its JSON text.
	TypeJSON = "json"
	// TypeObject is a struct of the field's Fields.
	TypeObject = "object"
	// TypeArray is a list of values of the field's Element.
	TypeArray = "array"
)

// Indicators that fill the p_any_ columns.
const (
	// IndicatorIP marks fields holding IP addresses (p_any_ip_addresses).
	IndicatorIP = "ip"
	// IndicatorUsername marks fields holding user names (p_any_usernames).
	IndicatorUsername = "username"
	// IndicatorTraceID marks fields holding trace or correlation ids (p_any_trace_ids).
	IndicatorTraceID = "trace_id"
)

// Field is one field of a log type, or the element of an array field.
type Field struct {
	// Name is the JSON key of the field and the name of its column. An
	// array's Element has no name.
	Name string `yaml:"name"`
	// Description says what the field holds.
	Description string `yaml:"description,omitempty"`
	// Type is one of the Type constants.
	Type string `yaml:"type"`
	// Required fields must be present and valid for a record to become a row.
	Required bool `yaml:"required,omitempty"`
	// Indicators name the kinds of value the field holds (ip, username, ...).
	Indicators []string `yaml:"indicators,omitempty"`
	// TimeFormats are the formats a timestamp field's values come in:
	// rfc3339, unix, unix_ms, unix_us, unix_ns, unix_auto or a strftime
	// pattern starting with '%'. Parse checks them; the parser reads every
	// timestamp string in the forms it knows and takes numbers only when
	// one of them is a unix format (see the package doc).
	TimeFormats []string `yaml:"timeFormats,omitempty"`
	// IsEventTime marks the top-level timestamp that becomes p_event_time.
	IsEventTime bool `yaml:"isEventTime,omitempty"`
	// Fields are the members of an object field, in column order.
	Fields []*Field `yaml:"fields,omitempty"`
	// Element describes the values of an array field.
	Element *Field `yaml:"element,omitempty"`
}

// timestampType is the Arrow type of every timestamp column.
var timestampType = &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}

// ArrowType returns the Arrow type of the field's column: utf8 for string and
// json, int64, float64, boolean, timestamp[us, tz=UTC], a struct of the
// fields' types for an object, and a list whose child is named "element" for
// an array. It returns nil for an unknown type or an array without element,
// which Parse rejects.
func (f *Field) ArrowType() arrow.DataType {
	switch f.Type {
	case TypeString, TypeJSON:
		return arrow.BinaryTypes.String
	case TypeBigint:
		return arrow.PrimitiveTypes.Int64
	case TypeFloat:
		return arrow.PrimitiveTypes.Float64
	case TypeBoolean:
		return arrow.FixedWidthTypes.Boolean
	case TypeTimestamp:
		return timestampType
	case TypeObject:
		return arrow.StructOf(arrowFields(f.Fields)...)
	case TypeArray:
		if f.Element == nil {
			return nil
		}
		elem := f.Element.ArrowType()
		if elem == nil {
			return nil
		}
		return listOf(elem)
	}
	return nil
}

// listOf is a list of nullable t, its child named "element".
func listOf(t arrow.DataType) *arrow.ListType {
	return arrow.ListOfField(arrow.Field{Name: "element", Type: t, Nullable: true})
}

// arrowFields converts fields to nullable Arrow fields, in order.
func arrowFields(fields []*Field) []arrow.Field {
	out := make([]arrow.Field, len(fields))
	for i, f := range fields {
		out[i] = arrow.Field{Name: f.Name, Type: f.ArrowType(), Nullable: true}
	}
	return out
}

// nested returns the fields nested under f: an object's fields, or those of
// the innermost element of an array.
func (f *Field) nested() []*Field {
	for f.Type == TypeArray && f.Element != nil {
		f = f.Element
	}
	if f.Type != TypeObject {
		return nil
	}
	return f.Fields
}
