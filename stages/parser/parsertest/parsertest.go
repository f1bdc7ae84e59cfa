// Package parsertest helps tests that parse Entra exports.
package parsertest

import (
	"testing"

	"github.com/entralake/entralake/schema"
	"github.com/entralake/entralake/stages/parser"
)

// New returns a Parser for cfg, with the Azure.Audit schema when
// cfg.LogType is nil, released when the test ends.
func New(t testing.TB, cfg parser.Config) *parser.Parser {
	t.Helper()
	if cfg.LogType == nil {
		lt, err := schema.Load("Azure.Audit")
		if err != nil {
			t.Fatal(err)
		}
		cfg.LogType = lt
	}
	p, err := parser.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Release)
	return p
}
