package parser

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/entralake/entralake/schema"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// TestGolden parses each testdata/entra/*.json and compares the rows and
// quarantined records (null fields left out) with its .golden file.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/entra/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden inputs: %v", err)
	}
	p := newTestParser(t, Config{})
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			res := parseBytes(t, p, schema.Task{Final: true, Container: "insights-logs-test", Blob: "tenantId=t/y=2025/m=04/d=11/h=08/m=00/PT1H.json"}, data)
			got := renderBatches(t, res)
			golden := strings.TrimSuffix(f, ".json") + ".golden"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("output differs from %s (run go test -update and review the diff):\n%s", golden, got)
			}
		})
	}
}

func renderBatches(t *testing.T, res *result) []byte {
	var out bytes.Buffer
	fmt.Fprintf(&out, "# records=%d rows=%d quarantined=%d mismatches=%d consumed=%d\n",
		res.stats.Records, res.stats.Rows, res.stats.Quarantined, res.stats.Mismatches, res.stats.Consumed)
	for _, b := range res.batches {
		fmt.Fprintf(&out, "## %s %s (%s)\n", b.Table, b.Partition, b.Key)
		js, err := b.Record.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		var rows []map[string]any
		if err := json.Unmarshal(js, &rows); err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			line, err := json.Marshal(dropNulls(r))
			if err != nil {
				t.Fatal(err)
			}
			out.Write(line)
			out.WriteByte('\n')
		}
	}
	return out.Bytes()
}

func dropNulls(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if e == nil {
				delete(x, k)
				continue
			}
			x[k] = dropNulls(e)
		}
		return x
	case []any:
		for i := range x {
			x[i] = dropNulls(x[i])
		}
	}
	return v
}
