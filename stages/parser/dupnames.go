package parser

import (
	"bytes"

	"github.com/go-json-experiment/json/jsontext"
)

// check reports whether some object in v, a JSON value of valid syntax
// (as ReadValue returns it), has two members of the same name, as
// jsontext.Value.IsValid would, without its name sets: the objects of a
// log record are small, and a linear look through one object's names
// beats hashing them. Objects of more than maxLinearNames members, and
// escaped names, are left to IsValid. In the same pass it reports whether
// v has whitespace between tokens (needsCompact), unless it found a
// duplicate.
func (s *nameScan) check(v []byte) (dup, spaced bool) {
	const maxLinearNames = 64
	s.stack = s.stack[:0]
	s.names = s.names[:0]
	for i := 0; i < len(v); i++ {
		switch c := v[i]; c {
		case '{':
			s.stack = append(s.stack, level{object: true, key: true, first: len(s.names)})
		case '[':
			s.stack = append(s.stack, level{first: len(s.names)})
		case '}', ']':
			top := s.stack[len(s.stack)-1]
			s.names = s.names[:top.first]
			s.stack = s.stack[:len(s.stack)-1]
		case ',':
			if top := &s.stack[len(s.stack)-1]; top.object {
				top.key = true
			}
		case ' ', '\t', '\r', '\n':
			spaced = true
		case '"':
			end := i + 1
			escaped := false
			for ; v[end] != '"'; end++ {
				if v[end] == '\\' {
					escaped = true
					end++
				}
			}
			if n := len(s.stack); n > 0 && s.stack[n-1].object && s.stack[n-1].key {
				top := &s.stack[n-1]
				top.key = false
				name := v[i+1 : end]
				if escaped || len(s.names)-top.first >= maxLinearNames {
					if !jsontext.Value(v).IsValid() {
						return true, false
					}
					return false, needsCompact(v)
				}
				for _, o := range s.names[top.first:] {
					if bytes.Equal(o, name) {
						return true, false
					}
				}
				s.names = append(s.names, name)
			}
			i = end
		}
	}
	return false, spaced
}

// nameScan holds check's buffers between calls.
type nameScan struct {
	stack []level
	names [][]byte
}

type level struct {
	object bool // an object, not an array
	key    bool // the next string is a member name
	first  int  // the object's names start at names[first]
}
