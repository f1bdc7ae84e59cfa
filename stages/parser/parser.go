package parser

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strconv"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/entralake/entralake/schema"
	"github.com/go-json-experiment/json/jsontext"
)

// Defaults of Config.
const (
	DefaultMaxRecordSize = 16 << 20
	DefaultBatchRows     = 16384
	DefaultBatchBytes    = 24 << 20
)

// Config configures a Parser. Zero values take the defaults.
type Config struct {
	// LogType is the schema the records are decoded into.
	LogType *schema.LogType
	// PartitionField names the top-level field whose value is the
	// category partition (Azure.Audit: "category"). When a record lacks it,
	// the category is taken from the container name (schema.ContainerCategory).
	PartitionField string
	// Partitioning splits the table's folders by hour (default) or day of
	// the event time.
	Partitioning schema.Partitioning
	// MaxRecordSize bounds one line or multi-line document in memory; a
	// longer one is quarantined with its first bytes.
	MaxRecordSize int
	// BatchRows and BatchBytes bound one output chunk (input rows and input
	// bytes): memory stays bounded whatever the size of the blob.
	BatchRows  int
	BatchBytes int
	// Mem allocates Arrow buffers.
	Mem memory.Allocator
	// Now gives p_parse_time.
	Now func() time.Time
}

// Batch is one chunk of output: rows of one table partition.
type Batch struct {
	// Table is the log type's table or its quarantine table.
	Table string
	// Partition is the hive path inside the table, with escaped values.
	Partition string
	// Key identifies the batch inside its task: the same task always
	// yields the same keys for the same rows.
	Key string
	// Record holds the rows; the receiver of Emit must release it.
	Record arrow.RecordBatch
	// Last marks the batches of the task's final chunk: their partitions
	// get nothing more from this task.
	Last bool
}

// Stats count what one Parse call did.
type Stats struct {
	Records     int64 // input records: non-blank lines, documents and wrapper elements
	Rows        int64 // rows written to the log type's table
	Quarantined int64 // records quarantined
	Mismatches  int64 // values kept in the extra column instead of their own
	Bytes       int64 // input bytes consumed
	// ByReason counts quarantined records by kind of reason.
	ByReason map[ReasonKind]int64
	// Consumed is the offset after the last byte consumed: the next task for
	// the blob starts here. Less than the range's end when the range ended
	// inside a line of a growing blob.
	Consumed int64
}

// Parser decodes Entra export blobs into Arrow record batches. It is not safe
// for concurrent use; create one per goroutine and reuse it across tasks.
type Parser struct {
	cfg    Config
	table  string
	qtable string

	rb   *array.RecordBuilder
	root *node
	pcol pColumns
	qb   *array.RecordBuilder

	dec *decoder
	br  *bufio.Reader // reused by every Parse

	// per chunk
	rowPart  []int32 // partition index of each row, -1 for a dead row
	parts    []string
	lastCat  []byte
	lastSpan int64 // hour or day of lastPart
	lastPart int32
	dead     int
	rows     int
	inBytes  int
	chunk    int
	indSort  [][]byte
	firstBuf []byte
	idBuf    []byte
	hexBuf   [32]byte
	pathHash [8]byte // first bytes of SHA-256(container/blob), per task
	scalars  []*node // the scalar columns, whose nulls wait in node.pending
	catNode  *node   // the partition field's column (nil: none)

	// per task
	task      schema.Task
	path      string // task.Path()
	parseTime arrow.Timestamp
	qdate     string
	last      bool   // the chunk being flushed is the task's last
	hint      string // added to every quarantine reason of the task
	stats     Stats
	emit      func(Batch) error
}

