package workers

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestLockerExcludes: holders of one key never overlap, two lockers (two
// processes) included; another key is not held up; a released key is
// taken again at once.
func TestLockerExcludes(t *testing.T) {
	js := testJS(t)
	var lockers [2]*Locker
	for i := range lockers {
		l, err := NewLocker(t.Context(), js)
		if err != nil {
			t.Fatal(err)
		}
		lockers[i] = l
	}
	var inside, overlaps, held atomic.Int32
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Go(func() {
			for range 5 {
				unlock, err := lockers[i%2].Lock(t.Context(), "/lake/azure_audit")
				if err != nil {
					t.Error(err)
					return
				}
				if inside.Add(1) > 1 {
					overlaps.Add(1)
				}
				held.Add(1)
				time.Sleep(2 * time.Millisecond)
				inside.Add(-1)
				unlock()
			}
		})
	}
	// Another key while the first is busy: taken at once.
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	unlock, err := lockers[0].Lock(ctx, "/lake/azure_audit_quarantine")
	if err != nil {
		t.Fatalf("another key: %v", err)
	}
	unlock()
	wg.Wait()
	if overlaps.Load() > 0 || held.Load() != 30 {
		t.Errorf("%d of %d holds overlapped another", overlaps.Load(), held.Load())
	}
	// A lock held elsewhere: Lock waits, and gives up with its context.
	unlock, err = lockers[0].Lock(t.Context(), "k")
	if err != nil {
		t.Fatal(err)
	}
	short, cancel2 := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel2()
	if _, err := lockers[1].Lock(short, "k"); err == nil {
		t.Error("a held lock was taken")
	}
	unlock()
	if u, err := lockers[1].Lock(t.Context(), "k"); err != nil {
		t.Errorf("after unlock: %v", err)
	} else {
		u()
	}
}
