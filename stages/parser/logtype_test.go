package parser_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/entralake/entralake/schema"
	"github.com/entralake/entralake/stages/parser"
	"github.com/entralake/entralake/stages/parser/parsertest"
)

// TestSecondLogType checks that a log type is a YAML file: a small one
// that shares no field with Azure.Audit parses into its own tables, its
// records into rows with the p_ columns (event time from a number, the
// indicators, p_extra for what does not fit) and its bad lines into its
// quarantine table, the partition's category taken from the container.
func TestSecondLogType(t *testing.T) {
	data, err := os.ReadFile("testdata/logtypes/test_simple.yml")
	if err != nil {
		t.Fatal(err)
	}
	lt, err := schema.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2025, 4, 11, 16, 1, 2, 0, time.UTC)
	lines := []string{
		`{"at":"2025-04-11T16:01:02Z","user":"alice","source":"10.0.0.1","bytes":12,"ratio":0.5,"tags":["a","b"],"meta":{"ok":true,"note":{"x":1}}}`,
		fmt.Sprintf(`{"at":%d,"user":"bob","source":"not an ip","bytes":"7","ratio":"x"}`, at.Unix()),
		`{"user":"carol"}`,
		`not json`,
		`{"at":"2025-04-11T17:00:00Z","unknown":1}`,
	}
	blob := []byte(strings.Join(lines, "\n") + "\n")
	p := parsertest.New(t, parser.Config{LogType: lt})
	task := schema.Task{SourceID: "src", Container: "insights-logs-apps", Blob: "y=2025/m=04/d=11/h=16/m=00/PT1H.json", Size: int64(len(blob)), End: int64(len(blob)), Final: true}
	rows := map[string][]map[string]any{} // by table/partition
	st, err := p.Parse(t.Context(), task, 0, bytes.NewReader(blob), func(b parser.Batch) error {
		defer b.Record.Release()
		js, err := b.Record.MarshalJSON()
		if err != nil {
			return err
		}
		var rs []map[string]any
		if err := json.Unmarshal(js, &rs); err != nil {
			return err
		}
		key := b.Table + "/" + b.Partition
		rows[key] = append(rows[key], rs...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if st.Records != 5 || st.Rows != 3 || st.Quarantined != 2 {
		t.Fatalf("stats %+v, want 5 records: 3 rows, 2 quarantined", st)
	}
	var keys []string
	for k := range rows {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	want := []string{
		"test_simple/category=apps/date=2025-04-11/hour=16",
		"test_simple/category=apps/date=2025-04-11/hour=17",
		"test_simple_quarantine/date=2025-04-11",
	}
	if !slices.Equal(keys, want) {
		t.Fatalf("batches for %q, want %q", keys, want)
	}
	first, second := rows[want[0]][0], rows[want[0]][1]
	for col, v := range map[string]any{
		schema.ColLogType: "Test.Simple", "user": "alice", "bytes": 12.0, "ratio": 0.5, schema.ColExtra: nil,
		schema.ColAnyUsernames: []any{"alice"}, schema.ColAnyIPAddresses: []any{"10.0.0.1"}, schema.ColSourceID: "src",
	} {
		if got := first[col]; fmt.Sprint(got) != fmt.Sprint(v) {
			t.Errorf("first row: %s=%v, want %v", col, got, v)
		}
	}
	if got := fmt.Sprint(first["tags"], first["meta"]); got != "[a b] map[note:{\"x\":1} ok:true]" {
		t.Errorf("first row: tags and meta %s", got)
	}
	if got := fmt.Sprint(first[schema.ColEventTime]); got != "2025-04-11T16:01:02Z" {
		t.Errorf("first row: %s=%s, want 2025-04-11T16:01:02Z", schema.ColEventTime, got)
	}
	if got := fmt.Sprint(second[schema.ColEventTime]); got != "2025-04-11T16:01:02Z" {
		t.Errorf("second row (a Unix time): %s=%s, want 2025-04-11T16:01:02Z", schema.ColEventTime, got)
	}
	for col, v := range map[string]any{"bytes": 7.0, "ratio": nil, schema.ColExtra: `{"ratio":"x"}`, schema.ColAnyIPAddresses: []any{}} {
		if got := second[col]; fmt.Sprint(got) != fmt.Sprint(v) {
			t.Errorf("second row: %s=%v, want %v", col, got, v)
		}
	}
	if got := rows[want[1]][0][schema.ColExtra]; got != `{"unknown":1}` {
		t.Errorf("third row: %s=%v, want the unknown key", schema.ColExtra, got)
	}
	var reasons []string
	for _, q := range rows[want[2]] {
		if q[schema.ColLogType] != "Test.Simple" {
			t.Errorf("quarantined with %s=%v", schema.ColLogType, q[schema.ColLogType])
		}
		reasons = append(reasons, fmt.Sprint(q[schema.ColReason]))
	}
	if len(reasons) != 2 || !strings.HasPrefix(reasons[0], "missing required field") || !strings.HasPrefix(reasons[1], "invalid JSON") {
		t.Errorf("quarantine reasons %q, want a missing required field, then invalid JSON", reasons)
	}
}