// New returns a Parser for cfg.
func New(cfg Config) (*Parser, error) {
	if cfg.LogType == nil {
		return nil, errors.New("parser: no log type")
	}
	if cfg.PartitionField == "" {
		cfg.PartitionField = "category"
	}
	switch cfg.Partitioning {
	case "":
		cfg.Partitioning = schema.PartitionHour
	case schema.PartitionHour, schema.PartitionDay:
	default:
		return nil, fmt.Errorf("parser: partitioning %q: want %q or %q", cfg.Partitioning, schema.PartitionHour, schema.PartitionDay)
	}
	if cfg.MaxRecordSize <= 0 {
		cfg.MaxRecordSize = DefaultMaxRecordSize
	}
	if cfg.BatchRows <= 0 {
		cfg.BatchRows = DefaultBatchRows
	}
	if cfg.BatchBytes <= 0 {
		cfg.BatchBytes = DefaultBatchBytes
	}
	if cfg.Mem == nil {
		cfg.Mem = memory.DefaultAllocator
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	p := &Parser{cfg: cfg, table: cfg.LogType.Table(), qtable: cfg.LogType.QuarantineTable(), dec: newDecoder()}
	p.rb = array.NewRecordBuilder(cfg.Mem, cfg.LogType.ArrowSchema())
	p.qb = array.NewRecordBuilder(cfg.Mem, schema.QuarantineSchema())
	p.root = &node{kind: kObject, required: -1}
	p.root.setChildren(compileFields(cfg.LogType.Fields))
	req := 0
	for i, c := range p.root.children {
		c.bind(p.rb.Field(i))
		f := cfg.LogType.Fields[i]
		if f.Required {
			if req == 64 {
				return nil, errors.New("parser: more than 64 required fields")
			}
			c.required = req
			req++
		}
		if c.name == cfg.PartitionField && c.kind == kString {
			c.partition = true
			p.catNode = c
		}
	}
	pc, err := bindPColumns(p.rb, len(p.root.children))
	if err != nil {
		return nil, err
	}
	p.pcol = pc
	p.scalars = p.root.scalars(nil)
	return p, nil
}

// Release frees the builders.
func (p *Parser) Release() {
	p.rb.Release()
	p.qb.Release()
}

// Parse decodes the bytes of task read from r, which starts at byte offset
// off of the blob (off may be before task.Start when a line began in the
// previous range; the caller finds the line start). It calls emit for each
// chunk of output, in order; emit owns the record. A non-nil error is an
// I/O error of r or an error of emit: the task should be retried.
func (p *Parser) Parse(ctx context.Context, task schema.Task, off int64, r io.Reader, emit func(Batch) error) (Stats, error) {
	p.task, p.emit, p.chunk = task, emit, 0
	p.discard()
	p.path = task.Path()
	sum := sha256.Sum256([]byte(p.path))
	copy(p.pathHash[:], sum[:])
	p.stats = Stats{Consumed: off}
	p.parseTime = timestampUS(p.cfg.Now().UnixMicro())
	p.qdate = blobDate(task.Blob, p.cfg.Now())
	p.resetChunk()
	if p.br == nil {
		p.br = bufio.NewReaderSize(nil, 256<<10)
	}
	f := newFramer(p.br, r, off, task.Final, p.cfg.MaxRecordSize)
	p.hint = ""
	if off == 0 {
		b, _ := f.br.Peek(3)
		switch {
		case bytes.Equal(b, utf8BOM):
			_, _ = f.br.Discard(3)
			f.off = 3
			p.consume(3)
		case bytes.HasPrefix(b, gzipMagic):
			p.hint = "the blob is gzip-compressed (it starts with 1f 8b): entralake reads the uncompressed JSON that Azure exports"
		}
	}
	for {
		if err := ctx.Err(); err != nil {
			return p.stats, err
		}
		l, err := f.readLine()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return p.stats, fmt.Errorf("read %s at byte %d: %w", task.Path(), f.off, err)
		}
		if !l.tooLong && isBlank(l.data) {
			p.consume(l.off + l.size)
			continue
		}
		// A full chunk goes out once another record follows it, so that
		// the task's last chunk, marked Last, is never empty.
		if err := p.maybeFlush(ctx); err != nil {
			return p.stats, err
		}
		if l.tooLong {
			p.consume(l.off + l.size)
			p.quarantine(l.off, 0, l.data, l.size, reasonTooLong(l.size, p.cfg.MaxRecordSize))
			continue
		}
		fr := frame{off: l.off, data: trimEOL(l.data), size: l.size}
		err = p.document(fr)
		if errors.Is(err, io.ErrUnexpectedEOF) {
			// The value goes on past the line: a document over many lines.
			p.firstBuf = append(p.firstBuf[:0], l.data...)
			first := line{off: l.off, data: p.firstBuf, size: l.size}
			doc, ok, stop := f.joinDocument(first)
			if stop {
				break // the rest of the document has not been written yet
			}
			if ok {
				if err = p.document(doc); err == nil {
					p.consume(doc.off + doc.size)
					continue
				}
			}
			// Not a document either: the first line alone is bad.
			err = io.ErrUnexpectedEOF
			fr = frame{off: first.off, data: trimEOL(first.data), size: first.size}
		}
		p.consume(fr.off + fr.size)
		if err != nil {
			p.quarantine(fr.off, 0, fr.data, int64(len(fr.data)), reasonFor(err))
		}
	}
	p.last = true
	defer func() { p.last = false }()
	if err := p.flush(ctx); err != nil {
		return p.stats, err
	}
	return p.stats, nil
}

