package layout_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// pkg is what the test reads of `go list -json`.
type pkg struct {
	ImportPath string
	Imports    []string
	ForTest    string
	Error      *struct{ Err string }
}

// goList runs `go list -e -json -deps -test` on the whole module and
// returns every package it lists, test variants included, by import path,
// and the module's path.
func goList(t *testing.T) (map[string]*pkg, string) {
	t.Helper()
	mod, err := exec.Command("go", "list", "-m", "-f", "{{.Path}} {{.Dir}}").Output()
	if err != nil {
		t.Fatalf("go list -m: %v", err)
	}
	module, dir, _ := strings.Cut(strings.TrimSpace(string(mod)), " ")
	statSources(t, dir)
	cmd := exec.Command("go", "list", "-e", "-json", "-deps", "-test", module+"/...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	pkgs := map[string]*pkg{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if p.Error != nil && strings.HasPrefix(p.ImportPath, module) {
			t.Errorf("go list %s: %s", p.ImportPath, p.Error.Err)
		}
		pkgs[p.ImportPath] = &p
	}
	return pkgs, module
}

// statSources stats every Go file and folder of the module below dir, so
// that go test's cache, which tracks the files a test reads but not what
// the go list it runs reads, runs the test again when any of them changes.
func statSources(t *testing.T, dir string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != dir && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(p, "go.mod")); err == nil && p != dir {
				return filepath.SkipDir // another module (e2e, bench)
			}
			return nil
		}
		if strings.HasSuffix(p, ".go") || d.Name() == "go.mod" {
			_, err = os.Stat(p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// room is what a package of the module is, for the rules.
type room string

const (
	roomCmd      room = "cmd"
	roomCLI      room = "internal/cli"
	roomInternal room = "internal helper"
	roomStage    room = "stage"
	roomSource   room = "source"
	roomLakeRoot room = "lake"
	roomSink     room = "sink"
	roomWorkers  room = "workers"
	roomSchema   room = "schema"
)

// roomOf classifies rel, an import path relative to the module, and
// names its unit (the stage, source or sink it belongs to: stages/parser
// and stages/parser/parsertest are one stage).
func roomOf(rel string) (room, string) {
	seg := strings.Split(rel, "/")
	unit := func(n int) string { return strings.Join(seg[:min(n, len(seg))], "/") }
	switch {
	case seg[0] == "cmd":
		return roomCmd, unit(2)
	case rel == "internal/cli":
		return roomCLI, rel
	case seg[0] == "internal":
		return roomInternal, unit(2)
	case seg[0] == "stages":
		return roomStage, unit(2)
	case seg[0] == "source":
		return roomSource, unit(2)
	case rel == "lake":
		return roomLakeRoot, rel
	case seg[0] == "lake":
		return roomSink, unit(2)
	case seg[0] == "workers":
		return roomWorkers, unit(1)
	case seg[0] == "schema":
		return roomSchema, unit(1)
	}
	return "", rel
}

// allowed says whether a package of room from (unit fromUnit) may import
// one of room to (unit toUnit).
func allowed(from room, fromUnit string, to room, toUnit string) bool {
	switch from {
	case roomCmd:
		return to == roomCLI
	case roomCLI:
		return to != roomCmd
	case roomInternal:
		return to == roomInternal || to == roomSchema
	case roomStage:
		// No other stage, no workers, no source, no lake driver.
		return to == roomSchema || to == roomLakeRoot || to == roomInternal || to == roomStage && toUnit == fromUnit
	case roomSource:
		return to == roomSchema || to == roomInternal || to == roomSource && toUnit == fromUnit
	case roomLakeRoot:
		return to == roomSchema || to == roomInternal
	case roomSink:
		return to == roomSchema || to == roomInternal || to == roomLakeRoot || to == roomSink && toUnit == fromUnit
	case roomWorkers:
		return to == roomSchema || to == roomInternal || to == roomWorkers
	case roomSchema:
		return to == roomSchema
	}
	return false
}

// TestImportRules checks every import of every package of the module (not
// of its tests) against the rules of the package doc.
func TestImportRules(t *testing.T) {
	pkgs, module := goList(t)
	checked := 0
	for path, p := range pkgs {
		rel, ok := strings.CutPrefix(path, module+"/")
		if !ok || p.ForTest != "" || strings.HasSuffix(path, ".test") {
			continue
		}
		from, fromUnit := roomOf(rel)
		if from == "" {
			t.Errorf("%s: in no room of the layout (cmd, internal, stages, source, lake, workers, schema)", rel)
			continue
		}
		for _, imp := range p.Imports {
			irel, ok := strings.CutPrefix(imp, module+"/")
			if !ok {
				continue
			}
			checked++
			to, toUnit := roomOf(irel)
			if !allowed(from, fromUnit, to, toUnit) {
				t.Errorf("%s (%s) imports %s (%s)", rel, from, irel, to)
			}
		}
	}
	if checked < 30 {
		t.Fatalf("checked %d imports: go list listed too little", checked)
	}
}

// TestNoTransportBelowWorkers checks that no stage, source or sink depends
// on NATS or on workers, in its code or in its tests: a stage's tests run
// without a server, on in-memory fakes of the message interface.
func TestNoTransportBelowWorkers(t *testing.T) {
	pkgs, module := goList(t)
	// deps returns the packages root depends on, itself included.
	deps := func(root string) map[string]bool {
		seen := map[string]bool{}
		var visit func(string)
		visit = func(path string) {
			if seen[path] {
				return
			}
			seen[path] = true
			if p := pkgs[path]; p != nil {
				for _, imp := range p.Imports {
					visit(imp)
				}
			}
		}
		visit(root)
		return seen
	}
	checked := 0
	for path, p := range pkgs {
		rel, ok := strings.CutPrefix(path, module+"/")
		if !ok || p.ForTest != "" {
			continue
		}
		base, isTest := strings.CutSuffix(rel, ".test")
		r, _ := roomOf(base)
		if !slices.Contains([]room{roomStage, roomSource, roomLakeRoot, roomSink, roomSchema}, r) {
			continue
		}
		what := base
		if isTest {
			what += "'s tests"
		}
		checked++
		var bad []string
		for d := range deps(path) {
			d, _, _ = strings.Cut(d, " ")
			if strings.HasPrefix(d, "github.com/nats-io/") || d == module+"/workers" || strings.HasPrefix(d, module+"/workers/") {
				bad = append(bad, strings.TrimPrefix(d, module+"/"))
			}
		}
		if len(bad) > 0 {
			slices.Sort(bad)
			t.Errorf("%s depend on the transport: %s", what, strings.Join(bad, ", "))
		}
	}
	if checked < 20 {
		t.Fatalf("checked %d packages and test binaries: go list listed too little", checked)
	}
}
