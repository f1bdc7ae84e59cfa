package azureblob_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/entralake/entralake/internal/azurite"
	"github.com/entralake/entralake/schema"
	"github.com/entralake/entralake/stages/parser"
	"github.com/entralake/entralake/stages/parser/parsertest"
)

// EnvBigBlobMB sets the size of TestBigBlobBoundedMemory's blob, in MiB
// (default 32, which keeps CI fast; 1024 shows the bound).
const EnvBigBlobMB = "ENTRALAKE_BIG_BLOB_MB"

// maxPeakHeap bounds the heap in use while a blob of any size streams
// through ReadRange and the parser.
const maxPeakHeap = 256 << 20

// TestBigBlobBoundedMemory streams a generated append blob (4 MiB blocks
// uploaded one at a time, never held whole) from Azurite through
// ReadRange and parser.Parser.Parse, sampling HeapInuse every 5ms: the
// peak stays bounded whatever the blob's size.
//
//	ENTRALAKE_BIG_BLOB_MB=1024 go test -run TestBigBlobBoundedMemory -v ./source/azureblob
func TestBigBlobBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("uploads and parses a big blob")
	}
	mb := 32
	if s := os.Getenv(EnvBigBlobMB); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("%s=%q: want a number of MiB", EnvBigBlobMB, s)
		}
		mb = n
	}
	// Lines of a real export blob, over and over; blocks cut lines anywhere.
	tpl, err := os.ReadFile(filepath.Join(testdataExport, "insights-logs-signinlogs", azurite.ResourcePrefix, "y=2025/m=04/d=11/h=17/m=00/PT1H.json"))
	if err != nil {
		t.Fatal(err)
	}
	lines := int64(bytes.Count(tpl, []byte("\n")))
	reps := (int64(mb)<<20 + int64(len(tpl)) - 1) / int64(len(tpl))
	size := reps * int64(len(tpl))

	a := startAccount(t)
	cc := a.container(t, "insights-logs-signinlogs")
	name := azurite.BlobName(time.Date(2025, 4, 11, 17, 0, 0, 0, time.UTC), false)
	ctx := t.Context()
	if _, err := cc.NewAppendBlobClient(name).Create(ctx, nil); err != nil {
		t.Fatal(err)
	}
	up := time.Now()
	gen := &repeater{tpl: tpl, left: size}
	block := make([]byte, 4<<20)
	for {
		n, err := io.ReadFull(gen, block)
		if n > 0 {
			if _, err := cc.NewAppendBlobClient(name).AppendBlock(ctx, streaming.NopCloser(bytes.NewReader(block[:n])), nil); err != nil {
				t.Fatal(err)
			}
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	upTime := time.Since(up)
	block = nil

	p := parsertest.New(t, parser.Config{})
	src := a.open(t, "")

	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	var peak atomic.Uint64
	stop := make(chan struct{})
	var sampling sync.WaitGroup
	sampling.Go(func() {
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	})

	start := time.Now()
	task := schema.Task{SourceID: "test", Container: "insights-logs-signinlogs", Blob: name, Size: size, End: size, Final: true}
	rc, err := src.ReadRange(ctx, task.Container, task.Blob, 0, size)
	if err != nil {
		t.Fatal(err)
	}
	cr := &countingReader{r: rc}
	var rows int64
	st, err := p.Parse(context.WithoutCancel(ctx), task, 0, cr, func(b parser.Batch) error {
		rows += b.Record.NumRows()
		b.Record.Release()
		return nil
	})
	rc.Close()
	elapsed := time.Since(start)
	close(stop)
	sampling.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if cr.n != size {
		t.Fatalf("read %d bytes, want %d", cr.n, size)
	}
	if want := reps * lines; st.Records != want || rows != want {
		t.Fatalf("records=%d rows=%d, want %d", st.Records, rows, want)
	}
	t.Logf("blob %d MiB (%d records): upload %s (%.0f MiB/s); read+parse %s (%.0f MiB/s); HeapInuse before %.1f MiB, peak %.1f MiB",
		size>>20, st.Records, upTime.Round(time.Millisecond), float64(size)/(1<<20)/upTime.Seconds(),
		elapsed.Round(time.Millisecond), float64(size)/(1<<20)/elapsed.Seconds(), float64(base)/(1<<20), float64(peak.Load())/(1<<20))
	if got := peak.Load(); got > maxPeakHeap {
		t.Fatalf("peak HeapInuse=%d MiB, want at most %d MiB", got>>20, maxPeakHeap>>20)
	}
}

// repeater yields tpl over and over, left bytes in all.
type repeater struct {
	tpl  []byte
	off  int
	left int64
}

func (r *repeater) Read(p []byte) (int, error) {
	if r.left == 0 {
		return 0, io.EOF
	}
	n := 0
	for n < len(p) && r.left > 0 {
		dst := p[n:]
		if int64(len(dst)) > r.left {
			dst = dst[:r.left]
		}
		k := copy(dst, r.tpl[r.off:])
		n += k
		r.left -= int64(k)
		r.off = (r.off + k) % len(r.tpl)
	}
	return n, nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
