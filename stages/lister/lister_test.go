package lister

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/entralake/entralake/schema"
)

// memSource is an in-memory storage account.
type memSource struct {
	blobs map[string]int64     // container/blob -> size
	mod   map[string]time.Time // container/blob -> last change (zero: unknown)
}

func (m *memSource) Containers(context.Context) ([]string, error) {
	set := map[string]bool{}
	for k := range m.blobs {
		set[strings.SplitN(k, "/", 2)[0]] = true
	}
	var out []string
	for c := range set {
		out = append(out, c)
	}
	sort.Strings(out)
	return out, nil
}

func (m *memSource) ListDir(_ context.Context, container, prefix string) ([]string, []schema.Blob, error) {
	dirs := map[string]bool{}
	var blobs []schema.Blob
	for k, size := range m.blobs {
		c, name, _ := strings.Cut(k, "/")
		if c != container || !strings.HasPrefix(name, prefix) {
			continue
		}
		rest := name[len(prefix):]
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			dirs[prefix+rest[:i+1]] = true
			continue
		}
		blobs = append(blobs, schema.Blob{Container: c, Name: name, Size: size, ModTime: m.mod[k]})
	}
	var ds []string
	for d := range dirs {
		ds = append(ds, d)
	}
	sort.Strings(ds)
	return ds, blobs, nil
}

type memOffsets map[string]schema.BlobState

func (m memOffsets) Get(_ context.Context, c, b string) (schema.BlobState, bool, error) {
	s, ok := m[c+"/"+b]
	if !ok {
		s = schema.BlobState{Container: c, Blob: b}
	}
	return s, ok, nil
}

func (m memOffsets) Update(ctx context.Context, c, b string, fn func(*schema.BlobState) bool) (schema.BlobState, error) {
	s, _, _ := m.Get(ctx, c, b)
	if fn(&s) {
		m[c+"/"+b] = s
	}
	return s, nil
}

type memPub struct{ tasks []schema.Task }

func (p *memPub) Publish(_ context.Context, m schema.Outgoing) error {
	var t schema.Task
	if err := json.Unmarshal(m.Data, &t); err != nil {
		return err
	}
	if m.ID != t.ID() {
		return fmt.Errorf("task published with id %q, want its ID() %q", m.ID, t.ID())
	}
	p.tasks = append(p.tasks, t)
	return nil
}

func monthOfBlobs() *memSource {
	src := &memSource{blobs: map[string]int64{}}
	for d := 1; d <= 30; d++ {
		for h := 0; h < 24; h++ {
			src.blobs[fmt.Sprintf("insights-logs-signinlogs/tenantId=t1/y=2025/m=04/d=%02d/h=%02d/m=00/PT1H.json", d, h)] = 100
		}
	}
	src.blobs["insights-logs-auditlogs/resourceId=/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.AADIAM/TENANTS/T/y=2025/m=04/d=11/h=16/m=00/PT1H.json"] = 50
	return src
}

func TestPassReplaysOneDay(t *testing.T) {
	src := monthOfBlobs()
	off := memOffsets{}
	pub := &memPub{}
	now := func() time.Time { return time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC) }
	l := New(Config{Subject: "s", Now: now}, src, off, pub, nil)
	from := time.Date(2025, 4, 11, 0, 0, 0, 0, time.UTC)
	to := time.Date(2025, 4, 11, 23, 0, 0, 0, time.UTC)
	if err := l.Pass(t.Context(), from, to); err != nil {
		t.Fatal(err)
	}
	if got, want := len(pub.tasks), 25; got != want {
		t.Fatalf("tasks=%d, want %d (24 hours + 1 audit blob)", got, want)
	}
	for _, task := range pub.tasks {
		h, _ := schema.BlobHour(task.Blob)
		if h.Before(from) || h.After(to) || !task.Final || task.Start != 0 || task.End != task.Size {
			t.Fatalf("unexpected task %+v", task)
		}
	}
	// The day's replay lists the path down to that day's hours only.
	full := New(Config{Subject: "s", Now: now}, src, memOffsets{}, &memPub{}, nil)
	if err := full.Pass(t.Context(), time.Time{}, time.Time{}); err != nil {
		t.Fatal(err)
	}
	day, all := l.Stats.ListCalls.Load(), full.Stats.ListCalls.Load()
	t.Logf("list calls: one day %d, whole month %d", day, all)
	if day*10 > all {
		t.Fatalf("list calls for one day=%d, whole month=%d: want the day's walk pruned to < 1/10", day, all)
	}
	l2 := New(Config{Subject: "s", Now: now}, src, off, pub, nil)
	if err := l2.Pass(t.Context(), from, to); err != nil {
		t.Fatal(err)
	}
	if got := l2.Stats.Tasks.Load(); got != 0 {
		t.Fatalf("second replay published %d tasks, want 0", got)
	}
}

