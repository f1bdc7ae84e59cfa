package parser

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/entralake/entralake/schema"
	"github.com/go-json-experiment/json/jsontext"
)

type kind uint8

const (
	kString kind = iota
	kBigint
	kFloat
	kBool
	kTime
	kJSON
	kObject
	kArray
)

// Indicator bits.
const (
	indIP uint8 = 1 << iota
	indUsername
	indTraceID
)

// node is one schema field bound to its Arrow builder. Decoding walks the
// tree and appends exactly one value to a node's builder per parent value,
// even when the input ends early, so sibling builders never drift apart.
type node struct {
	name       string
	kind       kind
	required   int // bit index among required top-level fields, -1 if none
	eventTime  bool
	partition  bool // the field whose value names the category partition
	indicators uint8
	unixAuto   bool

	str *array.StringBuilder
	i64 *array.Int64Builder
	f64 *array.Float64Builder
	bln *array.BooleanBuilder
	ts  *array.TimestampBuilder
	st  *array.StructBuilder // nil for the root
	lst *array.ListBuilder

	children []*node
	exact    map[string]int
	fold     map[string]int
	seen     []bool
	foldName [][]byte // name of a child first matched by letter case only
	folded   []bool
	elem     *node
	// pending counts the nulls of a scalar column not yet appended to its
	// builder: most fields are absent from most records, and one
	// AppendNulls(n) before the next value (or the end of the batch)
	// costs far less than n AppendNull calls.
	pending int
	// eager: a list element's nulls go in at once. A list's offsets are
	// read from its element builder's length when the list is appended
	// (by us or by arrow, for a null struct around it), so a pending null
	// would land in the next list.
	eager bool
	// Records of one blob list their keys in one order: after child i
	// (after[len(children)] at the start of the object), the child that
	// came next last time is tried first, by a byte comparison instead
	// of a map lookup.
	after []int
}

func compileFields(fields []*schema.Field) []*node {
	out := make([]*node, len(fields))
	for i, f := range fields {
		out[i] = compileField(f)
	}
	return out
}

func compileField(f *schema.Field) *node {
	n := &node{name: f.Name, required: -1, eventTime: f.IsEventTime}
	for _, ind := range f.Indicators {
		switch ind {
		case schema.IndicatorIP:
			n.indicators |= indIP
		case schema.IndicatorUsername:
			n.indicators |= indUsername
		case schema.IndicatorTraceID:
			n.indicators |= indTraceID
		}
	}
	switch f.Type {
	case schema.TypeString:
		n.kind = kString
	case schema.TypeBigint:
		n.kind = kBigint
	case schema.TypeFloat:
		n.kind = kFloat
	case schema.TypeBoolean:
		n.kind = kBool
	case schema.TypeTimestamp:
		n.kind = kTime
		for _, tf := range f.TimeFormats {
			if strings.HasPrefix(tf, "unix") {
				n.unixAuto = true
			}
		}
	case schema.TypeJSON:
		n.kind = kJSON
	case schema.TypeObject:
		n.kind = kObject
		n.setChildren(compileFields(f.Fields))
	case schema.TypeArray:
		n.kind = kArray
		n.elem = compileField(f.Element)
		n.elem.eager = true
	}
	return n
}

func (n *node) setChildren(children []*node) {
	n.children = children
	n.exact = make(map[string]int, len(children))
	n.fold = make(map[string]int, len(children))
	for i, c := range children {
		n.exact[c.name] = i
		if _, dup := n.fold[strings.ToLower(c.name)]; !dup {
			n.fold[strings.ToLower(c.name)] = i
		}
	}
	n.seen = make([]bool, len(children))
	n.after = make([]int, len(children)+1)
	for i := range n.after {
		n.after[i] = -1
	}
	n.foldName = make([][]byte, len(children))
	n.folded = make([]bool, len(children))
}

