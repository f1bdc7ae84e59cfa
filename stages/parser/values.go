package parser

import (
	"bytes"
	"errors"
	"math"
	"strconv"
	"time"
	"unsafe"
)

// errNoFormat is returned when a timestamp matches none of the accepted forms.
var errNoFormat = errors.New("not an RFC 3339 or M/D/YYYY h:mm:ss AM/PM time")

// bstr views b as a string without copying. The string must not outlive b's
// current contents; it is only passed to functions that do not keep it.
func bstr(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// parseTime parses the time forms Entra exports use: RFC 3339 with any number
// of fraction digits (and Z or a numeric offset), and the US form
// "M/D/YYYY h:mm:ss AM" with or without zero padding. It returns UTC
// microseconds since the Unix epoch; digits beyond microseconds are truncated.
func parseTime(b []byte) (int64, error) {
	if us, ok := parseRFC3339(b); ok {
		return us, nil
	}
	s := bstr(bytes.TrimSpace(b))
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UnixMicro(), nil
	}
	if t, err := time.Parse("1/2/2006 3:04:05 PM", s); err == nil {
		return t.UnixMicro(), nil
	}
	if t, err := time.Parse("2006-01-02 15:04:05.999999999Z07:00", s); err == nil {
		return t.UnixMicro(), nil
	}
	return 0, errNoFormat
}

// parseRFC3339 is the fast path for "YYYY-MM-DDTHH:MM:SS[.fffffff](Z|±hh:mm)".
func parseRFC3339(b []byte) (int64, bool) {
	if len(b) < 20 || b[4] != '-' || b[7] != '-' || (b[10] != 'T' && b[10] != 't') || b[13] != ':' || b[16] != ':' {
		return 0, false
	}
	year, ok1 := digits(b[0:4])
	month, ok2 := digits(b[5:7])
	day, ok3 := digits(b[8:10])
	hour, ok4 := digits(b[11:13])
	minute, ok5 := digits(b[14:16])
	sec, ok6 := digits(b[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || sec > 59 {
		return 0, false
	}
	rest := b[19:]
	var micros int64
	if len(rest) > 0 && rest[0] == '.' {
		i := 1
		scale := int64(100000)
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			micros += int64(rest[i]-'0') * scale
			scale /= 10
			i++
		}
		if i == 1 {
			return 0, false
		}
		rest = rest[i:]
	}
	var offset int64
	switch {
	case len(rest) == 1 && (rest[0] == 'Z' || rest[0] == 'z'):
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':':
		oh, ok1 := digits(rest[1:3])
		om, ok2 := digits(rest[4:6])
		if !ok1 || !ok2 || oh > 23 || om > 59 {
			return 0, false
		}
		offset = int64(oh*3600 + om*60)
		if rest[0] == '-' {
			offset = -offset
		}
	default:
		return 0, false
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, 0, time.UTC)
	if t.Day() != day { // e.g. February 30th
		return 0, false
	}
	return (t.Unix()-offset)*1_000_000 + micros, true
}

func digits(b []byte) (int, bool) {
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// Bounds of .NET ticks (100 ns since 0001-01-01) for the years 1900..2200.
// Entra writes __UDI_RequiredFields_EventTime in ticks; Unix nanoseconds in
// that numeric range would mean 1985..2001, which no record of this log has.
const (
	ticksUnixEpoch = 621355968000000000
	ticksMin       = 599266080000000000 // 1900-01-01
	ticksMax       = 693937152000000000 // 2200-01-01
)

// parseUnixAuto converts a number to UTC microseconds, guessing its unit by
// magnitude (Panther's unix_auto: seconds, milliseconds, microseconds or
// nanoseconds), and recognising .NET ticks.
func parseUnixAuto(b []byte) (int64, error) {
	n, ok := atoi(b)
	if !ok {
		f, ferr := strconv.ParseFloat(bstr(b), 64)
		if ferr != nil || math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 1e11 {
			return 0, errors.New("not a Unix time")
		}
		return int64(f * 1e6), nil // fractional seconds
	}
	a := n
	if a < 0 {
		a = -a
	}
	switch {
	case n >= ticksMin && n <= ticksMax:
		return (n - ticksUnixEpoch) / 10, nil
	case a < 1e11:
		return n * 1_000_000, nil
	case a < 1e14:
		return n * 1_000, nil
	case a < 1e17:
		return n, nil
	default:
		return n / 1_000, nil
	}
}

// parseInt converts lossless: an integer literal, or a float literal whose
// value is an exact integer within ±2^53.
func parseInt(b []byte) (int64, bool) {
	if n, ok := atoi(b); ok {
		return n, true
	}
	f, err := strconv.ParseFloat(bstr(b), 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, false
	}
	return int64(f), true
}

// atoi parses a plain decimal integer that fits int64 without allocating
// (strconv allocates an error for every input it rejects).
func atoi(b []byte) (int64, bool) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 18 {
		if len(b) == 19 { // may still fit: let strconv decide
			s := bstr(b)
			if neg {
				s = "-" + s
			}
			n, err := strconv.ParseInt(s, 10, 64)
			return n, err == nil
		}
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}

// parseFloat accepts finite numbers only: NaN and infinities are not JSON.
func parseFloat(b []byte) (float64, bool) {
	f, err := strconv.ParseFloat(bstr(b), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// parseBool accepts "true" and "false" in any letter case.
func parseBool(b []byte) (bool, bool) {
	switch {
	case bytes.EqualFold(b, []byte("true")):
		return true, true
	case bytes.EqualFold(b, []byte("false")):
		return false, true
	}
	return false, false
}
