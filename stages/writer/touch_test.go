package writer

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/entralake/entralake/lake"
	"github.com/entralake/entralake/lake/dir"
	"github.com/entralake/entralake/workers"
)

// slowLake takes delay to start each file: a file that is slow to write.
type slowLake struct {
	dir.Lake
	delay time.Duration
}

func (l slowLake) Create(ctx context.Context, rel string) (lake.File, error) {
	time.Sleep(l.delay)
	return l.Lake.Create(ctx, rel)
}

// TestHeldWhileWriting checks that the batches of a file that takes longer
// than the ack wait to write keep getting in-progress acks: the server
// delivers each batch once.
func TestHeldWhileWriting(t *testing.T) {
	const ackWait = 2 * time.Second
	url := startJetStream(t, ackWait)
	lake := t.TempDir()
	nc, js := connectJS(t, url)
	defer nc.Close()
	publishBatches(t, js, 3)
	ledger, err := workers.NewLedger(t.Context(), js)
	if err != nil {
		t.Fatal(err)
	}
	w := New(Config{MaxAge: 100 * time.Millisecond, TouchEvery: workers.InProgressEvery(ackWait)},
		slowLake{dir.Lake{Root: lake}, 3 * ackWait}, ledger, nil)
	cons, pool := writerPool(t, js, w)
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	wg.Go(func() { _ = pool.Run(ctx) })
	wg.Go(func() { w.Run(ctx, 50*time.Millisecond) })
	waitEmpty(t, url)
	cancel()
	wg.Wait()

	info, err := cons.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got := info.Delivered.Consumer; got != 3 {
		t.Errorf("the server made %d deliveries of 3 batches, want 3", got)
	}
	if ids, _ := lakeRows(t, lake); len(ids) != 30 {
		t.Errorf("rows in lake=%d, want 30", len(ids))
	}
}
