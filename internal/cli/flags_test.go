package cli

import (
	"bytes"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/alecthomas/kong"
)

func TestParseHour(t *testing.T) {
	h := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, tc := range []struct {
		in   string
		end  bool
		want time.Time
	}{
		{"2025-04-11T05", false, h("2025-04-11T05:00:00Z")},
		{"2025-04-11T05", true, h("2025-04-11T05:00:00Z")},
		{"2025-04-11T05:30", true, h("2025-04-11T05:00:00Z")},
		{"2025-04-11T05:30:00+02:00", false, h("2025-04-11T03:00:00Z")},
		{"2025-04-11", false, h("2025-04-11T00:00:00Z")},
		{"2025-04-11", true, h("2025-04-11T23:00:00Z")}, // --to a date: the whole day
		{"", true, time.Time{}},
	} {
		got, err := parseHour(tc.in, tc.end)
		if err != nil || !got.Equal(tc.want) {
			t.Errorf("parseHour(%q, %t) = %v, %v; want %v", tc.in, tc.end, got, err, tc.want)
		}
	}
	for _, bad := range []string{"2025-04-11T24", "2025-13-01", "yesterday", "2025-04-11 05"} {
		if _, err := parseHour(bad, false); err == nil {
			t.Errorf("parseHour(%q) accepted it", bad)
		}
	}
}

func TestRangeHoursDay(t *testing.T) {
	from, to, err := ListerFlags{From: "2025-04-11", To: "2025-04-11"}.rangeHours()
	if err != nil {
		t.Fatal(err)
	}
	if got := to.Sub(from); got != 23*time.Hour {
		t.Errorf("--from 2025-04-11 --to 2025-04-11 spans %s, want the 24 hours 00..23", got)
	}
	if _, _, err := (ListerFlags{From: "2025-04-12", To: "2025-04-11T23"}).rangeHours(); err == nil || !strings.Contains(err.Error(), "--to 2025-04-11T23: is before --from 2025-04-12") {
		t.Errorf("reversed range: %v", err)
	}
}

func TestSize(t *testing.T) {
	for in, want := range map[string]Size{
		"16MiB": 16 << 20, "96MiB": 96 << 20, "96 MiB": 96 << 20, "1GB": 1_000_000_000, "1GiB": 1 << 30,
		"1048576": 1 << 20, "0": 0, "1.5KiB": 1536, "64mib": 64 << 20, "8M": 8_000_000,
	} {
		var s Size
		if err := s.UnmarshalText([]byte(in)); err != nil || s != want {
			t.Errorf("Size(%q) = %d, %v; want %d", in, s, err, want)
		}
	}
	for _, bad := range []string{"", "-1", "16XB", "MiB", "99999999EiB"} {
		var s Size
		if err := s.UnmarshalText([]byte(bad)); err == nil {
			t.Errorf("Size(%q) = %d, want an error", bad, s)
		}
	}
	for s, want := range map[Size]string{96 << 20: "96MiB", 0: "0B", 16 << 20: "16MiB", 400 << 20: "400MiB", 1 << 20: "1MiB", 1536: "1.5KiB", 1000: "1000B", 3 << 30: "3GiB"} {
		if got := s.String(); got != want {
			t.Errorf("Size(%d).String() = %q, want %q", int64(s), got, want)
		}
	}
}