func TestPassPublishesOnlyNewBytes(t *testing.T) {
	key := "insights-logs-signinlogs/tenantId=t1/y=2025/m=04/d=11/h=16/m=00/PT1H.json"
	src := &memSource{blobs: map[string]int64{key: 100}}
	off := memOffsets{}
	pub := &memPub{}
	now := func() time.Time { return time.Date(2025, 4, 11, 17, 0, 0, 0, time.UTC) }
	l := New(Config{Subject: "s", Now: now}, src, off, pub, nil)
	for _, size := range []int64{100, 100, 250} {
		src.blobs[key] = size
		if err := l.Pass(t.Context(), time.Time{}, time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := len(pub.tasks), 2; got != want {
		t.Fatalf("tasks=%d, want %d", got, want)
	}
	if a, b := pub.tasks[0], pub.tasks[1]; a.Start != 0 || a.End != 100 || b.Start != 100 || b.End != 250 || a.Final || b.Final {
		t.Fatalf("tasks %+v, %+v: want [0,100) and [100,250), not final (the hour is recent)", a, b)
	}
	if pub.tasks[0].ID() == pub.tasks[1].ID() {
		t.Fatal("two ranges share a task id")
	}
	// Once the hour is old, a final task reads the unfinished last line.
	l.cfg.Now = func() time.Time { return time.Date(2025, 4, 20, 0, 0, 0, 0, time.UTC) }
	if err := l.Pass(t.Context(), time.Time{}, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if got := pub.tasks[len(pub.tasks)-1]; len(pub.tasks) != 3 || !got.Final || got.Start != 250 || got.End != 250 {
		t.Fatalf("last task %+v, want a final empty range at 250", got)
	}
}

func TestNarrowSkipsMinuteFolder(t *testing.T) {
	pt := pathTime{}
	for _, seg := range []string{"y=2025", "m=04", "d=11", "h=16", "m=00"} {
		pt, _ = narrow(pt, seg)
	}
	lo, hi, ok := pt.span()
	if !ok || !lo.Equal(time.Date(2025, 4, 11, 16, 0, 0, 0, time.UTC)) || hi.Sub(lo) >= time.Hour {
		t.Fatalf("span %v..%v ok=%v, want the hour 2025-04-11T16", lo, hi, ok)
	}
}

// TestPassSplitsBigBlobs checks TaskSize: new bytes of at least twice the
// size become tasks of about that size, marked at every cut; less stays
// one task; appended bytes are split from where publishing stopped.
func TestPassSplitsBigBlobs(t *testing.T) {
	key := "insights-logs-signinlogs/tenantId=t1/y=2025/m=04/d=11/h=16/m=00/PT1H.json"
	src := &memSource{blobs: map[string]int64{key: 59}}
	pub := &memPub{}
	now := func() time.Time { return time.Date(2025, 4, 20, 0, 0, 0, 0, time.UTC) }
	l := New(Config{Subject: "s", Now: now, TaskSize: 30}, src, memOffsets{}, pub, nil)
	type span struct {
		start, end  int64
		ss, se, fin bool
	}
	var want []span
	check := func(size int64, add ...span) {
		t.Helper()
		src.blobs[key] = size
		if err := l.Pass(t.Context(), time.Time{}, time.Time{}); err != nil {
			t.Fatal(err)
		}
		want = append(want, add...)
		var got []span
		ids := map[string]bool{}
		for _, k := range pub.tasks {
			got = append(got, span{k.Start, k.End, k.SplitStart, k.SplitEnd, k.Final})
			ids[k.ID()] = true
		}
		if !slices.Equal(got, want) {
			t.Fatalf("size %d: tasks %+v, want %+v", size, got, want)
		}
		if len(ids) != len(got) {
			t.Fatalf("tasks share ids: %+v", pub.tasks)
		}
	}
	check(59, span{0, 59, false, false, true})
	check(200, span{59, 87, false, true, true}, span{87, 115, true, true, true}, span{115, 143, true, true, true},
		span{143, 171, true, true, true}, span{171, 200, true, false, true})
	check(215, span{200, 215, false, false, true})
}

// TestFinal checks when a blob is final (read to its very end): its hour
// ended more than Recent ago and it has not changed for FinalAfter; a
// blob whose path has no hour, on its last change alone.
func TestFinal(t *testing.T) {
	now := time.Date(2025, 4, 20, 12, 0, 0, 0, time.UTC)
	l := New(Config{Subject: "s", Now: func() time.Time { return now }, Recent: 48 * time.Hour, FinalAfter: 5 * time.Minute}, nil, nil, nil, nil)
	hourly := func(h time.Time) string {
		return "tenantId=t/" + h.Format("y=2006/m=01/d=02/h=15") + "/m=00/PT1H.json"
	}
	old, recent := now.Add(-72*time.Hour), now.Add(-47*time.Hour)
	for _, c := range []struct {
		name string
		mod  time.Time
		want bool
	}{
		{hourly(old), now.Add(-time.Hour), true},                       // old hour, unchanged for an hour
		{hourly(old), time.Time{}, true},                               // old hour, the source gives no time
		{hourly(old), now.Add(-time.Minute), false},                    // old hour, changed a minute ago
		{hourly(old), now.Add(-5 * time.Minute), true},                 // exactly FinalAfter ago
		{hourly(recent), now.Add(-24 * time.Hour), false},              // the hour is within Recent
		{hourly(now.Add(-49 * time.Hour)), now.Add(-time.Hour), false}, // it ended 48h ago: not more
		{hourly(now.Add(-50 * time.Hour)), now.Add(-time.Hour), true},
		{"export/PT1H.json", now.Add(-time.Hour), true}, // no hour: its last change only
		{"export/PT1H.json", now.Add(-time.Second), false},
	} {
		if got := l.final(schema.Blob{Name: c.name, ModTime: c.mod}); got != c.want {
			t.Errorf("final(%s, changed %s ago) = %v, want %v", c.name, now.Sub(c.mod), got, c.want)
		}
	}
}

// TestPassHoldsRecentlyChanged lists, once, a blob of an old hour that
// changed a moment ago: its task is not final (an unfinished last line
// waits). Later, unchanged past FinalAfter, the blob gets a final task for
// its held tail, though no byte was added.
func TestPassHoldsRecentlyChanged(t *testing.T) {
	key := "insights-logs-signinlogs/tenantId=t1/y=2025/m=04/d=11/h=16/m=00/PT1H.json"
	now := time.Date(2025, 4, 20, 0, 0, 0, 0, time.UTC)
	src := &memSource{blobs: map[string]int64{key: 150}, mod: map[string]time.Time{key: now.Add(-time.Minute)}}
	pub := &memPub{}
	l := New(Config{Subject: "s", Now: func() time.Time { return now }, FinalAfter: 5 * time.Minute}, src, memOffsets{}, pub, nil)
	if err := l.Pass(t.Context(), time.Time{}, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if len(pub.tasks) != 1 || pub.tasks[0].Final || pub.tasks[0].End != 150 {
		t.Fatalf("tasks %+v, want one task [0,150) not final", pub.tasks)
	}
	if err := l.Pass(t.Context(), time.Time{}, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if len(pub.tasks) != 1 {
		t.Fatalf("a second pass, nothing changed, published %+v", pub.tasks[1:])
	}
	now = now.Add(10 * time.Minute)
	if err := l.Pass(t.Context(), time.Time{}, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if got := pub.tasks[len(pub.tasks)-1]; len(pub.tasks) != 2 || !got.Final || got.Start != 150 || got.End != 150 {
		t.Fatalf("tasks %+v, want a final empty range at 150 last", pub.tasks)
	}
}

// TestRunFinalAfterWindow is watch mode: a blob listed while its hour is
// recent gets tasks that are not final; once its hour leaves the listed
// window it is not listed with the window any more, but a later pass
// lists its folder again and gives it its final task.
func TestRunFinalAfterWindow(t *testing.T) {
	key := "insights-logs-signinlogs/tenantId=t1/y=2025/m=04/d=11/h=16/m=00/PT1H.json"
	now := time.Date(2025, 4, 11, 17, 0, 0, 0, time.UTC)
	src := &memSource{blobs: map[string]int64{key: 100}, mod: map[string]time.Time{key: now.Add(-10 * time.Minute)}}
	pub := &memPub{}
	l := New(Config{Subject: "s", Now: func() time.Time { return now }, Recent: 2 * time.Hour, FinalAfter: 5 * time.Minute}, src, memOffsets{}, pub, nil)
	// What Run does each interval: list the window of recent hours.
	window := func() error {
		return l.Pass(t.Context(), l.cfg.Now().Add(-l.cfg.Recent).Truncate(time.Hour), time.Time{})
	}
	if err := window(); err != nil {
		t.Fatal(err)
	}
	if len(pub.tasks) != 1 || pub.tasks[0].Final {
		t.Fatalf("tasks %+v, want one, not final", pub.tasks)
	}
	now = now.Add(4 * time.Hour) // hour 16 is out of the window [19:00, ...]
	calls := l.Stats.ListCalls.Load()
	if err := window(); err != nil {
		t.Fatal(err)
	}
	if got := pub.tasks[len(pub.tasks)-1]; len(pub.tasks) != 2 || !got.Final || got.Start != 100 {
		t.Fatalf("tasks %+v, want a final task at 100 last", pub.tasks)
	}
	if got := l.Stats.ListCalls.Load() - calls; got > 8 {
		t.Fatalf("%d list calls for the pass, want the window and one folder", got)
	}
	if err := window(); err != nil {
		t.Fatal(err)
	}
	if len(pub.tasks) != 2 {
		t.Fatalf("the final blob got tasks again: %+v", pub.tasks[2:])
	}
}

// TestPassStaleListing tells a blob that was replaced (smaller, changed
// later than what was published) from a listing made before the blob grew
// (another lister's, slower): the first is read again from the start, the
// second publishes nothing.
func TestPassStaleListing(t *testing.T) {
	key := "insights-logs-signinlogs/tenantId=t1/y=2025/m=04/d=11/h=16/m=00/PT1H.json"
	now := time.Date(2025, 4, 20, 0, 0, 0, 0, time.UTC)
	changed := now.Add(-time.Hour)
	src := &memSource{blobs: map[string]int64{key: 200}, mod: map[string]time.Time{key: changed}}
	pub := &memPub{}
	l := New(Config{Subject: "s", Now: func() time.Time { return now }}, src, memOffsets{}, pub, nil)
	pass := func(size int64, mod time.Time) {
		t.Helper()
		src.blobs[key], src.mod[key] = size, mod
		if err := l.Pass(t.Context(), time.Time{}, time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	pass(200, changed)
	pass(100, changed.Add(-time.Minute)) // listed before it grew to 200
	pass(100, changed)
	if len(pub.tasks) != 1 {
		t.Fatalf("tasks %+v, want only [0,200)", pub.tasks)
	}
	pass(100, changed.Add(time.Minute)) // replaced by a smaller blob
	if got := pub.tasks[len(pub.tasks)-1]; len(pub.tasks) != 2 || got.Start != 0 || got.End != 100 {
		t.Fatalf("tasks %+v, want [0,100) of the new blob last", pub.tasks)
	}
}

// TestPassFinalWithoutTail: a blob whose every byte is in the lake (it
// ended with a line end) becomes final without a task: there is no
// unfinished line to read.
func TestPassFinalWithoutTail(t *testing.T) {
	key := "insights-logs-signinlogs/tenantId=t1/y=2025/m=04/d=11/h=16/m=00/PT1H.json"
	now := time.Date(2025, 4, 20, 0, 0, 0, 0, time.UTC)
	src := &memSource{blobs: map[string]int64{key: 150}, mod: map[string]time.Time{key: now.Add(-time.Minute)}}
	off, pub := memOffsets{}, &memPub{}
	l := New(Config{Subject: "s", Now: func() time.Time { return now }, FinalAfter: 5 * time.Minute}, src, off, pub, nil)
	if err := l.Pass(t.Context(), time.Time{}, time.Time{}); err != nil {
		t.Fatal(err)
	}
	st := off[key]
	st.Committed, st.Settled = 150, 150 // its task's rows are in the lake
	off[key] = st
	now = now.Add(10 * time.Minute)
	if err := l.Pass(t.Context(), time.Time{}, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if len(pub.tasks) != 1 || !off[key].Final {
		t.Fatalf("tasks %+v, state %+v: want one task, and the blob final without another", pub.tasks, off[key])
	}
	if got := l.Stats.Blobs.Load(); got != 1 {
		t.Fatalf("blobs with tasks=%d, want 1", got)
	}
}