// discard drops what a Parse that failed midway left in the builders, so
// that none of it goes out with the next task's rows.
func (p *Parser) discard() {
	for _, n := range p.scalars {
		n.syncNulls() // the columns must be even to be cut
	}
	for _, rb := range []*array.RecordBuilder{p.rb, p.qb} {
		for _, f := range rb.Fields() {
			if f.Len() > 0 {
				rb.NewRecordBatch().Release()
				break
			}
		}
	}
}

func (p *Parser) consume(to int64) {
	p.stats.Bytes += to - p.stats.Consumed
	p.stats.Consumed = to
}

// document decodes one frame: a record, a {"records":[...]} wrapper or an
// array of records. It returns a syntax error of the frame as a whole
// (io.ErrUnexpectedEOF when the value does not end in it); errors of single
// records are quarantined here.
func (p *Parser) document(fr frame) error {
	body := bytes.TrimLeft(fr.data, " \t\r\n")
	if elems, ok := wrapperElements(body); ok {
		vals, err := p.splitElements(elems)
		if err != nil {
			return err
		}
		for i, v := range vals {
			p.one(fr.off, int64(i), v)
		}
		return nil
	}
	// A plain record: decode straight into the builders. On a truncated
	// value the appended row is dropped, and the caller tries to read a
	// document over several lines.
	err := p.dec.record(p.root, fr.data)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		p.dropRow()
		return io.ErrUnexpectedEOF
	}
	p.finishRecord(fr.off, 0, fr.data, err)
	return nil
}

// one decodes a wrapper element.
func (p *Parser) one(off, index int64, raw []byte) {
	err := p.dec.record(p.root, raw)
	p.finishRecord(off, index, raw, err)
}

// splitElements validates the array text and returns its elements.
func (p *Parser) splitElements(arr []byte) ([]jsontext.Value, error) {
	d := p.dec.dec
	d.Reset(bytes.NewBuffer(arr), p.dec.opts...)
	if _, err := d.ReadToken(); err != nil {
		return nil, err
	}
	var out []jsontext.Value
	for d.PeekKind() != ']' {
		v, err := d.ReadValue()
		if err != nil {
			return nil, err
		}
		out = append(out, append(jsontext.Value(nil), v...))
	}
	if _, err := d.ReadToken(); err != nil {
		return nil, err
	}
	return out, nil
}

