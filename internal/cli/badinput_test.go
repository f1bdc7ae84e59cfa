package cli

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// rec returns one valid record line with extra JSON members spliced in.
func rec(extra string) string {
	s := `{"time":"2025-04-11T16:00:00Z","resourceId":"/tenants/t/providers/Microsoft.aadiam","operationName":"Sign-in activity","category":"SignInLogs"`
	if extra != "" {
		s += "," + extra
	}
	return s + "}"
}

type badKind struct {
	name   string
	blob   string // file name inside the hour folder (default PT1H.json)
	data   []byte
	rows   int    // -1: rows + quarantined must equal the non-blank lines
	quar   int    // expected quarantined records
	reason string // a word every quarantine reason of the blob must contain
	extra  string // a key p_extra must name
}

func badKinds() []badKind {
	gz := new(bytes.Buffer)
	zw := gzip.NewWriter(gz)
	for i := 0; i < 50; i++ {
		fmt.Fprintln(zw, rec(`"correlationId":"`+strings.Repeat("x", i)+`"`))
	}
	zw.Close()
	rnd := make([]byte, 8192)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range rnd {
		rnd[i] = byte(r.Uint32())
	}
	deep := strings.Repeat("[", 10001) + strings.Repeat("]", 10001)
	lines := func(ls ...string) []byte { return []byte(strings.Join(ls, "\n") + "\n") }
	return []badKind{
		{name: "truncated JSON", data: lines(rec("")[:60]), quar: 1, reason: "truncated"},
		{name: "invalid UTF-8", data: lines(rec(`"identity":"bad ` + "\xff\xfe" + ` bytes"`)), quar: 1, reason: "UTF-8"},
		{name: "10 MB line", data: lines(rec(`"identity":"` + strings.Repeat("a", 10<<20) + `"`)), quar: 1, reason: "maximum record size"},
		{name: "nesting 10,001 deep", data: lines(rec(`"locationDetails":` + deep)), quar: 1, reason: "depth"},
		{name: "NUL bytes", data: lines("\x00\x00\x00" + rec("")), quar: 1, reason: "invalid character"},
		{name: "UTF-8 BOM", data: []byte("\xEF\xBB\xBF" + rec("") + "\n"), rows: 1},
		{name: "gzip file", data: gz.Bytes(), rows: -1, reason: "gzip"},
		{name: "random binary", data: rnd, rows: -1, reason: "JSON"},
		{name: "empty blob", data: nil},
		{name: "whitespace only", data: []byte("\n \r\n\t\n\n")},
		{name: "duplicate keys", data: lines(rec(`"operationName":"again"`)), quar: 1, reason: "duplicate"},
		{name: "number too large for int64", data: lines(rec(`"Level":99999999999999999999`)), rows: 1, extra: "Level"},
		{name: "NaN", data: lines(rec(`"durationMs":NaN`)), quar: 1, reason: "invalid character 'N'"},
		{name: "Infinity", data: lines(rec(`"properties":{"_billedSize":Infinity}`)), quar: 1, reason: "invalid character 'I'"},
		{name: "wrong types in typed fields", data: lines(rec(`"Level":{"a":1},"durationMs":true,"identity":[1],"properties":{"flaggedForReview":"maybe","_billedSize":"x","createdDateTime":12,"initiatedBy":[1],"targetResources":{"id":1},"isRisky":null}`)), rows: 1, extra: "properties.targetResources"},
		{name: "records wrapper with one bad element", data: lines(`{"records":[` + rec("") + `,{"time":"2025-04-11T16:00:00Z"},` + rec("") + `]}`), rows: 2, quar: 1, reason: "missing required field"},
		{name: "time in year 0001", data: lines(`{"time":"0001-01-01T00:00:00Z","resourceId":"/r","operationName":"o"}`), rows: 1},
		{name: "time in year 9999", data: lines(`{"time":"9999-12-31T23:59:59.9999999Z","resourceId":"/r","operationName":"o"}`), rows: 1},
		{name: "category with ../", data: lines(`{"time":"2025-04-11T16:00:00Z","resourceId":"/r","operationName":"o","category":"../../../../etc"}`), rows: 1},
		{name: "category with /", data: lines(`{"time":"2025-04-11T16:00:00Z","resourceId":"/r","operationName":"o","category":"a/b\\c .."}`), rows: 1},
		{name: "blob name with .., spaces and unicode", blob: "PT1H ü..é 日本.json", data: lines(rec("")), rows: 1},
		{name: "CR-only line ends", data: []byte(rec("") + "\r" + rec("") + "\r"), quar: 1, reason: "after"},
		{name: "top-level scalars", data: lines(`"a string"`, `42`, `null`, `true`), quar: 4, reason: "not an object"},
		{name: "raw control character in a string", data: lines(rec(`"identity":"tab` + "\t" + `here"`)), quar: 1, reason: "invalid character"},
		{name: "lone surrogate escape", data: lines(rec(`"identity":"\ud800"`)), quar: 1, reason: "surrogate"},
		{name: "500 KB string value", data: lines(rec(`"identity":"` + strings.Repeat("b", 500<<10) + `"`)), rows: 1},
		{name: "JSON with comments", data: lines(`// exported`, rec("")), rows: 1, quar: 1, reason: "invalid character '/'"},
		{name: "trailing comma", data: lines(rec(`"identity":"x",`)), quar: 1, reason: "invalid character ','"},
		{name: "XML storage error", data: lines(`<?xml version="1.0" encoding="utf-8"?><Error><Code>AuthenticationFailed</Code></Error>`), quar: 1, reason: "invalid character '<'"},
		{name: "HTML page", data: lines("<html>", "<body>Service Unavailable</body>", "</html>"), quar: 3, reason: "invalid character '<'"},
		{name: "empty object", data: lines(`{}`), quar: 1, reason: `missing required fields "operationName", "resourceId", "time"`},
		{name: "time null", data: lines(`{"time":null,"resourceId":"/r","operationName":"o"}`), quar: 1, reason: `missing required field "time"`},
		{name: "time empty", data: lines(`{"time":"","resourceId":"/r","operationName":"o"}`), quar: 1, reason: "unusable event time"},
		{name: "time February 30", data: lines(`{"time":"2025-02-30T00:00:00Z","resourceId":"/r","operationName":"o"}`), quar: 1, reason: "unusable event time"},
		{name: "time as a number", data: lines(`{"time":1744387200,"resourceId":"/r","operationName":"o"}`), quar: 1, reason: "unusable event time"},
		{name: "operationName empty", data: lines(`{"time":"2025-04-11T16:00:00Z","resourceId":"/r","operationName":"  "}`), quar: 1, reason: `missing required field "operationName"`},
		{name: "keys in other letter case", data: lines(`{"TIME":"2025-04-11T16:00:00Z","ResourceID":"/r","OPERATIONNAME":"o","Properties":{"USERPRINCIPALNAME":"a@b.c"}}`), rows: 1},
		{name: "escaped key names", data: lines(`{"\u0074ime":"2025-04-11T16:00:00Z","resourceId":"/r","operationName":"o"}`), rows: 1},
		{name: "array of good and bad records", data: lines(`[` + rec("") + `,"oops"]`), rows: 1, quar: 1, reason: "not an object"},
	}
}

