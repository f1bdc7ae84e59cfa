package parser

import (
	"strings"
	"testing"

	"github.com/go-json-experiment/json/jsontext"
)

// checkDupNames compares check with jsontext on a value of valid syntax
// (it skips other values: ReadValue never returns them): the duplicate
// names with Value.IsValid, and, for a value without, the blanks with
// what Value.Compact changes.
func checkDupNames(t *testing.T, s *nameScan, v string) {
	t.Helper()
	if !jsontext.Value(v).IsValid(jsontext.AllowDuplicateNames(true)) {
		return
	}
	dup, spaced := s.check([]byte(v))
	if want := !jsontext.Value(v).IsValid(); dup != want {
		t.Errorf("check(%s): duplicate %v, jsontext says %v", v, dup, want)
	}
	if dup {
		return
	}
	c := jsontext.Value(v)
	if err := c.Compact(); err != nil {
		t.Fatalf("%s: %v", v, err)
	}
	if changed := string(c) != v; spaced != changed {
		t.Errorf("check(%s): blanks %v, but Compact changes it: %v", v, spaced, changed)
	}
}

func TestDupNames(t *testing.T) {
	var s nameScan
	many := func(dup bool) string {
		var b strings.Builder
		b.WriteString("{")
		for i := range 100 {
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString(`"k` + strings.Repeat("x", i) + `":1`)
		}
		if dup {
			b.WriteString(`,"kxx":2`)
		}
		b.WriteString("}")
		return b.String()
	}
	cases := []struct {
		v   string
		dup bool
	}{
		{`{"a":1,"b":2}`, false},
		{`{"a":1,"a":2}`, true},
		{`{"a":{"a":1},"b":{"a":2}}`, false},
		{`{"a":{"x":1,"x":2}}`, true},
		{`[{"a":1},{"a":2}]`, false},
		{`[{"a":1,"b":[{"c":1,"c":2}]}]`, true},
		{`{"a":"b","b":"a"}`, false},
		{`{"a":"\"a\":1","a ":2}`, false},
		{`{"\u0061":1,"a":2}`, true}, // the same name, escaped
		{`{"a\\":1,"a\\":2}`, true},
		{`{"x":[1,"x",{"x":3}],"y":{}}`, false},
		{`{"":1,"":2}`, true},
		{`[]`, false},
		{`{}`, false},
		{many(false), false},
		{many(true), true},
	}
	for _, c := range cases {
		if got, _ := s.check([]byte(c.v)); got != c.dup {
			t.Errorf("check(%.60s): duplicate %v, want %v", c.v, got, c.dup)
		}
		checkDupNames(t, &s, c.v)
	}
}

// FuzzDupNames checks check against jsontext on any value of valid
// syntax.
func FuzzDupNames(f *testing.F) {
	for _, v := range []string{`{"a":1,"a":2}`, `[{"a":{"b":[1,{"b":2,"b":3}]}}]`, `{"\u0061":1,"a":2}`, `{"a":"}","b":"{\"a\":1}"}`} {
		f.Add(v)
	}
	var s nameScan
	f.Fuzz(func(t *testing.T, v string) {
		if v == "" || v[0] != '{' && v[0] != '[' {
			return
		}
		checkDupNames(t, &s, v)
	})
}
