package schema

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func TestDescribeGolden(t *testing.T) {
	lt, err := Load("Azure.Audit")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	var b bytes.Buffer
	if err := lt.Describe(&b); err != nil {
		t.Fatalf("Describe: %v", err)
	}
	golden := filepath.Join("testdata", "describe.golden")
	if *update {
		if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
			t.Fatalf("update golden: %v", err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("read golden (run go test ./schema -update to create it): %v", err)
	}
	if got := b.String(); got != string(want) {
		t.Errorf("Describe output differs from %s (run go test ./schema -update to accept):\ngot:\n%s\nwant:\n%s", golden, got, want)
	}

	// Deterministic: a second run writes the same bytes.
	var again bytes.Buffer
	if err := lt.Describe(&again); err != nil {
		t.Fatalf("Describe: %v", err)
	}
	if !bytes.Equal(again.Bytes(), b.Bytes()) {
		t.Error("second Describe differs from the first")
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, os.ErrClosed }

func TestDescribeWriteError(t *testing.T) {
	lt, err := Load("Azure.Audit")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if err := lt.Describe(failWriter{}); err == nil {
		t.Error("Describe to a failing writer: got nil error, want one")
	}
}
