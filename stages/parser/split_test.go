package parser

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/entralake/entralake/schema"
)

// bytesBlob is a BlobReader over one blob held in memory.
type bytesBlob []byte

func (b bytesBlob) ReadRange(_ context.Context, _, _ string, off, n int64) (io.ReadCloser, error) {
	if off > int64(len(b)) {
		return nil, fmt.Errorf("offset %d past the end (%d)", off, len(b))
	}
	end := int64(len(b))
	if n >= 0 {
		end = min(end, off+n)
	}
	return io.NopCloser(bytes.NewReader(b[off:end])), nil
}

// rowSink decodes the batches a Handler publishes through a Stream: the
// p_row_id of every row and the raw bytes of every quarantined record.
type rowSink struct {
	t    *testing.T
	ids  []string
	raws []string
	last map[string]int // batches marked last, by task id
	// per table partition: messages, and the Seq of the one marked last
	msgs, lastSeq map[string]int
}

func (s *rowSink) Publish(_ context.Context, m schema.Outgoing) error {
	r, err := ipc.NewReader(bytes.NewReader(m.Data))
	if err != nil {
		return err
	}
	if m.ID == "" || m.ID != m.Header[schema.HeaderBatch] {
		s.t.Fatalf("batch published with id %q, header %s %q", m.ID, schema.HeaderBatch, m.Header[schema.HeaderBatch])
	}
	defer r.Release()
	if s.msgs == nil {
		s.msgs, s.lastSeq, s.last = map[string]int{}, map[string]int{}, map[string]int{}
	}
	dest := m.Header[schema.HeaderTable] + "/" + m.Header[schema.HeaderPartition]
	s.msgs[dest]++
	if m.Header[schema.HeaderLast] != "" {
		s.last[m.Header[schema.HeaderTask]]++
		seq, err := strconv.Atoi(m.Header[schema.HeaderSeq])
		if err != nil {
			s.t.Fatalf("last batch with Seq %q", m.Header[schema.HeaderSeq])
		}
		s.lastSeq[dest] = seq
	}
	for r.Next() {
		rec := r.RecordBatch()
		name := schema.ColRowID
		quarantine := strings.HasSuffix(m.Header[schema.HeaderTable], "_quarantine")
		if quarantine {
			name = "raw"
		}
		idx := rec.Schema().FieldIndices(name)
		if len(idx) != 1 {
			s.t.Fatalf("no column %s in %v", name, rec.Schema())
		}
		for i := range int(rec.NumRows()) {
			switch col := rec.Column(idx[0]).(type) {
			case *array.String:
				s.ids = append(s.ids, col.Value(i))
			case *array.Binary:
				s.raws = append(s.raws, string(col.Value(i)))
			default:
				s.t.Fatalf("column %s is %T", name, col)
			}
		}
	}
	return r.Err()
}

// doneLog records finished tasks.
type doneLog []schema.TaskDone

func (d *doneLog) Done(_ context.Context, _ string, td schema.TaskDone) error {
	*d = append(*d, td)
	return nil
}

