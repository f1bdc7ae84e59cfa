package azureblob_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/entralake/entralake/stages/lister"
	"github.com/entralake/entralake/stages/parser"
)

// corpusDir holds real (anonymised) Entra exports, one file per category.
const corpusDir = "../../../shared/corpus/entra-export"

const (
	tenant    = "5e0d7c3a-9b21-4f6e-8a4d-2c7b1e9f0a53"
	resPrefix = "resourceId=/SUBSCRIPTIONS/B7A1C2D3-4E5F-4A6B-9C8D-7E6F5A4B3C2D/RESOURCEGROUPS/RG-ENTRA-DIAGNOSTICS/PROVIDERS/MICROSOFT.AADIAM/TENANTS/5E0D7C3A-9B21-4F6E-8A4D-2C7B1E9F0A53/"
)

// blobName is the name Azure gives the blob of an hour, in the tenantId=
// form or the resourceId= form.
func blobName(h time.Time, resourceForm bool) string {
	p := "tenantId=" + tenant + "/"
	if resourceForm {
		p = resPrefix
	}
	return p + h.UTC().Format("y=2006/m=01/d=02/h=15/m=00/PT1H.json")
}

// TestPipelineExport runs the whole pipeline (lister, parsers, writer on an
// embedded JetStream, as `entralake run --once` wires them) on an export in
// Azurite laid out as Azure writes it: insights-logs-<category> containers,
// both path forms, append blobs with CRLF lines (testdata/export byte for
// byte, and the shared corpus with CRLF). Every record is a row or a
// quarantined row, exactly once.
func TestPipelineExport(t *testing.T) {
	entries, err := os.ReadDir(corpusDir)
	if os.IsNotExist(err) {
		t.Skipf("no corpus at %s", corpusDir)
	}
	if err != nil {
		t.Fatal(err)
	}
	a := startAccount(t)
	blobs := uploadTree(t, a, testdataExport)
	hour := time.Date(2025, 4, 20, 0, 0, 0, 0, time.UTC)
	for i, e := range entries {
		data, err := os.ReadFile(filepath.Join(corpusDir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		var first struct{ Category string }
		line, _, _ := bytes.Cut(data, []byte("\n"))
		if err := json.Unmarshal(line, &first); err != nil || first.Category == "" {
			t.Fatalf("%s: first line has no category (%v)", e.Name(), err)
		}
		crlf := bytes.ReplaceAll(bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n")), []byte("\n"), []byte("\r\n"))
		b := blobFile{"insights-logs-" + strings.ToLower(first.Category), blobName(hour.Add(time.Duration(i)*time.Hour), i%2 == 1), crlf}
		appendBlob(t, a.container(t, b.container), b.name, splitLines(crlf, 5)...)
		blobs = append(blobs, b)
	}
	want := parseAll(t, blobs)

	// Once with one task per blob, once with the blobs cut into tasks of
	// about 1,500 bytes (parsers move the cuts to record boundaries): the
	// same rows, by id.
	var whole map[string]bool
	for _, taskSize := range []int64{0, 1500} {
		t.Run(fmt.Sprintf("task-size=%d", taskSize), func(t *testing.T) {
			ids := runExport(t, a, blobs, want, taskSize)
			if whole == nil {
				whole = ids
				return
			}
			if !maps.Equal(ids, whole) {
				t.Fatalf("cut tasks gave %d row ids, one task per blob %d, not the same", len(ids), len(whole))
			}
		})
	}
}

// runExport runs the pipeline over the account's export with the lister's
// TaskSize and checks the lake against want; it returns the row ids.
func runExport(t *testing.T, a *account, blobs []blobFile, want parser.Stats, taskSize int64) map[string]bool {
	src := a.open(t, "")
	p := startPipeline(t, src, t.TempDir(), t.TempDir())
	l := p.lister(t, src, lister.Config{TaskSize: taskSize})
	if err := l.Pass(t.Context(), time.Time{}, time.Time{}); err != nil {
		t.Fatal(err)
	}
	p.wait(t)

	tasks := l.Stats.Tasks.Load()
	if taskSize == 0 && tasks != int64(len(blobs)) || taskSize > 0 && tasks <= int64(len(blobs)) {
		t.Fatalf("tasks=%d for %d blobs with task size %d", tasks, len(blobs), taskSize)
	}
	tot := &p.parsers.Totals
	if got := tot.Records.Load(); got != want.Records {
		t.Fatalf("records=%d, want %d (parsing the same bytes in memory)", got, want.Records)
	}
	if got := tot.Quarantined.Load(); got != want.Quarantined || got == 0 {
		t.Fatalf("quarantined=%d, want %d (testdata has bad records)", got, want.Quarantined)
	}
	rows := lakeRows(t, p.lake, "azure_audit")
	qrows := lakeRows(t, p.lake, "azure_audit_quarantine")
	if got, want := int64(len(rows)), tot.Records.Load()-tot.Quarantined.Load(); got != want {
		t.Fatalf("rows in the lake=%d, want records-quarantined=%d", got, want)
	}
	if got, want := int64(len(qrows)), tot.Quarantined.Load(); got != want {
		t.Fatalf("quarantined rows in the lake=%d, want %d", got, want)
	}
	ids := map[string]bool{}
	files := map[string]bool{}
	for _, r := range append(rows, qrows...) {
		if ids[r.id] {
			t.Fatalf("row %s is in the lake twice", r.id)
		}
		ids[r.id] = true
		files[r.blob] = true
	}
	if got, want := len(files), len(blobs); got != want {
		t.Fatalf("rows come from %d blobs, want %d", got, want)
	}
	t.Logf("%d blobs in %d tasks, %d records: %d rows, %d quarantined", len(blobs), tasks, want.Records, len(rows), len(qrows))
	return ids
}

// signIn is one export line (no line end) of an hour, with id n.
func signIn(h time.Time, n int) string {
	return fmt.Sprintf(`{ "time": "%s", "resourceId": "/tenants/%s/providers/Microsoft.aadiam", "operationName": "Sign-in activity", "category": "SignInLogs", "tenantId": "%s", "resultType": "0", "correlationId": "00000000-0000-4000-8000-%012d", "Level": 4, "properties": {"id": "%d", "userPrincipalName": "user%d@fabrikam.example", "ipAddress": "203.0.113.%d"}}`,
		h.Add(time.Duration(n%3600)*time.Second).Format(time.RFC3339Nano), tenant, tenant, n, n, n, n%250)
}

// TestReplayOneDay replays one day of a month of hourly blobs: the lister
// descends only into that day (few ListDir calls), processes every blob of
// it and none of the others; a second replay publishes nothing.
func TestReplayOneDay(t *testing.T) {
	a := startAccount(t)
	cc := a.container(t, "insights-logs-signinlogs")
	start := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	const hours = 30 * 24
	sem := make(chan struct{}, 16)
	errs := make(chan error, hours)
	for i := range hours {
		sem <- struct{}{}
		go func() {
			defer func() { <-sem }()
			h := start.Add(time.Duration(i) * time.Hour)
			errs <- createAppendBlob(t.Context(), cc, blobName(h, false), []byte(signIn(h, i)+"\r\n"))
		}()
	}
	for range hours {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}

	from, to := time.Date(2025, 6, 15, 0, 0, 0, 0, time.UTC), time.Date(2025, 6, 15, 23, 0, 0, 0, time.UTC)
	src := a.open(t, "insights-logs-signinlogs")
	store, lake := t.TempDir(), t.TempDir()
	p := startPipeline(t, src, store, lake)
	l := p.lister(t, src, lister.Config{From: from, To: to})
	if err := l.Pass(t.Context(), from, to); err != nil {
		t.Fatal(err)
	}
	p.wait(t)
	// container, tenantId=, y=, m=, d=15, then h=HH/ and m=00/ for each hour:
	// 5 + 2*24 = 53, against 5 + 30 + 2*720 = 1475 for the whole month.
	calls := l.Stats.ListCalls.Load()
	t.Logf("ListDir calls for one day of a month: %d", calls)
	if calls > 53 {
		t.Fatalf("ListDir calls=%d, want at most 53", calls)
	}
	if got, want := l.Stats.Tasks.Load(), int64(24); got != want {
		t.Fatalf("tasks=%d, want %d", got, want)
	}
	rows := lakeRows(t, lake, "azure_audit")
	seen := map[string]bool{}
	for _, r := range rows {
		if !strings.Contains(r.blob, "/y=2025/m=06/d=15/") {
			t.Fatalf("row of blob %s, outside the replayed day", r.blob)
		}
		seen[r.blob] = true
	}
	if got, want := len(rows), 24; got != want || len(seen) != want {
		t.Fatalf("rows=%d from %d blobs, want %d from %d", got, len(seen), want, want)
	}
	p.stop()

	// A second run on the same JetStream state.
	p2 := startPipeline(t, src, store, lake)
	l2 := p2.lister(t, src, lister.Config{From: from, To: to})
	if err := l2.Pass(t.Context(), from, to); err != nil {
		t.Fatal(err)
	}
	if got := l2.Stats.Tasks.Load(); got != 0 {
		t.Fatalf("second replay: tasks=%d, want 0", got)
	}
	if got, want := l2.Stats.ListCalls.Load(), calls; got != want {
		t.Fatalf("second replay: ListDir calls=%d, want %d", got, want)
	}
}

// TestAppendsBetweenPolls appends to export blobs between lister passes
// (watch mode: recent hours, so tasks are not final), with a line
// cut across two appends, in the current hour and in an hour a day old.
// Every line ends up as one row, once.
func TestAppendsBetweenPolls(t *testing.T) {
	a := startAccount(t)
	cc := a.container(t, "insights-logs-signinlogs")
	now := time.Now().UTC().Truncate(time.Hour)
	h0, h1 := now, now.Add(-24*time.Hour)
	b0, b1 := blobName(h0, false), blobName(h1, true)
	n := 0
	lines := func(h time.Time, k int) []byte {
		var b bytes.Buffer
		for range k {
			b.WriteString(signIn(h, n) + "\r\n")
			n++
		}
		return b.Bytes()
	}

	src := a.open(t, "")
	p := startPipeline(t, src, t.TempDir(), t.TempDir())
	l := p.lister(t, src, lister.Config{})
	// pass lists once, waits until the lake has it all, and checks the
	// tasks published and the records parsed so far (a line cut in two
	// is parsed once whole, never as two broken records).
	pass := func(wantTasks, wantRecords int64) {
		t.Helper()
		before := l.Stats.Tasks.Load()
		if err := l.Pass(t.Context(), time.Time{}, time.Time{}); err != nil {
			t.Fatal(err)
		}
		if got := l.Stats.Tasks.Load() - before; got != wantTasks {
			t.Fatalf("pass published %d tasks, want %d", got, wantTasks)
		}
		p.wait(t)
		if got := p.parsers.Totals.Records.Load(); got != wantRecords {
			t.Fatalf("records parsed=%d, want %d", got, wantRecords)
		}
	}

	appendBlob(t, cc, b0, lines(h0, 3))
	appendBlob(t, cc, b1, lines(h1, 2))
	pass(2, 5)

	cut := []byte(signIn(h0, n) + "\r\n")
	n++
	half := len(cut) / 2
	appendTo(t, cc, b0, lines(h0, 2), cut[:half]) // the line's first half only
	appendTo(t, cc, b1, lines(h1, 1))
	pass(2, 8)

	appendTo(t, cc, b0, cut[half:], lines(h0, 1)) // its rest, and one more line
	pass(1, 10)

	cut2 := []byte(signIn(h1, n) + "\r\n")
	n++
	appendTo(t, cc, b1, cut2[:10])
	pass(1, 10)
	appendTo(t, cc, b1, cut2[10:len(cut2)-2])
	pass(1, 10)
	appendTo(t, cc, b1, cut2[len(cut2)-2:]) // the CRLF alone
	pass(1, 11)
	pass(0, 11)

	rows := lakeRows(t, p.lake, "azure_audit")
	if q := lakeRows(t, p.lake, "azure_audit_quarantine"); len(q) > 0 {
		t.Fatalf("quarantined rows=%d, want 0", len(q))
	}
	count := map[string]int{}
	for _, r := range rows {
		count[r.id]++
	}
	var dup []string
	for id, c := range count {
		if c > 1 {
			dup = append(dup, id)
		}
	}
	slices.Sort(dup)
	if len(dup) > 0 || len(rows) != n || len(count) != n {
		t.Fatalf("rows=%d with %d distinct ids (duplicates %v), want %d lines, each once", len(rows), len(count), dup, n)
	}
	if got, want := p.parsers.Totals.Records.Load(), int64(n); got != want {
		t.Fatalf("records parsed=%d, want %d", got, want)
	}
}
