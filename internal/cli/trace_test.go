package cli

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/entralake/entralake/internal/telemetry"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// TestTraceSpansStages checks that one trace follows a blob task from the
// lister through a parser to the writer's commit, carried in NATS headers.
func TestTraceSpansStages(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	telemetry.TracerProvider = tp
	t.Cleanup(func() { telemetry.TracerProvider = nil })
	dir := t.TempDir()
	var out, errb bytes.Buffer
	code := Main([]string{"run", "--source", "../../testdata/export", "--lake", filepath.Join(dir, "lake"),
		"--data-dir", filepath.Join(dir, "data"), "--once", "--log-level", "error"}, &out, &errb)
	if code != 0 {
		t.Fatalf("run exited %d: %s %s", code, out.String(), errb.String())
	}
	if err := tp.ForceFlush(t.Context()); err != nil {
		t.Fatal(err)
	}
	names := map[string]map[string]bool{} // trace id -> span names
	for _, s := range rec.Ended() {
		id := s.SpanContext().TraceID().String()
		if names[id] == nil {
			names[id] = map[string]bool{}
		}
		names[id][s.Name()] = true
	}
	want := []string{"lister publish", "parsers handle", "writers handle", "writer commit"}
	complete := 0
	for _, n := range names {
		ok := true
		for _, w := range want {
			ok = ok && n[w]
		}
		if ok {
			complete++
		}
	}
	if complete == 0 {
		t.Fatalf("no trace holds all of %q; traces: %v", want, names)
	}
	t.Logf("%d of %d traces span lister, parser and writer", complete, len(names))
}
