package gen_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/entralake/entralake/internal/gen"
	"github.com/entralake/entralake/schema"
	"github.com/entralake/entralake/stages/parser"
	"github.com/entralake/entralake/stages/parser/parsertest"
)

func newGen(t testing.TB, cfg gen.Config) *gen.Generator {
	t.Helper()
	g, err := gen.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func blobBytes(t testing.TB, g *gen.Generator, b gen.Blob) []byte {
	t.Helper()
	var buf bytes.Buffer
	n, err := g.WriteBlob(&buf, b)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := n, int64(buf.Len()); got != want {
		t.Fatalf("WriteBlob returned %d bytes, wrote %d", got, want)
	}
	return buf.Bytes()
}

// exportHash hashes every blob's path and bytes, in reverse order when
// reverse is set (the bytes of a blob must not depend on the order).
func exportHash(t testing.TB, g *gen.Generator, reverse bool) string {
	t.Helper()
	blobs := g.Blobs()
	sums := make([][]byte, len(blobs))
	for k := range blobs {
		i := k
		if reverse {
			i = len(blobs) - 1 - k
		}
		h := sha256.New()
		io.WriteString(h, blobs[i].Path())
		h.Write(blobBytes(t, g, blobs[i]))
		sums[i] = h.Sum(nil)
	}
	h := sha256.New()
	for _, s := range sums {
		h.Write(s)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func TestDeterministic(t *testing.T) {
	cfg := gen.Config{Seed: 42, Records: 3000, Users: 500}
	a := exportHash(t, newGen(t, cfg), false)
	b := exportHash(t, newGen(t, cfg), true)
	if a != b {
		t.Fatalf("same seed: hash %s, then %s", a, b)
	}
	cfg.Seed = 43
	if c := exportHash(t, newGen(t, cfg), false); c == a {
		t.Fatalf("seeds 42 and 43 give the same export %s", a)
	}
}

func TestPlan(t *testing.T) {
	const n = 5000
	g := newGen(t, gen.Config{Seed: 7, Records: n, Hours: 6})
	perCat := map[string]int{}
	hours := map[string]bool{}
	var total int
	for _, b := range g.Blobs() {
		perCat[b.Category] += b.Records
		total += b.Records
		if got, want := b.Container, "insights-logs-"+strings.ToLower(b.Category); got != want {
			t.Errorf("container %q, want %q", got, want)
		}
		hour, ok := schema.BlobHour(b.Name)
		if !ok || !hour.Equal(b.Hour) {
			t.Errorf("blob %s: hour %v (ok=%v), want %v", b.Name, hour, ok, b.Hour)
		}
		if !strings.HasPrefix(b.Name, "tenantId="+g.TenantID()+"/y=") || !strings.HasSuffix(b.Name, "/m=00/PT1H.json") {
			t.Errorf("blob name %q", b.Name)
		}
		hours[b.Name[strings.Index(b.Name, "/y="):]] = true
	}
	if got, want := total, n; got != want {
		t.Fatalf("records %d, want %d", got, want)
	}
	for _, c := range gen.Categories() {
		if perCat[c.Name] == 0 {
			t.Errorf("category %s has no records", c.Name)
		}
	}
	if got, want := len(hours), 6; got != want {
		t.Errorf("%d hours, want %d", got, want)
	}
	if got := perCat["NonInteractiveUserSignInLogs"]; got < perCat["SignInLogs"] {
		t.Errorf("non-interactive sign-ins %d < interactive %d", got, perCat["SignInLogs"])
	}
}

func TestSelectCategories(t *testing.T) {
	g := newGen(t, gen.Config{Records: 100, Categories: []string{"auditlogs", "insights-logs-signinlogs"}})
	seen := map[string]bool{}
	for _, b := range g.Blobs() {
		seen[b.Category] = true
	}
	if got, want := len(seen), 2; got != want || !seen["AuditLogs"] || !seen["SignInLogs"] {
		t.Fatalf("categories %v, want AuditLogs and SignInLogs", seen)
	}
	if _, err := gen.New(gen.Config{Records: 10, Categories: []string{"NoSuchLogs"}}); !errors.Is(err, gen.ErrUnknownCategory) {
		t.Fatalf("err %v, want ErrUnknownCategory", err)
	}
	if _, err := gen.New(gen.Config{}); !errors.Is(err, gen.ErrInvalidConfig) {
		t.Fatalf("err %v, want ErrInvalidConfig", err)
	}
}

// TestRecords checks the lines themselves: CRLF, valid JSON, the category
// of the blob, times inside the blob's hour.
func TestRecords(t *testing.T) {
	g := newGen(t, gen.Config{Seed: 3, Records: 4000, Hours: 4})
	ids := map[string]bool{}
	for _, b := range g.Blobs() {
		data := blobBytes(t, g, b)
		lines := bytes.SplitAfter(data, []byte("\r\n"))
		if last := lines[len(lines)-1]; len(last) != 0 {
			t.Fatalf("%s: last line %q does not end in CRLF", b.Path(), last)
		}
		lines = lines[:len(lines)-1]
		if got, want := len(lines), b.Records; got != want {
			t.Fatalf("%s: %d lines, want %d", b.Path(), got, want)
		}
		for i, l := range lines {
			var rec struct {
				Time          string
				Category      string
				CorrelationID string
				Properties    map[string]any
			}
			if err := json.Unmarshal(l, &rec); err != nil {
				t.Fatalf("%s line %d: %v\n%s", b.Path(), i+1, err, l)
			}
			if rec.Category != b.Category {
				t.Fatalf("%s line %d: category %q", b.Path(), i+1, rec.Category)
			}
			if ids[rec.CorrelationID] && b.Category != "RiskyUsers" {
				t.Fatalf("%s line %d: correlationId %s seen before", b.Path(), i+1, rec.CorrelationID)
			}
			ids[rec.CorrelationID] = true
			tm, err := time.Parse(time.RFC3339Nano, rec.Time)
			if err != nil {
				tm, err = time.Parse("1/2/2006 3:04:05 PM", rec.Time)
			}
			if err != nil || tm.Before(b.Hour) || !tm.Before(b.Hour.Add(time.Hour)) {
				t.Fatalf("%s line %d: time %q (%v) outside %v", b.Path(), i+1, rec.Time, err, b.Hour)
			}
		}
	}
}

// TestParse runs the real parser over every blob: no record may be
// quarantined.
func TestParse(t *testing.T) {
	p := parsertest.New(t, parser.Config{})
	g := newGen(t, gen.Config{Seed: 11, Records: 6000, Hours: 3})
	var rows int64
	for _, b := range g.Blobs() {
		data := blobBytes(t, g, b)
		task := schema.Task{SourceID: "gen", Container: b.Container, Blob: b.Name, Size: int64(len(data)), End: int64(len(data)), Final: true}
		st, err := p.Parse(context.Background(), task, 0, bytes.NewReader(data), func(pb parser.Batch) error {
			if pb.Table != "azure_audit" {
				t.Errorf("%s: batch for table %s: %d rows", b.Path(), pb.Table, pb.Record.NumRows())
			}
			pb.Record.Release()
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if st.Quarantined != 0 || st.Records != int64(b.Records) {
			t.Errorf("%s: %d records, %d quarantined, want %d records", b.Path(), st.Records, st.Quarantined, b.Records)
		}
		rows += st.Rows
	}
	if got, want := rows, int64(6000); got != want {
		t.Fatalf("rows %d, want %d", got, want)
	}
}

// TestSignInSize checks that user sign-ins weigh what real ones do: the
// corpus's are 3.5-4.2 KB; interactive ones carry more (authentication
// steps, conditional access) than non-interactive ones.
func TestSignInSize(t *testing.T) {
	g := newGen(t, gen.Config{Seed: 5, Records: 20000, Categories: []string{"SignInLogs", "NonInteractiveUserSignInLogs"}})
	size := map[string]int64{}
	count := map[string]int64{}
	var all, n int64
	for _, b := range g.Blobs() {
		k := int64(len(blobBytes(t, g, b)))
		size[b.Category] += k
		count[b.Category] += int64(b.Records)
		all += k
		n += int64(b.Records)
	}
	for c, n := range count {
		avg := size[c] / n
		t.Logf("%s: %d records, %d bytes on average", c, n, avg)
		if avg < 3300 || avg > 4500 {
			t.Errorf("%s: %d bytes on average, want 3300-4500", c, avg)
		}
	}
	if avg := all / n; avg < 3500 || avg > 4000 {
		t.Errorf("user sign-ins: %d bytes on average, want 3500-4000", avg)
	}
}

func TestRecordsForSize(t *testing.T) {
	cfg := gen.Config{Seed: 9}
	const target = 8 << 20
	n, err := gen.RecordsForSize(cfg, target)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Records = n
	g := newGen(t, cfg)
	var total int64
	for _, b := range g.Blobs() {
		k, err := g.WriteBlob(io.Discard, b)
		if err != nil {
			t.Fatal(err)
		}
		total += k
	}
	if ratio := float64(total) / target; ratio < 0.97 || ratio > 1.03 {
		t.Fatalf("%d records make %d bytes, want about %d", n, total, target)
	}
}

func BenchmarkWriteBlob(b *testing.B) {
	g := newGen(b, gen.Config{Seed: 1, Records: 200_000, Hours: 1})
	var size int64
	blobs := g.Blobs()
	for _, bl := range blobs {
		n, _ := g.WriteBlob(io.Discard, bl)
		size += n
	}
	b.SetBytes(size)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for _, bl := range blobs {
			if _, err := g.WriteBlob(io.Discard, bl); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N)*200_000/b.Elapsed().Seconds(), "records/s")
}

// Example plans a small export and shows the start of its first blob.
func Example() {
	g, err := gen.New(gen.Config{Seed: 1, Records: 1000, Hours: 2})
	if err != nil {
		panic(err)
	}
	for _, b := range g.Blobs()[:3] {
		fmt.Println(b.Path(), b.Records)
	}
	var buf bytes.Buffer
	if _, err := g.WriteBlob(&buf, g.Blobs()[0]); err != nil {
		panic(err)
	}
	fmt.Printf("%.62s\n", buf.String())
	// Output:
	// insights-logs-signinlogs/tenantId=a6f40e4a-48c5-4d82-8725-7d270a2ca9d5/y=2025/m=04/d=11/h=00/m=00/PT1H.json 64
	// insights-logs-signinlogs/tenantId=a6f40e4a-48c5-4d82-8725-7d270a2ca9d5/y=2025/m=04/d=11/h=01/m=00/PT1H.json 56
	// insights-logs-noninteractiveusersigninlogs/tenantId=a6f40e4a-48c5-4d82-8725-7d270a2ca9d5/y=2025/m=04/d=11/h=00/m=00/PT1H.json 240
	// { "time": "2025-04-11T00:00:03.5221570Z", "resourceId": "/tena
}