// awkwardBlob mixes what a split point can fall into: JSON lines (CRLF),
// blank lines, pretty-printed records and arrays, a records wrapper and
// broken lines, some ending in '}'.
func awkwardBlob() []byte {
	rec := func(i int) string {
		return fmt.Sprintf(`{"time":"2025-04-11T16:%02d:%02dZ","resourceId":"/r","operationName":"Sign-in activity","category":"SignInLogs","properties":{"id":"%04d","ipAddress":"10.0.0.%d"}}`, i/60%60, i%60, i, i%250)
	}
	var b strings.Builder
	for i := range 400 {
		switch i % 40 {
		case 7:
			fmt.Fprintf(&b, "{\n  \"time\": \"2025-04-11T16:00:%02dZ\",\n  \"resourceId\": \"/r\",\n  \"operationName\": \"Sign-in activity\",\n  \"properties\": {\n    \"id\": \"p%d\"\n  }\n}\n", i%60, i)
		case 13:
			fmt.Fprintf(&b, "{\"records\":[%s,%s]}\r\n", rec(i), rec(i+1000))
		case 19:
			b.WriteString("not json at all\r\n\r\n")
		case 23:
			b.WriteString(`{"time":"2025-04-11T16:00:00Z","properties":{"id":1}` + "\n") // unbalanced, ends in '}'
		case 29:
			fmt.Fprintf(&b, "[\n%s,\n%s\n]\n", rec(i), rec(i+2000))
		case 31:
			b.WriteString("}}\n")
		case 37:
			b.WriteString(`{"time":"2025-04-11T16:00:00Z","resourceId":` + "\n") // truncated
		default:
			b.WriteString(rec(i) + "\r\n")
		}
	}
	// Pretty-printed top-level arrays: no '}' then '{' anywhere, only
	// ']' then '['.
	for i := range 12 {
		fmt.Fprintf(&b, "[\n %s,\n %s\n]\n", rec(3000+i), rec(3100+i))
	}
	// A long run of blanks after a record: the end of the line before a
	// boundary is far behind it.
	b.WriteString(rec(3200) + strings.Repeat(" ", 400) + "\n" + rec(3201) + "\n")
	// A pretty-printed array over the maximum record size (4096 in the
	// test): no boundary inside, and too long to look past.
	b.WriteString("[\n")
	for i := range 40 {
		fmt.Fprintf(&b, "  %s,\n", rec(5000+i))
	}
	b.WriteString("  " + rec(5040) + "\n]\n")
	for i := range 20 {
		b.WriteString(rec(6000+i) + "\n")
	}
	b.WriteString(rec(9999)) // no final newline
	return []byte(b.String())
}

// TestSplitTasks parses one blob whole and cut into tasks of many sizes,
// run in reverse order: the tasks cover the blob with no gap or overlap
// (each starts where the one before consumed up to), and together they
// yield exactly the rows and quarantined records of the whole blob. The
// blob is final, or still growing with its last line unfinished.
func TestSplitTasks(t *testing.T) {
	const partial = `{"time":"2025-04-11T16:59:00Z","resourceId":`
	for _, v := range []struct {
		name  string
		blob  []byte
		final bool
		want  int64 // where the last task's consumed bytes end
	}{
		{"final", awkwardBlob(), true, int64(len(awkwardBlob()))},
		{"growing", append(append(awkwardBlob(), '\n'), partial...), false, int64(len(awkwardBlob()) + 1)},
	} {
		t.Run(v.name, func(t *testing.T) { testSplitTasks(t, v.blob, v.final, v.want) })
	}
}