// bind attaches b, the builder of n's Arrow type, to n and its descendants.
func (n *node) bind(b array.Builder) {
	switch n.kind {
	case kString, kJSON:
		n.str = b.(*array.StringBuilder)
	case kBigint:
		n.i64 = b.(*array.Int64Builder)
	case kFloat:
		n.f64 = b.(*array.Float64Builder)
	case kBool:
		n.bln = b.(*array.BooleanBuilder)
	case kTime:
		n.ts = b.(*array.TimestampBuilder)
	case kObject:
		n.st = b.(*array.StructBuilder)
		for i, c := range n.children {
			c.bind(n.st.FieldBuilder(i))
		}
	case kArray:
		n.lst = b.(*array.ListBuilder)
		n.elem.bind(n.lst.ValueBuilder())
	}
}

func (n *node) appendNull() {
	switch {
	case !n.eager && (n.str != nil || n.i64 != nil || n.f64 != nil || n.bln != nil || n.ts != nil):
		n.pending++ // see syncNulls
	case n.str != nil:
		n.str.AppendNull()
	case n.i64 != nil:
		n.i64.AppendNull()
	case n.f64 != nil:
		n.f64.AppendNull()
	case n.bln != nil:
		n.bln.AppendNull()
	case n.ts != nil:
		n.ts.AppendNull()
	case n.st != nil:
		n.st.AppendNull()
	case n.lst != nil:
		n.lst.AppendNull()
	default: // the root: one null per top-level field
		for _, c := range n.children {
			c.appendNull()
		}
	}
}

// syncNulls appends the pending nulls of a scalar column. Call it before
// appending a value, and on every scalar node before a batch is cut.
func (n *node) syncNulls() {
	if n.pending == 0 {
		return
	}
	switch {
	case n.str != nil:
		n.str.AppendNulls(n.pending)
	case n.i64 != nil:
		n.i64.AppendNulls(n.pending)
	case n.f64 != nil:
		n.f64.AppendNulls(n.pending)
	case n.bln != nil:
		n.bln.AppendNulls(n.pending)
	case n.ts != nil:
		n.ts.AppendNulls(n.pending)
	}
	n.pending = 0
}

// scalars returns the scalar nodes under n.
func (n *node) scalars(out []*node) []*node {
	switch {
	case n.str != nil, n.i64 != nil, n.f64 != nil, n.bln != nil, n.ts != nil:
		return append(out, n)
	}
	for _, c := range n.children {
		out = c.scalars(out)
	}
	if n.elem != nil {
		out = n.elem.scalars(out)
	}
	return out
}

// lookup finds a child by exact name, then by a name that differs only in
// letter case.
func (n *node) lookup(name []byte, scratch *[]byte) int {
	if i, ok := n.exact[bstr(name)]; ok {
		return i
	}
	low := (*scratch)[:0]
	for _, c := range name {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		low = append(low, c)
	}
	*scratch = low
	if i, ok := n.fold[bstr(low)]; ok {
		return i
	}
	if hasNonASCII(name) { // rare: full Unicode case folding
		if i, ok := n.fold[strings.ToLower(string(name))]; ok {
			return i
		}
	}
	return -1
}

func hasNonASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return true
		}
	}
	return false
}

// rowState is what decoding one record learns besides the column values.
type rowState struct {
	eventUS    int64
	hasEvent   bool
	timeErr    string // why the event time was not usable
	required   uint64 // bits of required fields that got a usable value
	category   []byte
	catSet     bool   // the partition field got a string value (its column is not null)
	extra      []byte // JSON object text being built
	indArena   []byte
	indSpans   [3][]span // per indicator kind
	path       []pathElem
	mismatches int
	rootKind   string // set when the record is not a JSON object
}

type span struct{ start, end int }

type pathElem struct {
	name  string
	index int // >= 0 for an array element
}

func (r *rowState) reset() {
	r.eventUS, r.hasEvent, r.timeErr, r.required = 0, false, "", 0
	r.category, r.catSet = r.category[:0], false
	r.extra = r.extra[:0]
	r.indArena = r.indArena[:0]
	for i := range r.indSpans {
		r.indSpans[i] = r.indSpans[i][:0]
	}
	r.path = r.path[:0]
	r.mismatches = 0
	r.rootKind = ""
}

// decoder decodes records into the builders of one batch.
type decoder struct {
	names   nameScan
	dec     *jsontext.Decoder
	buf     bytes.Buffer
	opts    []jsontext.Options
	row     rowState
	name    []byte
	scratch []byte
	fold    []byte
	compact []byte
	unk     []span // names not in the schema, of the objects being decoded
	unkText []byte
}

