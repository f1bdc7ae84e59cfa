package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"
)

// TestExitCode checks the exit codes of Main: a stage failure is a failure
// even joined with the cancellation it caused (which once made `run` exit
// 0), a signal's shutdown is not.
func TestExitCode(t *testing.T) {
	stage := errors.New("writer: consumer writers: not found")
	plain := context.Background()
	sigCtx, cancel := context.WithCancelCause(context.Background())
	cancel(&signalError{sig: syscall.SIGINT})
	termCtx, cancelTerm := context.WithCancelCause(context.Background())
	cancelTerm(&signalError{sig: syscall.SIGTERM})
	for _, tc := range []struct {
		name string
		ctx  context.Context
		err  error
		code int
		line string // the one line printed, "" for none
	}{
		{"success", plain, nil, 0, ""},
		{"failure", plain, stage, 1, "entralake: writer: consumer writers: not found"},
		{"stage failure joined with cancellation", plain, errors.Join(stage, context.Canceled), 1, "entralake: writer: consumer writers: not found"},
		{"wrapped join", plain, fmt.Errorf("run: %w", errors.Join(context.Canceled, stage)), 1, "entralake: run: context canceled; writer: consumer writers: not found"},
		{"failure during a signal's shutdown", sigCtx, errors.Join(context.Canceled, stage), 1, "entralake: writer: consumer writers: not found"},
		{"cancelled without a signal", plain, context.Canceled, 1, "entralake: context canceled"},
		{"service stopped by SIGTERM", termCtx, nil, 0, ""},
		{"job interrupted by SIGINT", sigCtx, errInterrupted, 130, "entralake: interrupted by SIGINT"},
		{"job interrupted by SIGTERM", termCtx, fmt.Errorf("compact: %w", context.Canceled), 143, "entralake: interrupted by SIGTERM"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if got := exitCode(tc.ctx, tc.err, &buf); got != tc.code {
				t.Errorf("exit code %d, want %d", got, tc.code)
			}
			if got := strings.TrimSuffix(buf.String(), "\n"); got != tc.line {
				t.Errorf("printed %q, want %q", got, tc.line)
			}
		})
	}
}
