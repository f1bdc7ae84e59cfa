package cli

import (
	"bytes"
	"io"
	"log/slog"
	"path/filepath"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// TestTraceSpansStages checks that one trace follows a blob task from the
// lister through a parser to the writer's commit, carried in NATS headers
// (and, in the split topology, through the writer's handling of a batch).
func TestTraceSpansStages(t *testing.T) {
	for topology, want := range map[string][]string{
		"fused": {"lister publish", "parsers handle", "writer commit"},
		"split": {"lister publish", "parsers handle", "writers handle", "writer commit"},
	} {
		t.Run(topology, func(t *testing.T) { testTraceSpans(t, topology, want) })
	}
}

func testTraceSpans(t *testing.T, topology string, want []string) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	dir := t.TempDir()
	r := runFlags(t, "--source", "../../testdata/export", "--lake", filepath.Join(dir, "lake"), "--data-dir", filepath.Join(dir, "data"), "--once", "--topology", topology)
	var out bytes.Buffer
	env := &Env{Ctx: t.Context(), Log: slog.New(slog.DiscardHandler), Stdout: &out, Stderr: io.Discard, TracerProvider: tp}
	if err := r.Run(env); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
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
