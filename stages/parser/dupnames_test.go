package parser

import (
	"strings"
	"testing"

	"github.com/go-json-experiment/json/jsontext"
)

// checkDupNames compares dupNames with jsontext's own check on a value of
// valid syntax; it skips other values (ReadValue never returns them).
func checkDupNames(t *testing.T, s *nameScan, v string) {
	t.Helper()
	if !jsontext.Value(v).IsValid(jsontext.AllowDuplicateNames(true)) {
		return
	}
	if got, want := s.dupNames([]byte(v)), !jsontext.Value(v).IsValid(); got != want {
		t.Errorf("dupNames(%s) = %v, jsontext says %v", v, got, want)
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
		if got := s.dupNames([]byte(c.v)); got != c.dup {
			t.Errorf("dupNames(%.60s) = %v, want %v", c.v, got, c.dup)
		}
		checkDupNames(t, &s, c.v)
	}
}

// FuzzDupNames checks dupNames against jsontext on any value of valid
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
