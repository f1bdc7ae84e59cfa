package parser

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/entralake/entralake/schema"
	"github.com/go-json-experiment/json/jsontext"
)

const corpusDir = "../../../shared/corpus/entra-export"

func newTestParser(t testing.TB, cfg Config) *Parser {
	t.Helper()
	lt, err := schema.Load("Azure.Audit")
	if err != nil {
		t.Fatal(err)
	}
	cfg.LogType = lt
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return time.Date(2025, 4, 12, 0, 0, 0, 0, time.UTC) }
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Release)
	return p
}

// result collects what one Parse call emitted.
type result struct {
	stats   Stats
	batches []Batch
	rows    int64
	qrows   int64
}

func (r *result) release() {
	for _, b := range r.batches {
		b.Record.Release()
	}
}

func parseBytes(t testing.TB, p *Parser, task schema.Task, data []byte) *result {
	t.Helper()
	res := &result{}
	if task.Container == "" {
		task.Container = "insights-logs-signinlogs"
	}
	if task.Blob == "" {
		task.Blob = "tenantId=00000000-0000-0000-0000-000000000001/y=2025/m=04/d=11/h=16/m=00/PT1H.json"
	}
	task.End = int64(len(data))
	st, err := p.Parse(context.Background(), task, task.Start, bytes.NewReader(data[task.Start:]), func(b Batch) error {
		res.batches = append(res.batches, b)
		if b.Table == "azure_audit" {
			res.rows += b.Record.NumRows()
		} else {
			res.qrows += b.Record.NumRows()
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	res.stats = st
	t.Cleanup(res.release)
	return res
}

func countRecords(data []byte) int64 {
	var n int64
	for _, l := range bytes.Split(data, []byte("\n")) {
		if len(bytes.TrimSpace(l)) > 0 {
			n++
		}
	}
	return n
}

func TestParseCorpus(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(corpusDir, "*.json"))
	if len(files) == 0 {
		t.Skip("no corpus at " + corpusDir)
	}
	p := newTestParser(t, Config{})
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			res := parseBytes(t, p, schema.Task{Final: true}, data)
			want := countRecords(data)
			if got := res.stats.Records; got != want {
				t.Fatalf("records=%d, want %d", got, want)
			}
			if res.stats.Quarantined != 0 {
				for _, b := range res.batches {
					if b.Table != "azure_audit" {
						t.Logf("quarantine: %v", b.Record.Column(6))
					}
				}
				t.Fatalf("quarantined=%d, want 0", res.stats.Quarantined)
			}
			if got, want := res.rows, res.stats.Rows; got != want {
				t.Fatalf("emitted rows=%d, stats rows %d", got, want)
			}
			if got, want := res.stats.Consumed, int64(len(data)); got != want {
				t.Fatalf("consumed=%d, want %d", got, want)
			}
		})
	}
}

const goodRec = `{"time":"2025-04-11T16:01:02.1234567Z","resourceId":"/tenants/x/providers/Microsoft.aadiam","operationName":"Sign-in activity","category":"SignInLogs","callerIpAddress":"10.0.0.1","properties":{"ipAddress":"10.0.0.1","userPrincipalName":"a@b.c"}}`