// errDuplicateName reports an object with the same member name twice.
var errDuplicateName = errors.New("duplicate object member name")

// newDecoder returns a decoder. jsontext limits nesting to 10000 levels and
// rejects duplicate object names and invalid UTF-8: such records are
// quarantined with the decoder's reason.
func newDecoder() *decoder {
	return &decoder{dec: jsontext.NewDecoder(bytes.NewReader(nil)), opts: []jsontext.Options{jsontext.AllowDuplicateNames(true)}}
}

// record decodes one JSON value, which should be an object, into root's
// builders. It returns a syntax error, or nil; conversion problems are kept
// in the row state.
func (d *decoder) record(root *node, raw []byte) error {
	d.row.reset()
	d.unk, d.unkText = d.unk[:0], d.unkText[:0]
	d.buf = *bytes.NewBuffer(raw) // the decoder reads a *bytes.Buffer's bytes in place
	d.dec.Reset(&d.buf, d.opts...)
	if err := d.object(root); err != nil {
		return err
	}
	if _, err := d.dec.ReadToken(); err == nil {
		return fmt.Errorf("unexpected data after the JSON value at byte %d", d.dec.InputOffset())
	} else if !isEOF(err) {
		return err
	}
	return nil
}

func (d *decoder) value(n *node) error {
	switch n.kind {
	case kObject:
		return d.object(n)
	case kArray:
		return d.array(n)
	}
	v, err := d.dec.ReadValue()
	if err != nil {
		n.appendNull()
		return err
	}
	// A json scalar never needs compacting; an object or array is
	// checked whole for duplicate names (the decoder allows them: the
	// parser checks the schema's objects itself) and for blanks.
	spaced := false
	if n.kind == kJSON && (v[0] == '{' || v[0] == '[') {
		var dup bool
		if dup, spaced = d.names.check(v); dup {
			n.appendNull()
			return fmt.Errorf("%w in %s", errDuplicateName, n.name)
		}
	}
	d.leaf(n, v, spaced)
	return nil
}

// open reads the opening '{' or '[' (want) of n's object or array. A
// value of another kind is read whole instead: null appends a null, any
// other goes to p_extra (for the root object, the record is not an
// object); open then returns false. A syntax error appends a null.
func (d *decoder) open(n *node, want jsontext.Kind) (bool, error) {
	if k := d.dec.PeekKind(); k != want {
		v, err := d.dec.ReadValue()
		if err != nil {
			n.appendNull()
			return false, err
		}
		if n.kind == kObject && n.st == nil { // the root
			d.row.rootKind = "a JSON " + kindName(k)
		}
		if k == 'n' {
			n.appendNull()
		} else {
			d.mismatch(n, v)
		}
		return false, nil
	}
	if _, err := d.dec.ReadToken(); err != nil {
		n.appendNull()
		return false, err
	}
	return true, nil
}

func (d *decoder) object(n *node) error {
	if ok, err := d.open(n, '{'); !ok {
		return err
	}
	if n.st != nil {
		n.st.Append(true)
	}
	seen := n.seen
	clear(seen)
	mark, markText := len(d.unk), len(d.unkText)
	err := d.members(n, seen, mark)
	d.unk, d.unkText = d.unk[:mark], d.unkText[:markText]
	for i, s := range seen {
		if !s {
			n.children[i].appendNull()
		}
	}
	return err
}