// wrapperElements recognises `{"records": [ ... ]}` and `[ ... ]` and
// returns the array text (with the wrapper's closing brace checked by the
// decoder when the array is split).
func wrapperElements(b []byte) ([]byte, bool) {
	if len(b) == 0 {
		return nil, false
	}
	if b[0] == '[' {
		return b, true
	}
	if b[0] != '{' {
		return nil, false
	}
	rest := bytes.TrimLeft(b[1:], " \t\r\n")
	if !bytes.HasPrefix(rest, []byte(`"records"`)) {
		return nil, false
	}
	rest = bytes.TrimLeft(rest[len(`"records"`):], " \t\r\n")
	if len(rest) == 0 || rest[0] != ':' {
		return nil, false
	}
	rest = bytes.TrimLeft(rest[1:], " \t\r\n")
	if len(rest) == 0 || rest[0] != '[' {
		return nil, false
	}
	// The wrapper must close right after the array.
	end := bytes.TrimRight(rest, " \t\r\n")
	if len(end) < 2 || end[len(end)-1] != '}' {
		return rest, true // let the decoder report what is wrong
	}
	return bytes.TrimRight(end[:len(end)-1], " \t\r\n"), true
}

var (
	utf8BOM   = []byte{0xEF, 0xBB, 0xBF}
	gzipMagic = []byte{0x1f, 0x8b}
)

func isEOF(err error) bool { return errors.Is(err, io.EOF) }

// dropRow marks the row the decoder just appended as not to be kept: it
// gets null p_ columns, so that every builder keeps the same length, and is
// left out when the chunk is flushed.
func (p *Parser) dropRow() {
	for _, b := range p.pcol.all {
		b.AppendNull()
	}
	p.rowPart = append(p.rowPart, -1)
	p.dead++
	p.rows++
}

// finishRecord completes the row the decoder appended: it validates the
// required fields, fills the p_ columns, and quarantines a bad record.
func (p *Parser) finishRecord(off, index int64, raw []byte, err error) {
	reason, bad := Reason{}, false
	if err != nil {
		reason, bad = reasonFor(err), true
	} else {
		reason, bad = p.missingRequired()
	}
	if bad {
		p.dropRow()
		p.quarantine(off, index, raw, int64(len(raw)), reason)
		return
	}
	p.rows++
	p.inBytes += len(raw)
	p.appendRowID(off, index)
	p.fillPColumns(off, index)
	p.fillCategory()
	p.rowPart = append(p.rowPart, p.partitionOf())
	p.stats.Records++
	p.stats.Rows++
	p.stats.Mismatches += int64(p.dec.row.mismatches)
}

// missingRequired says why the record just decoded cannot be a row, if it
// cannot: it is not an object, or lacks a required field.
func (p *Parser) missingRequired() (Reason, bool) {
	r := &p.dec.row
	if k := r.rootKind; k != "" {
		return reasonNotAnObject(k), true
	}
	var missing []string
	for _, c := range p.root.children {
		if c.required < 0 {
			continue
		}
		if c.kind == kTime && c.eventTime {
			if !r.hasEvent {
				if r.timeErr != "" {
					return reasonBadTime(r.timeErr), true
				}
				missing = append(missing, strconv.Quote(c.name))
			}
			continue
		}
		if r.required&(1<<c.required) == 0 {
			missing = append(missing, strconv.Quote(c.name))
		}
	}
	if len(missing) == 0 {
		return Reason{}, false
	}
	return reasonMissing(missing), true
}

// appendRowID computes the row id, the same on every run: 16 hex digits
// of SHA-256(container/blob), then the byte offset (12 hex digits) and the
// index in a wrapper (4 hex digits). Rows of one blob share the prefix and
// their offsets grow, so the column compresses to a few bytes a row (a
// hash of the whole triple cost 18). Offsets from 2^48 or indexes from
// 2^16, which no export reaches, fall back to a hash of the whole triple.
func (p *Parser) appendRowID(off, index int64) {
	if off >= 0 && off < 1<<48 && index >= 0 && index < 1<<16 {
		var raw [16]byte
		copy(raw[:8], p.pathHash[:])
		binary.BigEndian.PutUint64(raw[8:], uint64(off)<<16|uint64(index))
		hex.Encode(p.hexBuf[:], raw[:])
		return
	}
	b := append(p.idBuf[:0], p.path...)
	b = append(b, 0)
	b = strconv.AppendInt(b, off, 10)
	b = append(b, 0)
	b = strconv.AppendInt(b, index, 10)
	p.idBuf = b
	sum := sha256.Sum256(b)
	hex.Encode(p.hexBuf[:], sum[:16])
}