func TestFraming(t *testing.T) {
	rec := goodRec
	pretty := "{\n  \"time\": \"2025-04-11T16:01:02Z\",\n  \"resourceId\": \"/r\",\n  \"operationName\": \"op\"\n}\n"
	tests := []struct {
		name        string
		in          string
		final       bool
		rows, quar  int64
		consumedLen int // -1: whole input
	}{
		{"lf", rec + "\n" + rec + "\n", true, 2, 0, -1},
		{"crlf", rec + "\r\n" + rec + "\r\n", true, 2, 0, -1},
		{"no final newline, final", rec + "\n" + rec, true, 2, 0, -1},
		{"no final newline, growing", rec + "\n" + rec, false, 1, 0, len(rec) + 1},
		{"blank lines", "\n\r\n" + rec + "\n   \n" + rec + "\n\n", true, 2, 0, -1},
		{"bom", "\xEF\xBB\xBF" + rec + "\n", true, 1, 0, -1},
		{"records wrapper one line", `{"records":[` + rec + "," + rec + `]}` + "\n", true, 2, 0, -1},
		{"records wrapper pretty", "{\n \"records\": [\n  " + rec + ",\n  " + rec + "\n ]\n}\n", true, 2, 0, -1},
		{"array of records pretty", "[\n" + rec + ",\n" + rec + "\n]\n", true, 2, 0, -1},
		{"single pretty record", pretty, true, 1, 0, -1},
		{"pretty record then lines", pretty + rec + "\n", true, 2, 0, -1},
		{"not json", "hello\n" + rec + "\n", true, 1, 1, -1},
		{"truncated line then good lines", rec[:60] + "\n" + rec + "\n" + rec + "\n", true, 2, 1, -1},
		{"truncated mid-value then good", rec[:len(rec)-1] + "\n" + rec + "\n", true, 1, 1, -1},
		// Brackets that balance over three lines without making JSON: the good
		// line in the middle is a row, the two bad lines are quarantined alone.
		{"unbalanced lines around a good one", `{"time":"2025-04-11T16:00:00Z","x":{` + "\n" + rec + "\n" + `}}` + "\n", true, 1, 2, -1},
		{"missing time", `{"resourceId":"/r","operationName":"op"}` + "\n" + rec + "\n", true, 1, 1, -1},
		{"missing operationName", `{"time":"2025-04-11T16:01:02Z","resourceId":"/r"}` + "\n", true, 0, 1, -1},
		{"bad time", `{"time":"yesterday","resourceId":"/r","operationName":"op"}` + "\n", true, 0, 1, -1},
		{"not an object", `[1,2]` + "\n" + `"str"` + "\n" + `42` + "\n", true, 0, 4, -1}, // an array is read as records: two bad ones
		{"pretty wrapper, one element with a duplicate key", "{\"records\": [\n" + rec + ",\n" + `{"time":"2025-04-11T16:01:02Z","time":"2025-04-11T16:01:03Z","resourceId":"/r","operationName":"op"}` + ",\n" + rec + "\n]}\n", true, 2, 1, -1},
		{"wrapper with one bad element", `{"records":[` + rec + `,{"time":"x"},` + rec + `]}` + "\n", true, 2, 1, -1},
		{"duplicate keys", `{"time":"2025-04-11T16:01:02Z","time":"2025-04-11T16:01:03Z","resourceId":"/r","operationName":"op"}` + "\n", true, 0, 1, -1},
		{"nul bytes", "\x00\x00\x00\n" + rec + "\n", true, 1, 1, -1},
		{"trailing garbage", rec + "xyz\n", true, 0, 1, -1},
		{"empty", "", true, 0, 0, -1},
	}
	p := newTestParser(t, Config{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := parseBytes(t, p, schema.Task{Final: tt.final}, []byte(tt.in))
			if res.rows != tt.rows || res.qrows != tt.quar {
				var reasons []string
				for _, b := range res.batches {
					if b.Table != "azure_audit" {
						col := b.Record.Column(6).(*array.String)
						for i := 0; i < col.Len(); i++ {
							reasons = append(reasons, col.Value(i))
						}
					}
				}
				t.Fatalf("rows=%d quarantined=%d, want %d and %d; reasons %q", res.rows, res.qrows, tt.rows, tt.quar, reasons)
			}
			if got, want := res.stats.Rows+res.stats.Quarantined, res.stats.Records; got != want {
				t.Fatalf("rows+quarantined=%d, records %d", got, want)
			}
			want := int64(len(tt.in))
			if tt.consumedLen >= 0 {
				want = int64(tt.consumedLen)
			}
			if got := res.stats.Consumed; got != want {
				t.Fatalf("consumed=%d, want %d", got, want)
			}
		})
	}
}

func TestConversions(t *testing.T) {
	in := `{"time":"4/4/2025 9:05:01 PM","resourceId":"/r","operationName":"op","level":"4","durationMs":"12","Level":"x","callerIpAddress":"<null>","unknownKey":{"a":1},` +
		`"properties":{"isInteractive":"true","processingTimeInMilliseconds":7.0,"__UDI_RequiredFields_EventTime":638799492563154034,"deviceDetail":{ "os": "Windows" },` +
		`"targetResources":[{"id":"t1","modifiedProperties":[{"displayName":"d","oldValue":1,"newValue":null}]},{"id":"t2"}]}}` + "\n"
	p := newTestParser(t, Config{})
	res := parseBytes(t, p, schema.Task{Final: true}, []byte(in))
	if res.rows != 1 {
		t.Fatalf("rows=%d, want 1 (stats %+v)", res.rows, res.stats)
	}
	rec := res.batches[0].Record
	js, err := rec.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	s := string(js)
	for _, want := range []string{
		`"time":"2025-04-04T21:05:01Z"`,
		`"durationMs":12`,
		`"Level":4`,
		`"isInteractive":true`,
		`"processingTimeInMilliseconds":7`,
		`"__UDI_RequiredFields_EventTime":"2025-04-11T06:20:56.315403Z"`,
		`"deviceDetail":"{\"os\":\"Windows\"}"`,
		`"oldValue":"1"`,
		`"p_any_ip_addresses":[]`,
		`unknownKey`,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %s\n%s", want, s)
		}
	}
	_ = arrow.PrimitiveTypes.Int64
}