// TestFlagDefaultsVisible checks the help of every flag of every command:
// a flag with a default shows it (a placeholder would hide it), and a
// flag without one says in its help what happens when it is not given.
func TestFlagDefaultsVisible(t *testing.T) {
	k, err := kong.New(&CLI{}, kong.Name("entralake"), kong.DefaultEnvars("ENTRALAKE"), kong.Vars{"version": "test"})
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	err = kong.Visit(k.Model.Node, func(n kong.Visitable, next kong.Next) error {
		f, ok := n.(*kong.Flag)
		if !ok || f.Hidden || f.Name == "help" || f.Name == "version" {
			return next(nil)
		}
		checked++
		switch {
		case f.HasDefault && f.PlaceHolder != "":
			t.Errorf("--%s: default %q hidden behind placeholder %q", f.Name, f.Default, f.PlaceHolder)
		case !f.HasDefault && !f.Required && !f.IsBool() && !strings.Contains(f.Help, "default"):
			t.Errorf("--%s has no default and its help does not say what happens without it: %q", f.Name, f.Help)
		}
		if len(f.Envs) == 0 {
			t.Errorf("--%s has no environment variable", f.Name)
		}
		return next(nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 50 {
		t.Errorf("checked %d flags: the walk missed most of them", checked)
	}
}

// TestUsageErrorsOneLine runs Main on wrong command lines: one line on
// stderr naming the problem, a hint to the command's help, exit code 2.
func TestUsageErrorsOneLine(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "--source", dir, "--lake", dir, "--bogus"}, "entralake: error: unknown flag --bogus; see 'entralake run --help'"},
		{[]string{"run", "--source", dir, "--lake", dir, "--poll-interval", "0"}, "entralake: error: --poll-interval 0s: must be more than 0; see 'entralake run --help'"},
		{[]string{"run", "--source", dir, "--lake", dir, "--roll-size", "12XB"}, `entralake: error: --roll-size: "12XB" is not a size: give bytes or a number with a unit, e.g. 16MiB, 96MiB, 1GB; see 'entralake run --help'`},
		{[]string{"run", "--source", dir, "--lake", dir, "--writers", "0"}, "entralake: error: --writer-batches 0: must be at least 1; see 'entralake run --help'"},
		{[]string{"writer", "--lake", dir, "--batches", "0"}, "entralake: error: --writer-batches 0: must be at least 1; see 'entralake writer --help'"},
		{[]string{"run", "--source", dir, "--lake", dir, "--log-type", "Azure.Nope"}, "entralake: error: --log-type Azure.Nope: no such log type; built in: Azure.Audit; see 'entralake run --help'"},
		{[]string{"schema", "--log-type", "Azure.Nope"}, "entralake: error: --log-type Azure.Nope: no such log type; built in: Azure.Audit; see 'entralake schema --help'"},
		{[]string{"dlq", "retry"}, "entralake: error: --all: give the ids of dead letters or --all (not both); see 'entralake dlq retry --help'"},
		{[]string{"dlq"}, `entralake: error: expected one of "list", "retry"; see 'entralake dlq --help'`},
		{nil, "; see 'entralake --help'"},
		{[]string{"help", "nope"}, "entralake: error: unexpected argument nope; see 'entralake --help'"},
	} {
		var stdout, stderr bytes.Buffer
		code := Main(tc.args, &stdout, &stderr)
		lines := strings.Split(strings.TrimSuffix(stderr.String(), "\n"), "\n")
		if code != ExitUsage || len(lines) != 1 || !strings.Contains(lines[0], tc.want) || stdout.Len() != 0 {
			t.Errorf("entralake %q: exit %d, stdout %d bytes, stderr %d lines:\n%s\nwant exit 2 and one line with %q",
				tc.args, code, stdout.Len(), len(lines), stderr.String(), tc.want)
		}
	}
}

// TestHelpCommand checks that 'entralake help <command>' prints what
// '<command> --help' prints.
func TestHelpCommand(t *testing.T) {
	for _, cmd := range [][]string{{"run"}, {"dlq", "retry"}, {}} {
		var a, b, errA, errB bytes.Buffer
		codeA := Main(append([]string{"help"}, cmd...), &a, &errA)
		codeB := Main(append(cmd, "--help"), &b, &errB)
		if codeA != 0 || codeB != 0 || a.String() != b.String() || a.Len() == 0 {
			t.Errorf("help %q: exit %d (%s) and %d (%s), same text: %t", cmd, codeA, errA.String(), codeB, errB.String(), a.String() == b.String())
		}
	}
	var out, errOut bytes.Buffer
	Main([]string{"dlq", "retry", "--help"}, &out, &errOut)
	if strings.Contains(out.String(), "<i-ds>") || !strings.Contains(out.String(), "[<id> ...]") {
		t.Errorf("dlq retry usage: %s", out.String())
	}
}