func nonBlankLines(b []byte) int {
	n := 0
	for _, l := range bytes.Split(b, []byte("\n")) {
		if len(bytes.Trim(l, " \t\r\n")) > 0 {
			n++
		}
	}
	return n
}

// TestBadInput runs the pipeline on a corpus with one kind of bad input per
// blob and checks, for each, that nothing crashed, every line is a row or
// quarantined with a reason that names the problem, raw text is bounded by
// the maximum record size, and nothing was written outside the lake.
func TestBadInput(t *testing.T) {
	kinds := badKinds()
	if len(kinds) < 30 {
		t.Fatalf("only %d kinds", len(kinds))
	}
	dir := t.TempDir()
	src, lake, data := filepath.Join(dir, "export"), filepath.Join(dir, "lake"), filepath.Join(dir, "data")
	blobOf := map[string]*badKind{}
	for i := range kinds {
		k := &kinds[i]
		name := k.blob
		if name == "" {
			name = "PT1H.json"
		}
		rel := fmt.Sprintf("tenantId=t/y=2025/m=04/d=11/h=%02d/m=%02d/%s", i%24, i/24, name)
		p := filepath.Join(src, "insights-logs-signinlogs", filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, k.data, 0o644); err != nil {
			t.Fatal(err)
		}
		// A complete export, copied a while ago: every blob is final, its
		// last line read even without a line end.
		if old := time.Now().Add(-time.Hour); os.Chtimes(p, old, old) != nil {
			t.Fatal("set the blob's time")
		}
		blobOf["insights-logs-signinlogs/"+rel] = k
	}
	const maxRecord = 1 << 20
	var out, errb bytes.Buffer
	code := Main([]string{"run", "--source", src, "--lake", lake, "--data-dir", data, "--once", "--log-level", "error",
		"--max-record-size", fmt.Sprint(maxRecord)}, &out, &errb)
	if code != 0 {
		t.Fatalf("run exited %d\nstdout: %s\nstderr: %s", code, out.String(), errb.String())
	}
	rows := readLake(t, filepath.Join(lake, "azure_audit"))
	quar := readLake(t, filepath.Join(lake, "azure_audit_quarantine"))
	got := map[*badKind]*struct {
		rows, quar int
		reasons    []string
		extras     []string
	}{}
	for _, k := range blobOf {
		got[k] = &struct {
			rows, quar int
			reasons    []string
			extras     []string
		}{}
	}
	for _, r := range rows {
		k := blobOf[r["p_source_file"].(map[string]any)["blob"].(string)]
		if k == nil {
			t.Fatalf("row from unknown blob %v", r["p_source_file"])
		}
		got[k].rows++
		if x, ok := r["p_extra"].(string); ok {
			got[k].extras = append(got[k].extras, x)
		}
	}
	for _, r := range quar {
		k := blobOf[r["p_source_file"].(map[string]any)["blob"].(string)]
		if k == nil {
			t.Fatalf("quarantined record from unknown blob %v", r["p_source_file"])
		}
		got[k].quar++
		got[k].reasons = append(got[k].reasons, r["reason"].(string))
		if raw, _ := r["raw"].(string); len(raw) > maxRecord*4/3+4 { // base64 in JSON
			t.Errorf("%s: raw of %d bytes kept, over the maximum record size", k.name, len(raw))
		}
	}
	var report []string
	for i := range kinds {
		k := &kinds[i]
		g := got[k]
		wantRows, wantQuar := k.rows, k.quar
		if k.rows < 0 {
			wantRows, wantQuar = 0, nonBlankLines(k.data)
		}
		ok := g.rows == wantRows && g.quar == wantQuar
		for _, r := range g.reasons {
			if !strings.Contains(r, k.reason) {
				ok = false
				t.Errorf("%s: reason %q does not mention %q", k.name, r, k.reason)
			}
		}
		if k.extra != "" && !strings.Contains(strings.Join(g.extras, " "), `"`+k.extra) {
			ok = false
			t.Errorf("%s: p_extra %q does not keep %s", k.name, g.extras, k.extra)
		}
		if g.rows != wantRows || g.quar != wantQuar {
			t.Errorf("%s: %d rows and %d quarantined, want %d and %d (reasons %q)", k.name, g.rows, g.quar, wantRows, wantQuar, g.reasons)
		}
		outcome := fmt.Sprintf("%d rows, %d quarantined", g.rows, g.quar)
		if len(g.reasons) > 0 {
			outcome += ": " + oneLine(g.reasons[0], 90)
		}
		mark := "ok  "
		if !ok {
			mark = "FAIL"
		}
		report = append(report, fmt.Sprintf("%s %-40s %s", mark, k.name, outcome))
	}
	t.Logf("bad-input corpus, %d kinds:\n%s", len(kinds), strings.Join(report, "\n"))
	// Nothing outside the lake: the temp dir holds only what we made.
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	if strings.Join(names, ",") != "data,export,lake" {
		t.Errorf("files outside the lake: %v", names)
	}
	_ = filepath.WalkDir(lake, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (!strings.HasSuffix(p, ".parquet") || strings.HasPrefix(d.Name(), ".")) && p != filepath.Join(lake, lakeMarker) {
			t.Errorf("stray file in the lake: %s", p)
		}
		if err == nil && d.IsDir() && strings.Contains(d.Name(), "..") {
			t.Errorf("partition folder from unescaped data: %s", p)
		}
		return nil
	})
}

// readLake reads every Parquet file under dir into rows (JSON shapes).
func readLake(t *testing.T, dir string) []map[string]any {
	t.Helper()
	var rows []map[string]any
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".parquet") {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		pf, err := file.NewParquetReader(f)
		if err != nil {
			return err
		}
		fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 4096}, memory.DefaultAllocator)
		if err != nil {
			return err
		}
		rr, err := fr.GetRecordReader(context.Background(), nil, nil)
		if err != nil {
			return err
		}
		defer rr.Release()
		for {
			rec, err := rr.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return err
			}
			js, err := rec.MarshalJSON()
			if err != nil {
				return err
			}
			var rs []map[string]any
			if err := json.Unmarshal(js, &rs); err != nil {
				return err
			}
			rows = append(rows, rs...)
		}
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return rows
}
