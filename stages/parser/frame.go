package parser

import (
	"bufio"
	"bytes"
	"errors"
	"io"

	"github.com/go-json-experiment/json/jsontext"
)

// A frame is one JSON text to decode: a line, or a document spread over
// several lines. Offsets are absolute byte offsets in the blob.
type frame struct {
	off  int64
	data []byte // without the final line terminator
	size int64  // bytes in the input, terminators included
}

type line struct {
	off     int64
	data    []byte // raw, terminator included (only a prefix when tooLong)
	size    int64  // bytes in the input
	tooLong bool
}

// framer splits a byte stream into lines, keeps track of what was consumed
// and can push lines back after a failed attempt to join them.
type framer struct {
	br    *bufio.Reader
	off   int64 // offset of the next byte to read from br
	final bool  // the stream ends the blob: a last line without newline counts
	max   int   // largest text kept in memory
	pend  []line
	acc   []byte
	eof   bool // a line without terminator was left unconsumed
}

// newFramer reads r through br (reset to r), which the caller reuses.
func newFramer(br *bufio.Reader, r io.Reader, off int64, final bool, max int) *framer {
	br.Reset(r)
	return &framer{br: br, off: off, final: final, max: max}
}

// readLine returns the next raw line. At the end of a non-final stream a
// line without newline is not returned (it is read again by the next task).
// A line longer than max comes back marked tooLong, with its prefix.
func (f *framer) readLine() (line, error) {
	if n := len(f.pend); n > 0 {
		l := f.pend[0]
		f.pend = f.pend[1:]
		return l, nil
	}
	off := f.off
	f.acc = f.acc[:0]
	var size int64
	tooLong := false
	for {
		chunk, err := f.br.ReadSlice('\n')
		size += int64(len(chunk))
		if !tooLong {
			if len(f.acc)+len(chunk) > f.max {
				tooLong = true
				f.acc = append(f.acc, chunk[:f.max-len(f.acc)]...)
			} else {
				f.acc = append(f.acc, chunk...)
			}
		}
		f.off += int64(len(chunk))
		switch {
		case err == nil:
			return line{off, f.acc, size, tooLong}, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			if size == 0 {
				return line{}, io.EOF
			}
			if !f.final {
				f.eof = true
				return line{}, io.EOF
			}
			return line{off, f.acc, size, tooLong}, nil
		default:
			return line{}, err
		}
	}
}

func trimEOL(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
	}
	if n := len(b); n > 0 && b[n-1] == '\r' {
		b = b[:n-1]
	}
	return b
}

func isBlank(b []byte) bool {
	return len(bytes.TrimLeft(b, " \t\r\n")) == 0
}

var structureOnly = []jsontext.Options{jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true)}

// depthScanner follows JSON nesting across lines, looking only at brackets
// and strings; the real syntax check is the decoder's.
type depthScanner struct {
	depth    int
	inString bool
	escape   bool
}

// scan feeds b and reports whether the top-level value closed in it, and
// whether a string ran into a line end (which JSON forbids).
func (s *depthScanner) scan(b []byte) (closed, broken bool) {
	for _, c := range b {
		if s.inString {
			switch {
			case s.escape:
				s.escape = false
			case c == '\\':
				s.escape = true
			case c == '"':
				s.inString = false
			case c == '\n':
				return false, true
			}
			continue
		}
		switch c {
		case '"':
			s.inString = true
		case '{', '[':
			s.depth++
		case '}', ']':
			s.depth--
			if s.depth <= 0 {
				closed = true
			}
		}
	}
	return closed, false
}

// joinDocument tries to extend first (whose JSON value did not end on its
// line) with the following lines until the value closes. On success it
// returns the document; otherwise it pushes the lines it read back and
// reports ok=false. stop=true means the stream ended before the document
// could close in a non-final range: leave it to the next task.
func (f *framer) joinDocument(first line) (doc frame, ok, stop bool) {
	var s depthScanner
	buf := append([]byte(nil), first.data...)
	if closed, broken := s.scan(buf); closed || broken {
		return frame{}, false, false
	}
	var taken []line
	for {
		l, err := f.readLine()
		if err != nil {
			f.pend = append(taken, f.pend...)
			return frame{}, false, errors.Is(err, io.EOF) && !f.final
		}
		l.data = append([]byte(nil), l.data...)
		taken = append(taken, l)
		if l.tooLong || len(buf)+len(l.data) > f.max {
			f.pend = append(taken, f.pend...)
			return frame{}, false, false
		}
		buf = append(buf, l.data...)
		closed, broken := s.scan(l.data)
		if broken {
			f.pend = append(taken, f.pend...)
			return frame{}, false, false
		}
		if closed {
			// Brackets can balance over lines that are not one JSON value
			// (a broken line followed by others): then the first line alone
			// is bad and the others are read again on their own. Only the
			// structure is checked here: a duplicate key or bad UTF-8 inside
			// one element of a wrapper quarantines that element, later.
			doc := trimEOL(buf)
			if !jsontext.Value(doc).IsValid(structureOnly...) {
				f.pend = append(taken, f.pend...)
				return frame{}, false, false
			}
			size := first.size
			for _, t := range taken {
				size += t.size
			}
			return frame{off: first.off, data: doc, size: size}, true, false
		}
	}
}
