package e2e

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// systemdUnit is ../deploy/systemd/entralake.service.
const systemdUnit = "../deploy/systemd/entralake.service"

// unitFile is a systemd unit: section -> key -> values in order.
type unitFile map[string]map[string][]string

// parseUnit reads a unit file: [Section] headers, Key=Value lines, # and ;
// comments. Continuation lines are not used by ours and are refused.
func parseUnit(t *testing.T, data []byte) unitFile {
	t.Helper()
	u := unitFile{}
	section := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = line[1 : len(line)-1]
			u[section] = map[string][]string{}
		case strings.HasSuffix(line, "\\"):
			t.Fatalf("line %d: continuation lines are not checked here", n)
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				t.Fatalf("line %d: %q is not Key=Value in a section", n, line)
			}
			u[section][strings.TrimSpace(k)] = append(u[section][strings.TrimSpace(k)], strings.TrimSpace(v))
		}
	}
	return u
}

// one returns the single value of a key.
func (u unitFile) one(t *testing.T, section, key string) string {
	t.Helper()
	v := u[section][key]
	if len(v) != 1 {
		t.Errorf("[%s] %s: %d values %q, want one", section, key, len(v), v)
		return ""
	}
	return v[0]
}

// TestSystemdUnit checks the systemd unit of the README's "Running for
// real": its command line and variables are real flags of the binary (as
// for the compose file and the manifests), run has what it requires, the
// state folder is the one systemd creates, a stop leaves entralake time to
// flush, and systemd-analyze verify accepts it (when systemd is here).
func TestSystemdUnit(t *testing.T) {
	data, err := os.ReadFile(systemdUnit)
	if err != nil {
		t.Fatal(err)
	}
	u := parseUnit(t, data)
	exec0 := strings.Fields(u.one(t, "Service", "ExecStart"))
	if len(exec0) < 2 || filepath.Base(exec0[0]) != "entralake" {
		t.Fatalf("ExecStart %q does not run entralake", exec0)
	}
	env := map[string]string{}
	for _, kv := range u["Service"]["Environment"] {
		k, v, _ := strings.Cut(strings.Trim(kv, `"`), "=")
		env[k] = v
	}
	var names []string
	for k := range env {
		names = append(names, k)
	}
	c, err := checkCommand(exec0[1:], names)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(c.sub, " ") != "run" {
		t.Errorf("the unit runs %q, want run (watch mode)", c.sub)
	}
	if _, ok := c.flags["once"]; ok {
		t.Errorf("the unit runs --once: a service watches")
	}
	for _, f := range []string{"source", "lake", "data-dir"} {
		if v, ok := c.flag(f, env); !ok || v == "" {
			t.Errorf("the unit sets no --%s", f)
		}
	}
	state := u.one(t, "Service", "StateDirectory")
	if dd, _ := c.flag("data-dir", env); !strings.HasPrefix(dd, "/var/lib/"+state+"/") && dd != "/var/lib/"+state {
		t.Errorf("--data-dir %s is not under the StateDirectory /var/lib/%s that systemd creates for the service user", dd, state)
	}
	if got := u.one(t, "Service", "KillSignal"); got != "SIGTERM" && got != "" {
		t.Errorf("KillSignal %s: entralake flushes on SIGTERM or SIGINT", got)
	}
	stop, err := time.ParseDuration(u.one(t, "Service", "TimeoutStopSec") + "s")
	if err != nil {
		t.Fatal(err)
	}
	if shutdown := 30 * time.Second; stop <= shutdown { // --shutdown-timeout default
		t.Errorf("TimeoutStopSec %s is not above --shutdown-timeout %s: systemd would kill entralake while it flushes", stop, shutdown)
	}
	if got := u.one(t, "Install", "WantedBy"); got != "multi-user.target" {
		t.Errorf("WantedBy %s", got)
	}
	if u.one(t, "Service", "Restart") == "" {
		t.Errorf("no Restart")
	}

	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Logf("systemd-analyze is not installed: verify skipped (the checks above ran)")
		return
	}
	// verify checks that ExecStart is executable: point it at the binary
	// under test.
	unit := filepath.Join(t.TempDir(), "entralake.service")
	if err := os.WriteFile(unit, bytes.ReplaceAll(data, []byte(exec0[0]), []byte(binPath)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.CommandContext(t.Context(), analyze, "verify", unit).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}
