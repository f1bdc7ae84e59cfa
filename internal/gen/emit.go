package gen

import (
	"encoding/base64"
	"math/rand/v2"
	"strconv"
)

// emitter appends the JSON text of records to b. Values written with the
// helpers below are trusted to need no escaping: they come from the
// generator's own tables (pre-escaped where they hold quotes).
type emitter struct {
	r   *rand.Rand
	p   *population
	cat string
	b   []byte

	id   [36]byte // the record's id
	corr [36]byte // its correlation id
}

// Ticks are 100 ns units since the Unix epoch (the precision of Entra's
// seven fraction digits).
const (
	ticksPerSecond = 10_000_000
	ticksPerDay    = 86_400 * ticksPerSecond
	// dotnetEpoch is 1970-01-01 in .NET ticks (since 0001-01-01).
	dotnetEpoch = 621355968000000000
)

// top starts a member of the envelope, which Azure writes with spaces:
// `{ "time": "...", "resourceId": ...`.
func (e *emitter) top(k string) {
	if e.b[len(e.b)-1] == '{' {
		e.b = append(e.b, ' ', '"')
	} else {
		e.b = append(e.b, ',', ' ', '"')
	}
	e.b = append(e.b, k...)
	e.b = append(e.b, '"', ':', ' ')
}

func (e *emitter) topStr(k, v string) {
	e.top(k)
	e.b = append(e.b, '"')
	e.b = append(e.b, v...)
	e.b = append(e.b, '"')
}

// key starts a compact member: `,"k":` (no comma after { or [).
func (e *emitter) key(k string) {
	if c := e.b[len(e.b)-1]; c != '{' && c != '[' {
		e.b = append(e.b, ',')
	}
	e.b = append(e.b, '"')
	e.b = append(e.b, k...)
	e.b = append(e.b, '"', ':')
}

func (e *emitter) str(k, v string) {
	e.key(k)
	e.b = append(e.b, '"')
	e.b = append(e.b, v...)
	e.b = append(e.b, '"')
}

func (e *emitter) strB(k string, v []byte) {
	e.key(k)
	e.b = append(e.b, '"')
	e.b = append(e.b, v...)
	e.b = append(e.b, '"')
}

// strOrNull writes null for an empty value.
func (e *emitter) strOrNull(k, v string) {
	if v == "" {
		e.null(k)
		return
	}
	e.str(k, v)
}

func (e *emitter) num(k string, n int64) {
	e.key(k)
	e.b = strconv.AppendInt(e.b, n, 10)
}

func (e *emitter) boolean(k string, v bool) {
	e.key(k)
	e.b = strconv.AppendBool(e.b, v)
}

func (e *emitter) null(k string) {
	e.key(k)
	e.b = append(e.b, "null"...)
}

// raw writes v, JSON text, as the value.
func (e *emitter) raw(k, v string) {
	e.key(k)
	e.b = append(e.b, v...)
}

func (e *emitter) obj(k string) {
	e.key(k)
	e.b = append(e.b, '{')
}

func (e *emitter) arr(k string) {
	e.key(k)
	e.b = append(e.b, '[')
}

// elem starts an object element of an array.
func (e *emitter) elem() {
	if c := e.b[len(e.b)-1]; c != '[' {
		e.b = append(e.b, ',')
	}
	e.b = append(e.b, '{')
}

func (e *emitter) end(c byte) { e.b = append(e.b, c) }

// guid writes a new random GUID.
func (e *emitter) guid(k string) {
	e.key(k)
	e.b = append(e.b, '"')
	e.b = appendGUID(e.b, e.r)
	e.b = append(e.b, '"')
}

// newIDs draws the record's id and correlation id.
func (e *emitter) newIDs() {
	appendGUID(e.id[:0], e.r)
	appendGUID(e.corr[:0], e.r)
}

// token writes a 22-character base64url token (uniqueTokenIdentifier).
func (e *emitter) token(k string) {
	e.key(k)
	e.b = append(e.b, '"')
	var raw [16]byte
	hi, lo := e.r.Uint64(), e.r.Uint64()
	for i := range 8 {
		raw[i] = byte(hi >> (8 * i))
		raw[8+i] = byte(lo >> (8 * i))
	}
	raw[14], raw[15] = 0, 0 // Entra's tokens end in "AA"
	e.b = base64.RawURLEncoding.AppendEncode(e.b, raw[:])
	e.b = append(e.b, '"')
}

