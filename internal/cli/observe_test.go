package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/entralake/entralake/schema"
	"github.com/entralake/entralake/schema/schematest"
	"github.com/entralake/entralake/stages/parser"
)

// oneBlob serves the same bytes for every blob.
type oneBlob []byte

func (b oneBlob) ReadRange(_ context.Context, _, _ string, off, n int64) (io.ReadCloser, error) {
	end := int64(len(b))
	if n >= 0 {
		end = min(end, off+n)
	}
	return io.NopCloser(bytes.NewReader(b[off:end])), nil
}

// dropPublisher takes batches and keeps nothing.
type dropPublisher struct{}

func (dropPublisher) Publish(context.Context, schema.Outgoing) error { return nil }

// TestQuarantineMetricByKind parses one bad line of each kind of reason and
// checks that entralake_records_quarantined_total has a series for every
// kind, counting its line: a kind without a metric label, or a line counted
// under another kind, fails.
func TestQuarantineMetricByKind(t *testing.T) {
	lines := map[parser.ReasonKind]string{
		parser.ReasonInvalidJSON:     `{"time":x}`,
		parser.ReasonTooLong:         `{"time":"2025-04-11T16:01:02Z","resourceId":"/r","operationName":"` + strings.Repeat("x", 300) + `"}`,
		parser.ReasonMissingRequired: `{"time":"2025-04-11T16:01:02Z","resourceId":"/r"}`,
		parser.ReasonBadTime:         `{"time":"yesterday","resourceId":"/r","operationName":"op"}`,
		parser.ReasonNotAnObject:     `42`,
		parser.ReasonTruncatedJSON:   `{"time":"2025-04-11T16:01:02Z","resourceId":"/r"`, // last: nothing follows it
	}
	var blob []byte
	for _, k := range []parser.ReasonKind{parser.ReasonInvalidJSON, parser.ReasonTooLong, parser.ReasonMissingRequired, parser.ReasonBadTime, parser.ReasonNotAnObject, parser.ReasonTruncatedJSON} {
		blob = append(blob, lines[k]+"\n"...)
	}
	lt, err := LogTypeFlags{LogType: "Azure.Audit"}.logType()
	if err != nil {
		t.Fatal(err)
	}
	ph, err := parser.NewHandler(parser.HandlerConfig{Parser: parser.Config{LogType: lt, MaxRecordSize: 256}},
		oneBlob(blob), &parser.Stream{Publisher: dropPublisher{}, Subject: func(string) string { return "x" }}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	task, err := json.Marshal(schema.Task{Container: "insights-logs-signinlogs", Blob: "y=2025/m=04/d=11/h=16/m=00/PT1H.json",
		End: int64(len(blob)), Size: int64(len(blob)), Final: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := ph.Handle(t.Context(), &schematest.Message{Body: task}); err != nil {
		t.Fatal(err)
	}

	env := &Env{Ctx: t.Context(), Log: slog.New(slog.DiscardHandler), Stdout: io.Discard, Stderr: io.Discard}
	obs, err := observe(env, "parser", MetricsFlags{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer obs.close(t.Context())
	if err := obs.parser(ph); err != nil {
		t.Fatal(err)
	}
	families, err := obs.tel.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		if f.GetName() != "entralake_records_quarantined_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "reason" {
					got[l.GetValue()] = m.GetCounter().GetValue()
				}
			}
		}
	}
	for _, k := range parser.ReasonKinds() {
		if v, ok := got[string(k)]; !ok || v != 1 {
			t.Errorf("entralake_records_quarantined_total{reason=%q} = %v (present %v), want 1", k, v, ok)
		}
	}
	if len(got) != len(parser.ReasonKinds()) {
		t.Errorf("reason labels %v, want exactly the kinds %v", got, parser.ReasonKinds())
	}
}