// rowID returns the id computed by appendRowID.
func (p *Parser) rowID() []byte { return p.hexBuf[:] }

func (p *Parser) fillPColumns(off, index int64) {
	r := &p.dec.row
	c := &p.pcol
	c.logType.Append(p.cfg.LogType.Schema)
	c.eventTime.Append(timestampUS(r.eventUS))
	c.parseTime.Append(p.parseTime)
	c.rowID.BinaryBuilder.Append(p.rowID())
	appendOptString(c.sourceID, p.task.SourceID)
	appendOptString(c.sourceLabel, p.task.SourceLabel)
	appendSourceFile(c.sourceFile, p.path, off, index)
	for i, lb := range c.indicators {
		p.appendIndicators(lb, r.indSpans[i], r.indArena)
	}
	x := c.extra
	if len(r.extra) == 0 {
		x.AppendNull()
	} else {
		r.extra = append(r.extra, '}')
		x.BinaryBuilder.Append(r.extra)
	}
}

// pColumns are the builders of the standard p_ columns, which
// schema.LogType.ArrowSchema appends to every log type's fields.
type pColumns struct {
	logType, rowID, sourceID, sourceLabel, extra *array.StringBuilder
	eventTime, parseTime                         *array.TimestampBuilder
	sourceFile                                   *array.StructBuilder
	// indicators fill p_any_ip_addresses, p_any_usernames and
	// p_any_trace_ids, in the order of the decoder's indicator bits.
	indicators [3]*array.ListBuilder
	// all holds every p_ column, in order.
	all []array.Builder
}

// bindPColumns finds the p_ columns of rb, a record builder of a log
// type's Arrow schema whose first data fields are the log type's, by name.
func bindPColumns(rb *array.RecordBuilder, data int) (pColumns, error) {
	c := pColumns{all: rb.Fields()[data:]}
	sc := rb.Schema()
	var errs []error
	bind := func(name string, dst any) {
		idx := sc.FieldIndices(name)
		if len(idx) != 1 || idx[0] < data {
			errs = append(errs, fmt.Errorf("no column %s", name))
			return
		}
		b := rb.Field(idx[0])
		ok := false
		switch d := dst.(type) {
		case **array.StringBuilder:
			*d, ok = b.(*array.StringBuilder)
		case **array.TimestampBuilder:
			*d, ok = b.(*array.TimestampBuilder)
		case **array.StructBuilder:
			*d, ok = b.(*array.StructBuilder)
		case **array.ListBuilder:
			*d, ok = b.(*array.ListBuilder)
		}
		if !ok {
			errs = append(errs, fmt.Errorf("column %s is %s", name, b.Type()))
		}
	}
	bind(schema.ColLogType, &c.logType)
	bind(schema.ColEventTime, &c.eventTime)
	bind(schema.ColParseTime, &c.parseTime)
	bind(schema.ColRowID, &c.rowID)
	bind(schema.ColSourceID, &c.sourceID)
	bind(schema.ColSourceLabel, &c.sourceLabel)
	bind(schema.ColSourceFile, &c.sourceFile)
	bind(schema.ColAnyIPAddresses, &c.indicators[0])
	bind(schema.ColAnyUsernames, &c.indicators[1])
	bind(schema.ColAnyTraceIDs, &c.indicators[2])
	bind(schema.ColExtra, &c.extra)
	if err := errors.Join(errs...); err != nil {
		return pColumns{}, fmt.Errorf("parser: p_ columns: %w", err)
	}
	return c, nil
}

func appendOptString(b *array.StringBuilder, s string) {
	if s == "" {
		b.AppendNull()
		return
	}
	b.Append(s)
}

func appendSourceFile(sb *array.StructBuilder, blob string, off, index int64) {
	sb.Append(true)
	sb.FieldBuilder(0).(*array.StringBuilder).Append(blob)
	sb.FieldBuilder(1).(*array.Int64Builder).Append(off)
	sb.FieldBuilder(2).(*array.Int64Builder).Append(index)
}