// hashGUID writes a GUID derived from a and b: the same inputs give the
// same GUID (session ids that repeat across a user's records).
func (e *emitter) hashGUID(k string, a, b uint64) {
	e.key(k)
	e.b = append(e.b, '"')
	hi, lo := mix(a^0x243f6a8885a308d3), mix(b^0x13198a2e03707344^a)
	var raw [16]byte
	for i := range 8 {
		raw[i] = byte(hi >> (56 - 8*i))
		raw[8+i] = byte(lo >> (56 - 8*i))
	}
	for i, c := range raw {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			e.b = append(e.b, '-')
		}
		e.b = append(e.b, hexDigits[c>>4], hexDigits[c&15])
	}
	e.b = append(e.b, '"')
}

// mix is splitmix64's finaliser.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// Time layouts.
const (
	tZ7      = iota // 2025-04-11T16:17:00.7397744Z
	tOffset7        // 2025-04-11T16:15:30.5431359+00:00
	tZ3             // 2025-04-14T11:35:37.331Z
	tZ0             // 2025-04-11T06:15:56.0000000Z (whole seconds)
	tUS             // 4/14/2025 11:35:37 AM
	tZ3Hour         // 2025-04-14T3:15:37.008Z (hour not padded, as UserRiskEvents' activityDateTime)
)

func (e *emitter) time(k string, ticks int64, layout int) {
	e.key(k)
	e.b = append(e.b, '"')
	e.b = appendTime(e.b, ticks, layout)
	e.b = append(e.b, '"')
}

func (e *emitter) topTime(k string, ticks int64, layout int) {
	e.top(k)
	e.b = append(e.b, '"')
	e.b = appendTime(e.b, ticks, layout)
	e.b = append(e.b, '"')
}

// appendTime formats ticks (100 ns since the Unix epoch, UTC).
func appendTime(b []byte, ticks int64, layout int) []byte {
	days := ticks / ticksPerDay
	rem := ticks - days*ticksPerDay
	if rem < 0 {
		rem += ticksPerDay
		days--
	}
	y, m, d := civil(days)
	sec := rem / ticksPerSecond
	frac := rem - sec*ticksPerSecond
	hh, mm, ss := int(sec/3600), int(sec/60%60), int(sec%60)
	if layout == tUS {
		b = strconv.AppendInt(b, int64(m), 10)
		b = append(b, '/')
		b = strconv.AppendInt(b, int64(d), 10)
		b = append(b, '/')
		b = strconv.AppendInt(b, int64(y), 10)
		b = append(b, ' ')
		h12, pm := hh%12, hh >= 12
		if h12 == 0 {
			h12 = 12
		}
		b = strconv.AppendInt(b, int64(h12), 10)
		b = append(b, ':')
		b = append2(b, mm)
		b = append(b, ':')
		b = append2(b, ss)
		if pm {
			return append(b, " PM"...)
		}
		return append(b, " AM"...)
	}
	b = append2(b, y/100)
	b = append2(b, y%100)
	b = append(b, '-')
	b = append2(b, m)
	b = append(b, '-')
	b = append2(b, d)
	b = append(b, 'T')
	if layout == tZ3Hour {
		b = strconv.AppendInt(b, int64(hh), 10)
	} else {
		b = append2(b, hh)
	}
	b = append(b, ':')
	b = append2(b, mm)
	b = append(b, ':')
	b = append2(b, ss)
	b = append(b, '.')
	switch layout {
	case tZ3, tZ3Hour:
		ms := int(frac / 10_000)
		b = append(b, byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10))
	case tZ0:
		b = append(b, "0000000"...)
	default:
		var f [7]byte
		for i := 6; i >= 0; i-- {
			f[i] = byte('0' + frac%10)
			frac /= 10
		}
		b = append(b, f[:]...)
	}
	if layout == tOffset7 {
		return append(b, "+00:00"...)
	}
	return append(b, 'Z')
}

func append2(b []byte, n int) []byte { return append(b, byte('0'+n/10), byte('0'+n%10)) }

// civil converts days since 1970-01-01 to a date (Howard Hinnant's
// algorithm).
func civil(days int64) (y, m, d int) {
	z := days + 719468
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era--
	}
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	yy := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = int(doy - (153*mp+2)/5 + 1)
	if mp < 10 {
		m = int(mp + 3)
	} else {
		m = int(mp - 9)
	}
	if m <= 2 {
		yy++
	}
	return int(yy), m, d
}