func (d *decoder) members(n *node, seen []bool, mark int) error {
	prev := len(n.children)
	for {
		if d.dec.PeekKind() == '}' {
			_, err := d.dec.ReadToken()
			return err
		}
		nv, err := d.dec.ReadValue()
		if err != nil {
			return err
		}
		d.name = unquote(d.name[:0], nv)
		i := n.after[prev]
		if i < 0 || bstr(d.name) != n.children[i].name {
			i = n.lookup(d.name, &d.fold)
			if i >= 0 {
				n.after[prev] = i
			}
		}
		if i >= 0 {
			prev = i
		}
		if i >= 0 && seen[i] {
			if n.folded[i] && bytes.Equal(n.foldName[i], d.name) || !n.folded[i] && bstr(d.name) == n.children[i].name {
				return fmt.Errorf("%w %q", errDuplicateName, d.name)
			}
		}
		if i < 0 || seen[i] { // a name that goes to the extra column
			for _, sp := range d.unk[mark:] {
				if bytes.Equal(d.unkText[sp.start:sp.end], d.name) {
					return fmt.Errorf("%w %q", errDuplicateName, d.name)
				}
			}
			start := len(d.unkText)
			d.unkText = append(d.unkText, d.name...)
			d.unk = append(d.unk, span{start, len(d.unkText)})
		}
		if i < 0 || seen[i] {
			v, err := d.dec.ReadValue()
			if err != nil {
				return err
			}
			d.addExtra(string(d.name), v)
			continue
		}
		seen[i] = true
		c := n.children[i]
		n.folded[i] = bstr(d.name) != c.name
		if n.folded[i] {
			n.foldName[i] = append(n.foldName[i][:0], d.name...)
		}
		d.row.path = append(d.row.path, pathElem{name: c.name, index: -1})
		err = d.value(c)
		d.row.path = d.row.path[:len(d.row.path)-1]
		if err != nil {
			return err
		}
	}
}

func (d *decoder) array(n *node) error {
	if ok, err := d.open(n, '['); !ok {
		return err
	}
	n.lst.Append(true)
	for i := 0; ; i++ {
		if d.dec.PeekKind() == ']' {
			_, err := d.dec.ReadToken()
			return err
		}
		d.row.path = append(d.row.path, pathElem{index: i})
		err := d.value(n.elem)
		d.row.path = d.row.path[:len(d.row.path)-1]
		if err != nil {
			return err
		}
	}
}

// leaf appends one scalar (or json) value, converting where it is lossless.
// leaf appends v to n's column; spaced says that v, a json object or
// array, has blanks to compact away.
func (d *decoder) leaf(n *node, v jsontext.Value, spaced bool) {
	k := v.Kind()
	if k == 'n' {
		n.appendNull()
		return
	}
	n.syncNulls()
	switch n.kind {
	case kString:
		switch k {
		case '"':
			d.scratch = unquote(d.scratch[:0], v)
			n.str.BinaryBuilder.Append(d.scratch)
			d.strValue(n, d.scratch)
		case '0', 't', 'f':
			n.str.BinaryBuilder.Append(v)
			d.strValue(n, v)
		default:
			d.mismatch(n, v)
		}
	case kBigint:
		appendNumber(d, n, v, k, parseInt, n.i64.Append)
	case kFloat:
		appendNumber(d, n, v, k, parseFloat, n.f64.Append)
	case kBool:
		switch k {
		case 't':
			n.bln.Append(true)
		case 'f':
			n.bln.Append(false)
		case '"':
			d.scratch = unquote(d.scratch[:0], v)
			if b, ok := parseBool(bytes.TrimSpace(d.scratch)); ok {
				n.bln.Append(b)
			} else {
				d.mismatch(n, v)
			}
		default:
			d.mismatch(n, v)
		}
	case kTime:
		var us int64
		var err error
		switch {
		case k == '"':
			d.scratch = unquote(d.scratch[:0], v)
			us, err = parseTime(d.scratch)
		case k == '0' && n.unixAuto:
			us, err = parseUnixAuto(v)
		default:
			err = fmt.Errorf("a JSON %s is not a time", kindName(k))
		}
		if err != nil {
			if n.eventTime && len(d.row.path) == 1 {
				d.row.timeErr = fmt.Sprintf("%q is %s: %v", n.name, clip(v, 64), err)
			}
			d.mismatch(n, v)
			return
		}
		n.ts.Append(timestampUS(us))
		if n.eventTime && len(d.row.path) == 1 {
			d.row.eventUS, d.row.hasEvent = us, true
		}
	case kJSON:
		if spaced {
			d.compact = append(d.compact[:0], v...)
			val := jsontext.Value(d.compact)
			if err := val.Compact(); err == nil {
				n.str.BinaryBuilder.Append(val)
				return
			}
		}
		n.str.BinaryBuilder.Append(v)
	}
}

