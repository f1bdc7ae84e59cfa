package cli

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/entralake/entralake/stages/lister"
	"github.com/entralake/entralake/stages/parser"
	"github.com/entralake/entralake/stages/writer"
	"golang.org/x/term"
)

// progress redraws one status line in place while `run --once` works, on
// a terminal only (elsewhere the summary alone is printed). The line fits
// the terminal's width, read at every redraw: fields are dropped, least
// useful first, rather than let the line wrap, which would print a new
// line at every update.
//
// Hand-written on purpose: the progress libraries (mpb, progressbar) draw
// a fixed set of decorators from their own refresh goroutine; here the
// run's wait loop drives the redraws and the fields give way by priority.
type progress struct {
	w     io.Writer
	width func() int // columns of the terminal; 0: not a terminal
	l     *lister.Lister
	ph    *parser.Handler
	wr    *writer.Writer
	start time.Time
	last  time.Time
	drawn bool
}

func newProgress(w io.Writer, l *lister.Lister, ph *parser.Handler, wr *writer.Writer, start time.Time) *progress {
	return &progress{w: w, width: terminalWidth(w), l: l, ph: ph, wr: wr, start: start}
}

// terminalWidth returns the column count of w when it is a terminal, read
// at each call (the window may be resized), and 0 otherwise.
func terminalWidth(w io.Writer) func() int {
	f, ok := w.(*os.File)
	if !ok || !isTerminal(w) {
		return func() int { return 0 }
	}
	return func() int {
		if cols, _, err := term.GetSize(int(f.Fd())); err == nil && cols > 0 {
			return cols
		}
		return 80
	}
}

// update redraws the line, at most 4 times a second; its arguments are
// WaitIdle's (the messages queued).
func (p *progress) update(_, _ uint64) {
	width := p.width()
	if width <= 0 || time.Since(p.last) < 250*time.Millisecond {
		return
	}
	p.last = time.Now()
	p.draw(renderProgress(p.stats(), width))
}

// draw replaces the line on the screen with line.
func (p *progress) draw(line string) {
	fmt.Fprint(p.w, "\r"+line+"\033[K")
	p.drawn = true
}

// done erases the line, before the summary is printed.
func (p *progress) done() {
	if p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
	}
}

// progressStats is what the line shows.
type progressStats struct {
	Hours                int64         // hours listed
	TasksDone, Tasks     int64         // tasks parsed, published
	Read, Total          int64         // bytes parsed, published
	Records, Quarantined int64         // records parsed, of which quarantined
	Rows, Written, Files int64         // rows parsed; rows (and quarantined records) in lake files; files
	Elapsed              time.Duration // since the run started
}

func (p *progress) stats() progressStats {
	return progressStats{
		Hours: p.l.Stats.Hours.Load(), TasksDone: p.ph.Totals.Tasks.Load(), Tasks: p.l.Stats.Tasks.Load(),
		Read: p.ph.Totals.Bytes.Load(), Total: p.l.Stats.Bytes.Load(),
		Records: p.ph.Totals.Records.Load(), Quarantined: p.ph.Totals.Quarantined.Load(),
		Rows: p.ph.Totals.Rows.Load(), Written: p.wr.Totals.Rows.Load(), Files: p.wr.Totals.Files.Load(),
		Elapsed: time.Since(p.start),
	}
}

// fraction is the share of the work done: half parsing (bytes parsed of
// bytes published), half writing (rows in lake files of the rows the whole
// input will give, estimated from the share parsed). Rows still buffered
// or being encoded count as not done, so the line reaches 100% only when
// the last file is in the lake.
func (s progressStats) fraction() float64 {
	if s.Total <= 0 {
		return 0
	}
	parsed := min(float64(s.Read)/float64(s.Total), 1)
	written := 0.0
	if out := s.Rows + s.Quarantined; out > 0 && parsed > 0 {
		written = min(float64(s.Written)/(float64(out)/parsed), 1)
	}
	return (parsed + written) / 2
}

// left estimates the time left from the pace so far; "?" while too little
// is done to tell.
func (s progressStats) left() string {
	f := s.fraction()
	if f < 0.01 || s.Elapsed < time.Second {
		return "?"
	}
	if f >= 1 {
		return "0s"
	}
	d := time.Duration(float64(s.Elapsed) * (1 - f) / f)
	return max(d.Round(time.Second), time.Second).String()
}

// renderProgress lays the line out in fewer than width columns (the last
// column would make the terminal wrap). Fields in display order, each
// with its priority (1 is kept longest); the bar takes what room is left.
func renderProgress(s progressStats, width int) string {
	f := s.fraction()
	rate := 0.0
	if secs := s.Elapsed.Seconds(); secs > 0 {
		rate = float64(s.Records) / secs
	}
	type field struct {
		text string
		prio int
	}
	fields := []field{
		{fmt.Sprintf("%.0f%%", f*100), 1},
		{humanBytes(s.Read) + "/" + humanBytes(s.Total), 3},
		{fmt.Sprintf("tasks %d/%d", s.TasksDone, s.Tasks), 6},
		{fmt.Sprintf("%d records", s.Records), 5},
		{fmt.Sprintf("%d quarantined", s.Quarantined), 8},
		{fmt.Sprintf("%d rows in %d files", s.Written, s.Files), 7},
		{fmt.Sprintf("%.0f rec/s", rate), 4},
		{fmt.Sprintf("%d hours", s.Hours), 9},
		{"left " + s.left(), 2},
	}
	const sep = "  "
	limit := width - 1
	line := func(fs []field) string {
		parts := make([]string, len(fs))
		for i, f := range fs {
			parts[i] = f.text
		}
		return strings.Join(parts, sep)
	}
	for prio := 9; prio > 1 && len(line(fields)) > limit; prio-- {
		kept := fields[:0:0]
		for _, f := range fields {
			if f.prio != prio {
				kept = append(kept, f)
			}
		}
		fields = kept
	}
	out := line(fields)
	if len(out) > limit {
		return out[:max(limit, 0)]
	}
	// The bar: "[####------] " in what is left, 10 to 30 cells inside.
	if room := limit - len(out) - len(sep) - 2; room >= 10 {
		out = bar(f, min(room, 30)) + sep + out
	}
	return out
}

// bar draws a fraction as [#####-----] with width cells inside.
func bar(frac float64, width int) string {
	n := int(min(max(frac, 0), 1) * float64(width))
	return "[" + strings.Repeat("#", n) + strings.Repeat("-", width-n) + "]"
}