// appendIndicators appends the sorted, de-duplicated values.
func (p *Parser) appendIndicators(lb *array.ListBuilder, spans []span, arena []byte) {
	lb.Append(true)
	if len(spans) == 0 {
		return
	}
	vals := p.indSort[:0]
	for _, s := range spans {
		vals = append(vals, arena[s.start:s.end])
	}
	slices.SortFunc(vals, bytes.Compare)
	vb := lb.ValueBuilder().(*array.StringBuilder)
	for i, v := range vals {
		if i > 0 && bytes.Equal(v, vals[i-1]) {
			continue
		}
		vb.BinaryBuilder.Append(v)
	}
	p.indSort = vals[:0]
}

// fillCategory gives a row without a partition value (the field missing,
// or not a string) the category of the folder it is filed under, the
// container's: a table partitioned by the column (Iceberg) needs it
// non-null, and a reader of the column sees where the row is.
func (p *Parser) fillCategory() {
	n := p.catNode
	if n == nil || p.dec.row.catSet || n.pending == 0 {
		return
	}
	n.pending-- // the row's null, not yet appended
	n.syncNulls()
	n.str.Append(schema.ContainerCategory(p.task.Container))
}

// partitionOf returns the index of the current row's partition path.
func (p *Parser) partitionOf() int32 {
	r := &p.dec.row
	cat := r.category
	if len(cat) == 0 {
		cat = []byte(schema.ContainerCategory(p.task.Container))
	}
	span := int64(3_600_000_000)
	if p.cfg.Partitioning == schema.PartitionDay {
		span *= 24
	}
	n := r.eventUS / span
	if r.eventUS < 0 && r.eventUS%span != 0 {
		n--
	}
	if p.lastPart >= 0 && n == p.lastSpan && bytes.Equal(cat, p.lastCat) {
		return p.lastPart
	}
	t := time.UnixMicro(r.eventUS).UTC()
	part := "category=" + EscapePartitionValue(string(cat)) + "/date=" + t.Format("2006-01-02")
	if p.cfg.Partitioning != schema.PartitionDay {
		part += "/hour=" + t.Format("15")
	}
	idx := int32(slices.Index(p.parts, part))
	if idx < 0 {
		idx = int32(len(p.parts))
		p.parts = append(p.parts, part)
	}
	p.lastCat = append(p.lastCat[:0], cat...)
	p.lastSpan, p.lastPart = n, idx
	return idx
}

// quarantine adds a bad record to the quarantine table.
func (p *Parser) quarantine(off, index int64, raw []byte, size int64, reason Reason) {
	p.stats.Records++
	p.stats.Quarantined++
	p.inBytes += len(raw)
	c := p.qb.Fields()
	c[0].(*array.StringBuilder).Append(p.cfg.LogType.Schema)
	p.appendRowID(off, index)
	c[1].(*array.StringBuilder).BinaryBuilder.Append(p.rowID())
	c[2].(*array.TimestampBuilder).Append(p.parseTime)
	appendOptString(c[3].(*array.StringBuilder), p.task.SourceID)
	appendOptString(c[4].(*array.StringBuilder), p.task.SourceLabel)
	appendSourceFile(c[5].(*array.StructBuilder), p.path, off, index)
	if p.stats.ByReason == nil {
		p.stats.ByReason = map[ReasonKind]int64{}
	}
	p.stats.ByReason[reason.Kind]++
	text := reason.Text
	if p.hint != "" {
		text += "; " + p.hint
	}
	c[6].(*array.StringBuilder).Append(text)
	c[7].(*array.BinaryBuilder).Append(raw)
	c[8].(*array.Int64Builder).Append(size)
}

func (p *Parser) resetChunk() {
	p.rowPart = p.rowPart[:0]
	p.parts = p.parts[:0]
	p.lastPart = -1
	p.dead, p.rows, p.inBytes = 0, 0, 0
}

