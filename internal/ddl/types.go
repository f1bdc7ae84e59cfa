package ddl

import (
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
)

// spelling is how an engine writes nested types.
type spelling struct {
	quote  func(string) string
	scalar func(arrow.DataType) (string, bool)
	// open and close wrap a struct's members; sep goes between a member's
	// name and type.
	open, close, sep string
	// list spells a list of elem; nil when the engine has only an untyped
	// ARRAY (Snowflake).
	list func(elem string) string
	// object is the untyped spelling of a struct (Snowflake's OBJECT); empty
	// when structs are typed.
	object, array string
	// multiline puts each struct member on its own line.
	multiline bool
}

// typ spells t; indent is the indentation of the line the type starts on.
func (s *spelling) typ(t arrow.DataType, indent string) (string, error) {
	if name, ok := s.scalar(t); ok {
		return name, nil
	}
	switch t := t.(type) {
	case *arrow.StructType:
		if s.object != "" {
			return s.object, nil
		}
		inner := indent + "  "
		parts := make([]string, 0, t.NumFields())
		for _, f := range t.Fields() {
			ft, err := s.typ(f.Type, inner)
			if err != nil {
				return "", err
			}
			parts = append(parts, s.quote(f.Name)+s.sep+ft)
		}
		if !s.multiline {
			return s.open + strings.Join(parts, ",") + s.close, nil
		}
		return s.open + "\n" + inner + strings.Join(parts, ",\n"+inner) + "\n" + indent + s.close, nil
	case *arrow.ListType:
		if s.array != "" {
			return s.array, nil
		}
		elem, err := s.typ(t.Elem(), indent)
		if err != nil {
			return "", err
		}
		return s.list(elem), nil
	}
	return "", errType(t)
}