// appendNumber appends v, a JSON number or a string holding one, to n's
// column (a bigint or a float) as parse converts it, or keeps v in
// p_extra when it does not convert without loss.
func appendNumber[T any](d *decoder, n *node, v jsontext.Value, k jsontext.Kind, parse func([]byte) (T, bool), add func(T)) {
	text := []byte(v)
	switch k {
	case '0':
	case '"':
		d.scratch = unquote(d.scratch[:0], v)
		text = bytes.TrimSpace(d.scratch)
	default:
		d.mismatch(n, v)
		return
	}
	if x, ok := parse(text); ok {
		add(x)
		return
	}
	d.mismatch(n, v)
}

// strValue records what a string value means beyond its column: required
// fields, the partition value and indicator values.
func (d *decoder) strValue(n *node, s []byte) {
	top := len(d.row.path) == 1
	if top && n.required >= 0 && len(bytes.TrimSpace(s)) > 0 {
		d.row.required |= 1 << n.required
	}
	if top && n.partition {
		d.row.category = append(d.row.category[:0], s...)
		d.row.catSet = true
	}
	if n.indicators == 0 || len(s) == 0 {
		return
	}
	for bit := 0; bit < 3; bit++ {
		if n.indicators&(1<<bit) == 0 {
			continue
		}
		if 1<<bit == indIP {
			if _, err := netip.ParseAddr(bstr(s)); err != nil {
				continue
			}
		}
		start := len(d.row.indArena)
		d.row.indArena = append(d.row.indArena, s...)
		d.row.indSpans[bit] = append(d.row.indSpans[bit], span{start, len(d.row.indArena)})
	}
}

// mismatch appends a null for a value that cannot be converted to n's type
// and keeps the original in the row's extra column.
func (d *decoder) mismatch(n *node, v jsontext.Value) {
	n.appendNull()
	d.row.mismatches++
	d.addExtra("", v)
}

// addExtra adds the value at the current path (plus name, for an unknown
// key) to the row's extra JSON object.
func (d *decoder) addExtra(name string, v jsontext.Value) {
	e := d.row.extra
	if len(e) == 0 {
		e = append(e, '{')
	} else {
		e = append(e, ',')
	}
	var p strings.Builder
	for _, pe := range d.row.path {
		if pe.index >= 0 {
			p.WriteByte('[')
			p.WriteString(strconv.Itoa(pe.index))
			p.WriteByte(']')
			continue
		}
		if p.Len() > 0 {
			p.WriteByte('.')
		}
		p.WriteString(pe.name)
	}
	if name != "" {
		if p.Len() > 0 {
			p.WriteByte('.')
		}
		p.WriteString(name)
	}
	e, _ = jsontext.AppendQuote(e, p.String())
	e = append(e, ':')
	start := len(e)
	e = append(e, v...)
	if needsCompact(v) {
		val := jsontext.Value(e[start:])
		if err := val.Compact(); err == nil {
			e = e[:start+len(val)]
		}
	}
	d.row.extra = e
}

func unquote(dst []byte, v []byte) []byte {
	if len(v) >= 2 && v[0] == '"' && bytes.IndexByte(v, '\\') < 0 {
		return append(dst, v[1:len(v)-1]...)
	}
	out, err := jsontext.AppendUnquote(dst, v)
	if err != nil {
		return append(dst, v...)
	}
	return out
}

// needsCompact reports whether the JSON value v (valid syntax) has
// whitespace between tokens. Tabs and newlines cannot be inside strings,
// spaces can ("Windows 10"): those do not count.
func needsCompact(v []byte) bool {
	if bytes.ContainsAny(v, "\t\r\n") {
		return true
	}
	if bytes.IndexByte(v, ' ') < 0 {
		return false
	}
	in := false
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '\\':
			i++ // only inside strings, where it escapes the next byte
		case '"':
			in = !in
		case ' ':
			if !in {
				return true
			}
		}
	}
	return false
}

func kindName(k jsontext.Kind) string {
	switch k {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case '0':
		return "number"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "value"
}

func clip(b []byte, n int) string {
	if len(b) <= n {
		return string(b)
	}
	return string(b[:n]) + "…"
}
