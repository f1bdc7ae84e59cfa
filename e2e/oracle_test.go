package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
)

// The oracle reads an export folder (laid out as `az storage blob
// download-batch` writes it: <container>/<blob path>) the simple way, with
// encoding/json, and decides for every input record whether it must become a
// row or go to quarantine. It shares no code with entralake.

// record is one input record: a non-blank line of a blob, or one element of
// a {"records":[...]} wrapper.
type record struct {
	Blob   string // container/blob path, as in p_source_file.blob
	Offset int64  // byte offset of the record's line; -1 inside a multi-line wrapper
	Index  int64  // element index inside a records wrapper, else 0
	Raw    []byte // the line (without its line end), or the wrapper element

	Fields map[string]any // decoded object (numbers as json.Number); nil if not an object
	Good   bool           // becomes a row
	Why    string         // why it is quarantined
	Time   time.Time      // parsed `time`, UTC, truncated to microseconds
}

// key locates a record in the lake.
func (r record) key() recordKey { return recordKey{r.Blob, r.Offset, r.Index} }

func (r record) String() string {
	return fmt.Sprintf("%s@%d[%d]", r.Blob, r.Offset, r.Index)
}

type recordKey struct {
	Blob   string
	Offset int64
	Index  int64
}

// export is what the oracle knows about an export folder.
type export struct {
	Records []record
	Total   int
	Good    int
	Bad     int
	// Wrapped lists blobs that are one multi-line {"records":[...]} document.
	// Their records are matched by element index alone.
	Wrapped map[string]bool
	// Blobs lists every blob, sorted.
	Blobs []string
}

// readExport reads every blob under root. A blob is a file inside a
// container directory, so a file at the root itself (README.md) is not one.
func readExport(root string) (*export, error) {
	ex := &export{Wrapped: map[string]bool{}}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		name := filepath.ToSlash(rel)
		if !strings.Contains(name, "/") {
			return nil // not inside a container
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		ex.Blobs = append(ex.Blobs, name)
		recs, wrapped := splitBlob(name, data)
		if wrapped {
			ex.Wrapped[name] = true
		}
		ex.Records = append(ex.Records, recs...)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read export %s: %w", root, err)
	}
	slices.Sort(ex.Blobs)
	for i := range ex.Records {
		classify(&ex.Records[i])
		ex.Total++
		if ex.Records[i].Good {
			ex.Good++
		} else {
			ex.Bad++
		}
	}
	return ex, nil
}

// splitBlob cuts a blob into records. A blob that is as a whole one
// {"records":[...]} object (possibly pretty-printed over many lines) gives
// its elements; otherwise every non-blank line is a record, and a line that
// is itself such a wrapper gives its elements.
func splitBlob(blob string, data []byte) (recs []record, wrapped bool) {
	if elems, ok := wrapperElements(data); ok && bytes.Count(bytes.TrimSpace(data), []byte("\n")) > 0 {
		for i, e := range elems {
			recs = append(recs, record{Blob: blob, Offset: -1, Index: int64(i), Raw: e})
		}
		return recs, true
	}
	for off := 0; off < len(data); {
		end := bytes.IndexByte(data[off:], '\n')
		next := off + end + 1
		if end < 0 {
			end, next = len(data)-off, len(data)
		}
		line := bytes.TrimSuffix(data[off:off+end], []byte("\r"))
		if len(bytes.TrimSpace(line)) > 0 {
			if elems, ok := wrapperElements(line); ok {
				for i, e := range elems {
					recs = append(recs, record{Blob: blob, Offset: int64(off), Index: int64(i), Raw: e})
				}
			} else {
				recs = append(recs, record{Blob: blob, Offset: int64(off), Raw: line})
			}
		}
		off = next
	}
	return recs, false
}

// wrapperElements returns the elements of a {"records":[...]} object.
func wrapperElements(data []byte) ([]json.RawMessage, bool) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' {
		return nil, false
	}
	var w map[string]json.RawMessage
	if err := json.Unmarshal(data, &w); err != nil {
		return nil, false
	}
	raw, ok := w["records"]
	if !ok {
		return nil, false
	}
	if _, ok := w["time"]; ok {
		return nil, false
	}
	var elems []json.RawMessage
	if err := json.Unmarshal(raw, &elems); err != nil {
		return nil, false
	}
	return elems, true
}

// classify decides whether r becomes a row: it must be a JSON object with a
// non-empty operationName and resourceId and a time in one of the two
// accepted formats. Keys match exactly first, then ignoring case.
func classify(r *record) {
	if !json.Valid(r.Raw) {
		r.Why = "not JSON"
		return
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(r.Raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		r.Why = "not JSON: " + err.Error()
		return
	}
	m, ok := v.(map[string]any)
	if !ok {
		r.Why = "not a JSON object"
		return
	}
	r.Fields = m
	for _, k := range []string{"operationName", "resourceId"} {
		if s, ok := textValue(lookup(m, k)); !ok || s == "" {
			r.Why = "no " + k
			return
		}
	}
	s, ok := lookup(m, "time").(string)
	if !ok || s == "" {
		r.Why = "no time"
		return
	}
	t, ok := parseEventTime(s)
	if !ok {
		r.Why = "bad time " + s
		return
	}
	r.Time = t
	r.Good = true
}

// textValue returns a value usable as a string: a string, or a number as its text.
func textValue(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case json.Number:
		return v.String(), true
	}
	return "", false
}

var (
	rfc3339Re = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$`)
	usTimeRe  = regexp.MustCompile(`^\d{1,2}/\d{1,2}/\d{4} \d{1,2}:\d{2}:\d{2} [AP]M$`)
)

// parseEventTime parses the two time formats of the spec: RFC 3339 with any
// number of fractional digits, and "M/D/YYYY h:mm:ss AM" (UTC), padded or not.
// The result is UTC, truncated to microseconds.
func parseEventTime(s string) (time.Time, bool) {
	var t time.Time
	var err error
	switch {
	case rfc3339Re.MatchString(s):
		t, err = time.Parse(time.RFC3339Nano, s)
	case usTimeRe.MatchString(s):
		t, err = time.ParseInLocation("1/2/2006 3:04:05 PM", s, time.UTC)
	default:
		return time.Time{}, false
	}
	if err != nil {
		return time.Time{}, false
	}
	return t.UTC().Truncate(time.Microsecond), true
}

// lookup returns m[key], or when there is no such key the value of the first
// key (in sorted order) equal to key ignoring case; nil when there is none.
func lookup(m map[string]any, key string) any {
	if v, ok := m[key]; ok {
		return v
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if strings.EqualFold(k, key) {
			return m[k]
		}
	}
	return nil
}

// notObject marks a path that crosses a value that is neither an object nor a list.
type notObject struct{}

// lookupPath follows a path of object keys and list indexes (int, 0-based)
// through v. It returns nil when a step is missing or null, and notObject{}
// when a step crosses a value of another kind.
func lookupPath(v any, path ...any) any {
	for _, step := range path {
		switch step := step.(type) {
		case string:
			switch m := v.(type) {
			case nil:
				return nil
			case map[string]any:
				v = lookup(m, step)
			default:
				return notObject{}
			}
		case int:
			switch l := v.(type) {
			case nil:
				return nil
			case []any:
				if step >= len(l) {
					return nil
				}
				v = l[step]
			default:
				return notObject{}
			}
		}
	}
	return v
}

// categoryOf returns the record's category field, "" if it has none.
func (r record) categoryOf() string {
	s, _ := lookup(r.Fields, "category").(string)
	return s
}