func (p *Parser) maybeFlush(ctx context.Context) error {
	if p.rows+int(p.qb.Field(0).Len()) >= p.cfg.BatchRows || p.inBytes >= p.cfg.BatchBytes {
		return p.flush(ctx)
	}
	return nil
}

// flush emits the chunk: one batch per partition, dead rows dropped, and
// one quarantine batch.
func (p *Parser) flush(ctx context.Context) error {
	defer func() { p.chunk++; p.resetChunk() }()
	var err error
	if p.rows > 0 {
		for _, n := range p.scalars {
			n.syncNulls()
		}
		rec := p.rb.NewRecordBatch()
		err = p.emitParts(ctx, rec)
		rec.Release()
	}
	if p.qb.Field(0).Len() > 0 {
		q := p.qb.NewRecordBatch()
		err = errors.Join(err, p.emit(Batch{Table: p.qtable, Partition: "date=" + p.qdate, Key: p.key(p.qtable, "date="+p.qdate), Record: q, Last: p.last}))
	}
	return err
}

func (p *Parser) key(table, part string) string {
	return strconv.Itoa(p.chunk) + "/" + table + "/" + part
}

func (p *Parser) emitParts(ctx context.Context, rec arrow.RecordBatch) error {
	if p.dead == 0 && len(p.parts) == 1 {
		rec.Retain()
		return p.emit(Batch{Table: p.table, Partition: p.parts[0], Key: p.key(p.table, p.parts[0]), Record: rec, Last: p.last})
	}
	for pi, part := range p.parts {
		idx := array.NewInt32Builder(p.cfg.Mem)
		for i, rp := range p.rowPart {
			if rp == int32(pi) {
				idx.Append(int32(i))
			}
		}
		ia := idx.NewArray()
		idx.Release()
		out, err := compute.Take(ctx, *compute.DefaultTakeOptions(), compute.NewDatum(rec), compute.NewDatum(ia))
		ia.Release()
		if err != nil {
			return fmt.Errorf("split batch by partition: %w", err)
		}
		sub := out.(*compute.RecordDatum).Value
		if err := p.emit(Batch{Table: p.table, Partition: part, Key: p.key(p.table, part), Record: sub, Last: p.last}); err != nil {
			return err
		}
	}
	return nil
}

// EscapePartitionValue makes a value safe as one hive partition path
// segment: every byte outside [A-Za-z0-9_-] becomes %XX, so no value can
// name a parent directory or a sub-directory. An empty value becomes
// __HIVE_DEFAULT_PARTITION__.
func EscapePartitionValue(v string) string {
	if v == "" {
		return "__HIVE_DEFAULT_PARTITION__"
	}
	const hexd = "0123456789ABCDEF"
	var b []byte
	for i := 0; i < len(v); i++ {
		c := v[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-' {
			b = append(b, c)
			continue
		}
		b = append(b, '%', hexd[c>>4], hexd[c&15])
	}
	return string(b)
}

// blobDate returns the date of the blob's hour from its y=/m=/d= path, or
// today when the path has none.
func blobDate(blob string, now time.Time) string {
	var y, m, d string
	for _, seg := range splitPath(blob) {
		switch {
		case len(seg) > 2 && seg[:2] == "y=":
			y = seg[2:]
		case len(seg) > 2 && seg[:2] == "m=" && m == "":
			m = seg[2:]
		case len(seg) > 2 && seg[:2] == "d=":
			d = seg[2:]
		}
	}
	if t, err := time.Parse("2006-1-2", y+"-"+m+"-"+d); err == nil {
		return t.Format("2006-01-02")
	}
	return now.UTC().Format("2006-01-02")
}

func splitPath(p string) []string {
	var out []string
	for p != "" && p != "." && p != "/" {
		dir, file := path.Split(p)
		out = append([]string{file}, out...)
		p = path.Clean(dir)
		if dir == "" {
			break
		}
	}
	return out
}

func timestampUS(us int64) arrow.Timestamp { return arrow.Timestamp(us) }