func testSplitTasks(t *testing.T, blob []byte, final bool, wantConsumed int64) {
	size := int64(len(blob))
	run := func(t *testing.T, tasks []schema.Task) (*rowSink, doneLog) {
		sink := &rowSink{t: t}
		var done doneLog
		h, err := NewHandler(HandlerConfig{
			Tasks:  &done,
			Parser: Config{LogType: newTestParser(t, Config{}).cfg.LogType, MaxRecordSize: 4096},
		}, bytesBlob(blob), &Stream{Publisher: sink, Subject: func(table string) string { return "batches." + table }, MaxPayload: 8 << 20},
			slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		for _, task := range slices.Backward(tasks) {
			if _, err := h.Run(context.Background(), task); err != nil {
				t.Fatalf("task [%d, %d): %v", task.Start, task.End, err)
			}
		}
		slices.Reverse(done)
		return sink, done
	}
	base := schema.Task{Container: "insights-logs-signinlogs", Blob: "tenantId=t/y=2025/m=04/d=11/h=16/m=00/PT1H.json", Size: size, End: size, Final: final}
	whole, wholeDone := run(t, []schema.Task{base})
	if len(whole.ids) < 350 || len(whole.raws) < 40 {
		t.Fatalf("the blob gives %d rows and %d quarantined records; the test needs both", len(whole.ids), len(whole.raws))
	}
	if got := wholeDone[0].Consumed; got != wantConsumed {
		t.Fatalf("one task consumed up to %d, want %d", got, wantConsumed)
	}
	slices.Sort(whole.ids)
	slices.Sort(whole.raws)
	for _, cut := range []int64{53, 200, 511, 1000, 4093, size / 3} {
		t.Run(fmt.Sprint(cut), func(t *testing.T) {
			var tasks []schema.Task
			for start := int64(0); start < size; start += cut {
				p := base
				p.Start, p.SplitStart = start, start > 0
				if start+cut < size {
					p.End, p.SplitEnd = start+cut, true
				}
				tasks = append(tasks, p)
			}
			got, done := run(t, tasks)
			if len(done) != len(tasks) {
				t.Fatalf("%d tasks recorded, want %d", len(done), len(tasks))
			}
			at, moved := int64(0), 0
			for i, d := range done {
				if d.Start != at {
					t.Fatalf("task %d starts at %d, the one before consumed up to %d", i, d.Start, at)
				}
				if d.Start != tasks[i].Start {
					moved++
				}
				at = d.Consumed
			}
			if at != wantConsumed {
				t.Fatalf("tasks consumed up to %d of %d bytes, want %d", at, size, wantConsumed)
			}
			if moved == 0 && len(tasks) > 1 {
				t.Fatalf("no cut moved: the cuts did not fall inside records")
			}
			slices.Sort(got.ids)
			slices.Sort(got.raws)
			if !slices.Equal(got.ids, whole.ids) {
				t.Fatalf("rows differ from the whole blob's: %d vs %d ids", len(got.ids), len(whole.ids))
			}
			if !slices.Equal(got.raws, whole.raws) {
				t.Fatalf("quarantined records differ from the whole blob's:\n%q\n%q", got.raws, whole.raws)
			}
			if !final {
				return // no task reads to the end of a blob that grows
			}
			// Only the task that reads to the blob's end ends its
			// partitions: the last one but those whose cut moved to the end.
			lastTask := len(tasks) - 1
			for done[lastTask].Start == size {
				lastTask--
			}
			if _, ok := got.last[tasks[lastTask].ID()]; !ok || len(got.last) != 1 {
				t.Fatalf("batches marked last by %d tasks (%v), want task %d only", len(got.last), got.last, lastTask)
			}
		})
	}
}

// TestLastBatchSeq checks the numbers the writer counts a task's share by:
// batches split in halves to fit a message, only the last message of a
// partition is marked last, and its Seq is the number of messages the
// task sent there.
func TestLastBatchSeq(t *testing.T) {
	var b strings.Builder
	for i := range 300 {
		cat := []string{"SignInLogs", "AuditLogs"}[i%2]
		fmt.Fprintf(&b, `{"time":"2025-04-11T16:%02d:%02dZ","resourceId":"/r","operationName":"op","category":%q,"properties":{"id":"%04d","userAgent":%q}}`+"\n",
			i/60, i%60, cat, i, strings.Repeat("x", 300))
	}
	blob := []byte(b.String())
	sink := &rowSink{t: t}
	h, err := NewHandler(HandlerConfig{
		Parser: Config{LogType: newTestParser(t, Config{}).cfg.LogType, BatchRows: 100},
	}, bytesBlob(blob), &Stream{Publisher: sink, Subject: func(table string) string { return "batches." + table },
		MaxPayload: 24 << 10}, // a batch of 100 rows does not fit: halves
		slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	task := schema.Task{Container: "insights-logs-signinlogs", Blob: "tenantId=t/y=2025/m=04/d=11/h=16/m=00/PT1H.json", Size: int64(len(blob)), End: int64(len(blob)), Final: true}
	if _, err := h.Run(context.Background(), task); err != nil {
		t.Fatal(err)
	}
	if len(sink.ids) != 300 {
		t.Fatalf("%d rows, want 300", len(sink.ids))
	}
	if len(sink.msgs) != 2 {
		t.Fatalf("messages to %d partitions (%v), want 2", len(sink.msgs), sink.msgs)
	}
	for dest, n := range sink.msgs {
		if n <= 3 {
			t.Fatalf("%s: %d messages; the test needs batches split in halves", dest, n)
		}
		if sink.lastSeq[dest] != n {
			t.Errorf("%s: the last-marked message has Seq %d, the task sent %d", dest, sink.lastSeq[dest], n)
		}
	}
	if got := sink.last[task.ID()]; got != 2 {
		t.Errorf("%d messages marked last, want 2 (one per partition)", got)
	}
}
