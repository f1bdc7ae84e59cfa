package cli

import (
	"fmt"
	"io"
	"time"

	"github.com/entralake/entralake/stages/lister"
	"github.com/entralake/entralake/stages/parser"
	"github.com/entralake/entralake/stages/writer"
)

// progress prints a live status line while a run is busy, on a terminal
// only; elsewhere the summary alone is printed.
type progress struct {
	w     io.Writer
	on    bool
	l     *lister.Lister
	ph    *parser.Handler
	wr    *writer.Writer
	start time.Time
	last  time.Time
}

func newProgress(w io.Writer, l *lister.Lister, ph *parser.Handler, wr *writer.Writer, start time.Time) *progress {
	return &progress{w: w, on: isTerminal(w), l: l, ph: ph, wr: wr, start: start}
}

func (p *progress) update(tasks, batches uint64) {
	if !p.on || time.Since(p.last) < 250*time.Millisecond {
		return
	}
	p.last = time.Now()
	blobs := p.l.Stats.Tasks.Load()
	done := p.ph.Totals.Tasks.Load()
	total := p.l.Stats.Bytes.Load()
	read := p.ph.Totals.Bytes.Load()
	el := time.Since(p.start).Seconds()
	rate := float64(p.ph.Totals.Records.Load()) / el
	eta := "?"
	if read > 0 && total > read {
		secs := float64(total-read) / (float64(read) / el)
		eta = time.Duration(secs * float64(time.Second)).Round(time.Second).String()
	} else if total <= read {
		eta = "0s"
	}
	fmt.Fprintf(p.w, "\r\033[K%s %d hours  %d/%d tasks  %s/%s  %d records  %d quarantined  %d files  %.0f rec/s  left %s ",
		bar(read, total, 20), p.l.Stats.Hours.Load(), done, blobs, humanBytes(read), humanBytes(total), p.ph.Totals.Records.Load(),
		p.ph.Totals.Quarantined.Load(), p.wr.Totals.Files.Load(), rate, eta)
}

func (p *progress) done() {
	if p.on {
		fmt.Fprint(p.w, "\r\033[K")
	}
}

// bar draws done/total as [#####-----] 50%.
func bar(done, total int64, width int) string {
	frac := 1.0
	if total > 0 {
		frac = min(float64(done)/float64(total), 1)
	}
	n := int(frac * float64(width))
	b := make([]byte, width)
	for i := range b {
		if i < n {
			b[i] = '#'
		} else {
			b[i] = '-'
		}
	}
	return fmt.Sprintf("[%s] %3.0f%%", b, frac*100)
}
