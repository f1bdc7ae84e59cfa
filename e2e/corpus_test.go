package e2e

import (
	"fmt"
	"strings"
	"testing"
)

// endTB records how corpusAbsent ends a test.
type endTB struct {
	testing.TB
	fatal, skip string
}

func (e *endTB) Helper()                        {}
func (e *endTB) Fatalf(format string, a ...any) { e.fatal = fmt.Sprintf(format, a...) }
func (e *endTB) Skipf(format string, a ...any)  { e.skip = fmt.Sprintf(format, a...) }

// TestCorpusAbsent checks that the corpus tests cannot pass silently in CI:
// without the corpus they fail when CI=true, and skip elsewhere.
func TestCorpusAbsent(t *testing.T) {
	t.Setenv("CI", "true")
	ci := &endTB{TB: t}
	corpusAbsent(ci, "/nowhere/corpus")
	if ci.fatal == "" || ci.skip != "" || !strings.Contains(ci.fatal, "CI=true") {
		t.Errorf("CI=true: fatal %q, skip %q; want a failure", ci.fatal, ci.skip)
	}
	t.Setenv("CI", "")
	dev := &endTB{TB: t}
	corpusAbsent(dev, "/nowhere/corpus")
	if dev.skip == "" || dev.fatal != "" {
		t.Errorf("no CI: fatal %q, skip %q; want a skip", dev.fatal, dev.skip)
	}
}