// rowIDs returns the p_row_id values of the rows res emitted.
func rowIDs(t *testing.T, res *result) []string {
	t.Helper()
	var ids []string
	for _, b := range res.batches {
		if b.Table != "azure_audit" {
			continue
		}
		idx := b.Record.Schema().FieldIndices(schema.ColRowID)
		if len(idx) != 1 {
			t.Fatalf("no %s column in %v", schema.ColRowID, b.Record.Schema())
		}
		col := b.Record.Column(idx[0]).(*array.String)
		for i := range col.Len() {
			ids = append(ids, col.Value(i))
		}
	}
	return ids
}

// TestRowID checks p_row_id: the same on every run, distinct for every
// record (lines and records of a wrapper), 32 hex digits starting with the
// blob's own prefix, and a hash of the whole position past the offsets
// the layout holds.
func TestRowID(t *testing.T) {
	rec := func(i int) string {
		return `{"time":"2025-04-11T16:0` + string(rune('0'+i)) + `:00Z","resourceId":"/r","operationName":"Sign-in activity","category":"SignInLogs"}`
	}
	data := []byte(rec(1) + "\n" + rec(2) + "\n" + `{"records":[` + rec(3) + "," + rec(4) + "]}\n" + rec(5) + "\n")
	p := newTestParser(t, Config{})
	first := rowIDs(t, parseBytes(t, p, schema.Task{Final: true}, data))
	again := rowIDs(t, parseBytes(t, p, schema.Task{Final: true}, data))
	other := rowIDs(t, parseBytes(t, p, schema.Task{Final: true, Blob: "tenantId=x/y=2025/m=04/d=11/h=17/m=00/PT1H.json"}, data))
	if len(first) != 5 {
		t.Fatalf("%d ids, want 5: %v", len(first), first)
	}
	if !slices.Equal(first, again) {
		t.Fatalf("ids differ between runs:\n%v\n%v", first, again)
	}
	seen := map[string]bool{}
	for i, id := range append(slices.Clone(first), other...) {
		if len(id) != 32 || strings.Trim(id, "0123456789abcdef") != "" {
			t.Fatalf("id %q is not 32 hex digits", id)
		}
		if seen[id] {
			t.Fatalf("id %q twice (index %d)", id, i)
		}
		seen[id] = true
	}
	for _, ids := range [][]string{first, other} {
		for _, id := range ids {
			if id[:16] != ids[0][:16] {
				t.Fatalf("ids of one blob with different prefixes: %v", ids)
			}
		}
	}
	if first[0][:16] == other[0][:16] {
		t.Fatalf("two blobs share the prefix %s", first[0][:16])
	}

	// An offset past 2^48 cannot be laid out: the id is a hash.
	const far = int64(1) << 48
	task := schema.Task{Container: "insights-logs-signinlogs", Blob: "b/PT1H.json", Start: far, End: far + int64(len(data)), Final: true}
	var big result
	if _, err := p.Parse(context.Background(), task, far, bytes.NewReader(data), func(b Batch) error {
		big.batches = append(big.batches, b)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(big.release)
	ids := rowIDs(t, &big)
	if len(ids) != 5 || ids[0][:16] == ids[1][:16] {
		t.Fatalf("ids past 2^48 are not hashes: %v", ids)
	}
}

// failAfter returns data, then err.
type failAfter struct {
	data []byte
	err  error
}

func (f *failAfter) Read(b []byte) (int, error) {
	if len(f.data) == 0 {
		return 0, f.err
	}
	n := copy(b, f.data)
	f.data = f.data[n:]
	return n, nil
}

// TestParseAfterFailedTask checks that a Parser reused after a task that
// failed midway (a read error, as when storage drops the connection) emits
// only the next task's rows and quarantined records: nothing of the failed
// task is left in its builders, to be written twice once it is retried.
func TestParseAfterFailedTask(t *testing.T) {
	rec := func(i int) string {
		return fmt.Sprintf(`{"time":"2025-04-11T16:00:%02dZ","resourceId":"/r","operationName":"Sign-in activity","category":"SignInLogs","properties":{"id":"%d"}}`, i, i)
	}
	var a strings.Builder
	for i := range 5 {
		a.WriteString(rec(i) + "\n")
	}
	a.WriteString("not json\n")
	p := newTestParser(t, Config{})
	task := schema.Task{Container: "insights-logs-signinlogs", Blob: "tenantId=t/y=2025/m=04/d=11/h=16/m=00/PT1H.json", Final: true}
	_, err := p.Parse(context.Background(), task, 0, &failAfter{data: []byte(a.String()), err: errors.New("connection reset")}, func(b Batch) error {
		b.Record.Release()
		return nil
	})
	if err == nil {
		t.Fatal("Parse of a failing reader: no error")
	}
	res := parseBytes(t, p, schema.Task{Final: true}, []byte(rec(7)+"\n"+rec(8)+"\n{bad\n"))
	if res.rows != 2 || res.qrows != 1 || res.stats.Rows != 2 || res.stats.Quarantined != 1 {
		t.Fatalf("after a failed task: %d rows and %d quarantined emitted (stats %d, %d), want 2 and 1",
			res.rows, res.qrows, res.stats.Rows, res.stats.Quarantined)
	}
}

// TestListOfScalarsWithNulls checks lists of scalars whose elements are
// null or cannot be converted (a null in the column): each row keeps its
// own elements. The Azure.Audit schema has only lists of objects; a
// custom log type may have these.
func TestListOfScalarsWithNulls(t *testing.T) {
	lt, err := schema.Parse([]byte(`schema: Test.Lists
fields:
  - name: time
    type: timestamp
    isEventTime: true
    required: true
    timeFormats: [rfc3339]
  - name: operationName
    type: string
    required: true
  - name: resourceId
    type: string
    required: true
  - name: tags
    type: array
    element:
      type: string
  - name: nums
    type: array
    element:
      type: bigint
  - name: props
    type: object
    fields:
      - name: ids
        type: array
        element:
          type: bigint
`))
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(Config{LogType: lt, Now: func() time.Time { return time.Date(2025, 4, 12, 0, 0, 0, 0, time.UTC) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Release)
	head := `"time":"2025-04-11T16:00:00Z","operationName":"op","resourceId":"/r"`
	data := "{" + head + `,"tags":["a",null],"nums":[1,"x"],"props":{"ids":[7,null]}}` + "\n" +
		"{" + head + `,"tags":["b"],"nums":[2],"props":null}` + "\n" +
		"{" + head + `,"tags":[null],"nums":null,"props":{"ids":[null,8]}}` + "\n"
	res := parseBytes(t, p, schema.Task{Final: true}, []byte(data))
	if len(res.batches) != 1 || res.stats.Rows != 3 || res.batches[0].Record.NumRows() != 3 {
		t.Fatalf("%d batches, %d rows; want 1 batch of 3 rows", len(res.batches), res.stats.Rows)
	}
	rec := res.batches[0].Record
	col := func(name string) string {
		idx := rec.Schema().FieldIndices(name)
		if len(idx) != 1 {
			t.Fatalf("no column %s", name)
		}
		return fmt.Sprint(rec.Column(idx[0]))
	}
	for name, want := range map[string]string{
		"tags":  `[["a" (null)] ["b"] [(null)]]`,
		"nums":  `[[1 (null)] [2] (null)]`,
		"props": `{[[7 (null)] (null) [(null) 8]]}`,
	} {
		if got := col(name); got != want {
			t.Errorf("%s = %s, want %s", name, got, want)
		}
	}
}

func TestNeedsCompact(t *testing.T) {
	for v, want := range map[string]bool{
		`{"a":1}`:                        false,
		`{"os":"Windows 10","b":[1,2]}`:  false,
		`{"q":"say \"hi there\"","n":1}`: false,
		`{"q":"a\\","b": 1}`:             true,
		`{"a": 1}`:                       true,
		"{\"a\":1,\n\"b\":2}":            true,
		"[1,\t2]":                        true,
		`["x y", "z"]`:                   true,
		`"just a string with spaces"`:    false,
		`{"k":"\"} x","y":" "}`:          false,
	} {
		if got := needsCompact([]byte(v)); got != want {
			t.Errorf("needsCompact(%s) = %v, want %v", v, got, want)
		}
		// It agrees with compacting: a value that needs none is unchanged.
		c := jsontext.Value(v)
		if err := c.Compact(); err != nil {
			t.Fatalf("%s: %v", v, err)
		}
		if changed := string(c) != v; changed != want {
			t.Errorf("%s: Compact changed it: %v, needsCompact says %v", v, changed, want)
		}
	}
}

// TestPartitioning checks the partition paths by hour and by day: records
// of two hours of one day and of the day before (an event time before
// 1970 too, where the division rounds the other way) land in the folders
// of their own UTC hour or day, and an unknown partitioning is refused.
func TestPartitioning(t *testing.T) {
	data := []byte(`{"time": "2025-04-11T16:02:44Z", "category": "SignInLogs", "operationName": "Sign-in activity", "resourceId": "/tenants/t", "tenantId": "t"}
{"time": "2025-04-11T17:59:59.999999Z", "category": "SignInLogs", "operationName": "Sign-in activity", "resourceId": "/tenants/t", "tenantId": "t"}
{"time": "2025-04-10T23:00:00Z", "category": "SignInLogs", "operationName": "Sign-in activity", "resourceId": "/tenants/t", "tenantId": "t"}
{"time": "2025-04-11T16:30:00Z", "category": "AuditLogs", "operationName": "Add user", "resourceId": "/tenants/t", "tenantId": "t"}
{"time": "1969-12-31T23:59:59Z", "category": "SignInLogs", "operationName": "Sign-in activity", "resourceId": "/tenants/t", "tenantId": "t"}
`)
	for _, c := range []struct {
		by   schema.Partitioning
		want map[string]int64
	}{
		{"", map[string]int64{
			"category=SignInLogs/date=2025-04-11/hour=16": 1, "category=SignInLogs/date=2025-04-11/hour=17": 1,
			"category=SignInLogs/date=2025-04-10/hour=23": 1, "category=AuditLogs/date=2025-04-11/hour=16": 1,
			"category=SignInLogs/date=1969-12-31/hour=23": 1,
		}},
		{schema.PartitionDay, map[string]int64{
			"category=SignInLogs/date=2025-04-11": 2, "category=SignInLogs/date=2025-04-10": 1,
			"category=AuditLogs/date=2025-04-11": 1, "category=SignInLogs/date=1969-12-31": 1,
		}},
	} {
		p := newTestParser(t, Config{Partitioning: c.by})
		res := parseBytes(t, p, schema.Task{Blob: "y=2025/m=04/d=11/h=16/m=00/PT1H.json", Final: true}, data)
		got := map[string]int64{}
		for _, b := range res.batches {
			if b.Table == "azure_audit" {
				got[b.Partition] += b.Record.NumRows()
			}
		}
		if res.qrows != 0 {
			t.Errorf("partitioning %q: %d records quarantined", c.by, res.qrows)
		}
		if !maps.Equal(got, c.want) {
			t.Errorf("partitioning %q: rows per partition %v, want %v", c.by, got, c.want)
		}
	}
	lt, err := schema.Load("Azure.Audit")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(Config{LogType: lt, Partitioning: "week"}); err == nil {
		t.Error("partitioning week: no error")
	}
}

// TestCategoryFromContainer: a record without a category (or with one that
// is not a string) is filed under its container's category, and its
// category column says so; one with a category keeps it.
func TestCategoryFromContainer(t *testing.T) {
	data := []byte(`{"time": "2025-04-11T16:02:44Z", "operationName": "Sign-in activity", "resourceId": "/tenants/t", "tenantId": "t"}
{"time": "2025-04-11T16:03:44Z", "category": "AuditLogs", "operationName": "Add user", "resourceId": "/tenants/t", "tenantId": "t"}
{"time": "2025-04-11T16:04:44Z", "category": {"not": "a string"}, "operationName": "Sign-in activity", "resourceId": "/tenants/t", "tenantId": "t"}
{"time": "2025-04-11T16:05:44Z", "category": null, "operationName": "Sign-in activity", "resourceId": "/tenants/t", "tenantId": "t"}
`)
	p := newTestParser(t, Config{})
	res := parseBytes(t, p, schema.Task{Container: "insights-logs-noninteractiveusersigninlogs", Final: true}, data)
	got := map[string][]string{} // partition -> category column values
	for _, b := range res.batches {
		if b.Table != "azure_audit" {
			continue
		}
		col := b.Record.Column(b.Record.Schema().FieldIndices("category")[0]).(*array.String)
		for i := range col.Len() {
			v := "<null>"
			if col.IsValid(i) {
				v = col.Value(i)
			}
			got[b.Partition] = append(got[b.Partition], v)
		}
	}
	want := map[string][]string{
		"category=noninteractiveusersigninlogs/date=2025-04-11/hour=16": {"noninteractiveusersigninlogs", "noninteractiveusersigninlogs", "noninteractiveusersigninlogs"},
		"category=AuditLogs/date=2025-04-11/hour=16":                    {"AuditLogs"},
	}
	if res.qrows != 0 || !reflect.DeepEqual(got, want) {
		t.Errorf("category column per partition %v (%d quarantined), want %v", got, res.qrows, want)
	}
}
