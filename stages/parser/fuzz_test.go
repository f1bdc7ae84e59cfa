package parser

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/entralake/entralake/schema"
)

// FuzzParse checks that no input panics the parser and that every record is
// accounted for: each one ends as a row or as a quarantined record, the
// emitted batches hold exactly those, and the whole input is consumed.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join(corpusDir, "*.json"))
	more, _ := filepath.Glob("testdata/entra/*.json")
	for _, s := range append(seeds, more...) {
		data, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
		for _, l := range bytes.SplitAfter(data, []byte("\n")) {
			f.Add(l)
		}
	}
	f.Add([]byte(goodRec + "\r\n" + goodRec))
	f.Add([]byte("{\n\"records\": [\n" + goodRec + "\n]}"))
	f.Add([]byte("\xEF\xBB\xBF[" + goodRec + "]"))
	p := newTestParser(f, Config{BatchRows: 3, MaxRecordSize: 1 << 16})
	f.Fuzz(func(t *testing.T, data []byte) {
		task := schema.Task{Container: "insights-logs-fuzz", Blob: "y=2025/m=04/d=11/h=16/m=00/PT1H.json", End: int64(len(data)), Final: true}
		var rows, quarantined int64
		st, err := p.Parse(context.Background(), task, 0, bytes.NewReader(data), func(b Batch) error {
			defer b.Record.Release()
			if b.Table == "azure_audit" {
				rows += b.Record.NumRows()
			} else {
				quarantined += b.Record.NumRows()
			}
			return nil
		})
		if err != nil {
			t.Fatalf("Parse: %v", err)
		}
		if st.Rows+st.Quarantined != st.Records {
			t.Fatalf("rows %d + quarantined %d != records %d", st.Rows, st.Quarantined, st.Records)
		}
		if rows != st.Rows || quarantined != st.Quarantined {
			t.Fatalf("emitted %d rows and %d quarantined, stats say %d and %d", rows, quarantined, st.Rows, st.Quarantined)
		}
		if st.Consumed != int64(len(data)) {
			t.Fatalf("consumed %d of %d bytes", st.Consumed, len(data))
		}
		if nonBlank := countRecords(data); st.Records < nonBlank && !bytes.ContainsAny(data, "{[") {
			t.Fatalf("records %d < non-blank lines %d", st.Records, nonBlank)
		}
	})
}