// TestRenamedFlag checks the old names of --writer-batches: flags and
// variables still work, and --help shows only the new name.
func TestRenamedFlag(t *testing.T) {
	parse := func(args ...string) (*CLI, error) {
		var c CLI
		k, err := kong.New(&c, kong.Name("entralake"), kong.DefaultEnvars("ENTRALAKE"), kong.Vars{"version": "test"}, kong.Resolvers(renamedEnvs()))
		if err != nil {
			t.Fatal(err)
		}
		_, err = k.Parse(args)
		return &c, err
	}
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		env  map[string]string
		run  bool
		want int
	}{
		{[]string{"run", "--source", dir, "--lake", dir, "--writers", "7"}, nil, true, 7},
		{[]string{"run", "--source", dir, "--lake", dir, "--writer-batches", "6"}, nil, true, 6},
		{[]string{"run", "--source", dir, "--lake", dir}, map[string]string{"ENTRALAKE_WRITERS": "5"}, true, 5},
		{[]string{"run", "--source", dir, "--lake", dir}, nil, true, 4},
		{[]string{"writer", "--lake", dir, "--batches", "3"}, nil, false, 3},
		{[]string{"writer", "--lake", dir}, map[string]string{"ENTRALAKE_BATCHES": "2"}, false, 2},
		{[]string{"writer", "--lake", dir}, map[string]string{"ENTRALAKE_BATCHES": "2", "ENTRALAKE_WRITER_BATCHES": "9"}, false, 9},
		{[]string{"writer", "--lake", dir, "--batches", "8"}, map[string]string{"ENTRALAKE_BATCHES": "2"}, false, 8},
	} {
		t.Run(strings.Join(tc.args[:1], " "), func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			c, err := parse(tc.args...)
			if err != nil {
				t.Fatalf("%q %v: %v", tc.args, tc.env, err)
			}
			got := c.Writer.WriterBatches
			if tc.run {
				got = c.Run.WriterBatches
			}
			if got != tc.want {
				t.Errorf("%q %v: writer batches %d, want %d", tc.args, tc.env, got, tc.want)
			}
		})
	}
	var out, errOut bytes.Buffer
	Main([]string{"writer", "--help"}, &out, &errOut)
	if !strings.Contains(out.String(), "--writer-batches=4") || strings.Contains(out.String(), "--batches") {
		t.Errorf("writer --help shows:\n%s", out.String())
	}
}

func TestVersionOf(t *testing.T) {
	bi := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/entralake/entralake", Version: "v0.0.0-20261127132056-18a7b4db2f41+dirty"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "18a7b4db2f41f12445a1ec115973d6e4e07dc04b"}, {Key: "vcs.time", Value: "2026-11-27T13:20:56Z"}, {Key: "vcs.modified", Value: "true"}}}
	want := "entralake v0.0.0-20261127132056-18a7b4db2f41+dirty, commit 18a7b4db2f41f12445a1ec115973d6e4e07dc04b of 2026-11-27T13:20:56Z with uncommitted changes, go1.26.8"
	if got := versionOf(bi); got != want {
		t.Errorf("versionOf = %q\nwant %q", got, want)
	}
	bi.Settings, bi.Main.Version = nil, "(devel)"
	if got, want := versionOf(bi), "entralake (devel), commit unknown (built without VCS information), go1.26.8"; got != want {
		t.Errorf("versionOf without VCS = %q, want %q", got, want)
	}
	var out, errOut bytes.Buffer
	if code := Main([]string{"--version"}, &out, &errOut); code != 0 || !strings.HasPrefix(out.String(), "entralake ") || strings.Count(out.String(), "\n") != 1 {
		t.Errorf("--version: exit %d, %q %q", code, out.String(), errOut.String())
	}
}
