package cli

import (
	"strings"
	"testing"
	"time"

	"github.com/entralake/entralake/stages/lister"
	"github.com/entralake/entralake/stages/parser"
	"github.com/entralake/entralake/stages/writer"
)

// fakeTerm is a terminal of a fixed width that keeps the screen's text: it
// interprets carriage return, line feed and erase-to-end-of-line (ESC [ K)
// and wraps the cursor to a new row when a character lands past the last
// column, as terminals with auto-wrap do.
type fakeTerm struct {
	width int
	rows  [][]byte
	col   int
}

func newFakeTerm(width int) *fakeTerm { return &fakeTerm{width: width, rows: [][]byte{nil}} }

func (t *fakeTerm) Write(p []byte) (int, error) {
	for i := 0; i < len(p); i++ {
		row := &t.rows[len(t.rows)-1]
		switch c := p[i]; {
		case c == '\r':
			t.col = 0
		case c == '\n':
			t.rows, t.col = append(t.rows, nil), 0
		case c == 0x1b && strings.HasPrefix(string(p[i:]), "\x1b[K"):
			*row = (*row)[:min(t.col, len(*row))]
			i += 2
		default:
			if t.col == t.width { // auto-wrap
				t.rows, t.col = append(t.rows, nil), 0
				row = &t.rows[len(t.rows)-1]
			}
			for len(*row) <= t.col {
				*row = append(*row, ' ')
			}
			(*row)[t.col] = c
			t.col++
		}
	}
	return len(p), nil
}

func (t *fakeTerm) screen() string {
	lines := make([]string, len(t.rows))
	for i, r := range t.rows {
		lines[i] = string(r)
	}
	return strings.Join(lines, "\n")
}

// TestProgressFitsTerminal draws the line at several widths and stages of
// a run on a fake terminal: it never wraps (one row, shorter than the
// width), redraws in place, keeps the share done and the time left, and
// drops fields when narrow.
func TestProgressFitsTerminal(t *testing.T) {
	stages := []progressStats{
		{Hours: 24, Tasks: 216, TasksDone: 10, Read: 12 << 20, Total: 320 << 20, Records: 12000, Rows: 11990, Quarantined: 10, Elapsed: 2 * time.Second},
		{Hours: 24, Tasks: 216, TasksDone: 150, Read: 250 << 20, Total: 320 << 20, Records: 82000, Rows: 81950, Quarantined: 50, Written: 60000, Files: 150, Elapsed: 8 * time.Second},
		{Hours: 24, Tasks: 216, TasksDone: 216, Read: 320 << 20, Total: 320 << 20, Records: 105096, Rows: 105000, Quarantined: 96, Written: 90000, Files: 200, Elapsed: 10 * time.Second},
	}
	for _, width := range []int{20, 40, 60, 80, 100, 132, 200} {
		term := newFakeTerm(width)
		p := &progress{w: term, width: func() int { return width }}
		for _, s := range stages {
			line := renderProgress(s, width)
			p.last = time.Time{}
			p.draw(line)
			scr := term.screen()
			if strings.Contains(scr, "\n") {
				t.Fatalf("width %d: the line wrapped:\n%s", width, scr)
			}
			if len(scr) >= width {
				t.Errorf("width %d: line of %d columns fills the last one: %q", width, len(scr), scr)
			}
			if scr != line {
				t.Errorf("width %d: screen %q, want the last line only %q (redrawn in place)", width, scr, line)
			}
			if !strings.Contains(scr, "%") {
				t.Errorf("width %d: no share done in %q", width, scr)
			}
			if width >= 40 && !strings.Contains(scr, "left ") {
				t.Errorf("width %d: no time left in %q", width, scr)
			}
		}
		last := term.screen()
		switch {
		case width >= 200:
			for _, want := range []string{"[", "tasks 216/216", "105096 records", "96 quarantined", "90000 rows in 200 files", "rec/s", "24 hours", "320.0 MiB/320.0 MiB"} {
				if !strings.Contains(last, want) {
					t.Errorf("width %d: %q lacks %q", width, last, want)
				}
			}
		case width <= 60:
			if strings.Contains(last, "hours") || strings.Contains(last, "quarantined") {
				t.Errorf("width %d: %q keeps the least useful fields", width, last)
			}
		}
		p.done()
		if term.screen() != "" {
			t.Errorf("width %d: done left %q", width, term.screen())
		}
	}
}

// TestProgressCountsWriting checks that parsing everything is not the end:
// while rows are still buffered or being encoded, the line is short of
// 100% and has time left; it is 100% once every row is in a file.
func TestProgressCountsWriting(t *testing.T) {
	s := progressStats{Tasks: 10, TasksDone: 10, Read: 100 << 20, Total: 100 << 20, Records: 1000, Rows: 990, Quarantined: 10, Written: 500, Files: 3, Elapsed: 10 * time.Second}
	line := renderProgress(s, 200)
	if strings.Contains(line, "100%") || strings.Contains(line, "left 0s") || s.fraction() != 0.75 {
		t.Errorf("half the rows written: fraction %.2f, line %q; want 75%% and time left", s.fraction(), line)
	}
	s.Written = 1000
	if line := renderProgress(s, 200); !strings.Contains(line, "100%") || !strings.Contains(line, "left 0s") {
		t.Errorf("all written: %q", line)
	}
}

// TestProgressOffTerminal checks that nothing is drawn when stderr is not
// a terminal.
func TestProgressOffTerminal(t *testing.T) {
	var b strings.Builder
	p := newProgress(&b, &lister.Lister{}, &parser.Handler{}, &writer.Writer{}, time.Now())
	p.update(1, 1)
	p.done()
	if b.Len() != 0 {
		t.Errorf("drew %q on a non-terminal", b.String())
	}
}
