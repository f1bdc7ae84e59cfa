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
// lister through a parser to the writer's commit, carried in NATS headers.
func TestTraceSpansStages(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	dir := t.TempDir()
	r := runFlags(t, "--source", "../../testdata/export", "--lake", filepath.Join(dir, "lake"), "--data-dir", filepath.Join(dir, "data"), "--once")
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
