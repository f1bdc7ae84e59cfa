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
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// memSource is an in-memory storage account.
type memSource struct {
	blobs map[string]int64 // container/blob -> size
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

func (m *memSource) ListDir(_ context.Context, container, prefix string) ([]string, []Blob, error) {
	dirs := map[string]bool{}
	var blobs []Blob
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
		blobs = append(blobs, Blob{Container: c, Name: name, Size: size})
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

func (m memOffsets) Put(_ context.Context, s schema.BlobState) error {
	m[s.Container+"/"+s.Blob] = s
	return nil
}

type memPub struct{ tasks []schema.Task }

func (p *memPub) PublishMsg(_ context.Context, m *nats.Msg, _ ...jetstream.PublishOpt) (*jetstream.PubAck, error) {
	var t schema.Task
	if err := json.Unmarshal(m.Data, &t); err != nil {
		return nil, err
	}
	p.tasks = append(p.tasks, t)
	return &jetstream.PubAck{}, nil
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
	l := New(Config{Subject: "s", Now: now, Once: true, TaskSize: 30}, src, memOffsets{}, pub, nil)
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
