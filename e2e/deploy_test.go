package e2e

// Tests of the deployment files: docker-compose.yml, Dockerfile,
// deploy/prometheus.yml and deploy/k8s. No container runs here; each file is
// loaded the way its tool loads it (compose-go validates the compose file
// against the Compose specification) and every entralake command line in
// it is checked against the binary under test: the subcommand, its flags
// and the ENTRALAKE_* variables handed to it must all be real.

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"maps"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"gopkg.in/yaml.v3"
)

// metricsPort is the port of --metrics-addr in every deployment file.
const metricsPort = 9464

// stages are the entralake services every deployment runs.
var stages = []string{"lister", "parser", "writer"}

// ---------------------------------------------------------------------------
// Checking entralake command lines against the binary.

// cmdHelp is what `entralake <command> --help` says about one command.
type cmdHelp struct {
	usage string
	flags map[string]flagHelp // by long name, without "--"
	envs  map[string]bool     // ENTRALAKE_* variables named in the help
}

// flagHelp is one flag of a command's help.
type flagHelp struct {
	value string // "DIR" of --lake=DIR, `"info"` of --log-level="info"; empty for a boolean flag
}

// flagLineRE matches a flag definition in kong's help: "  -h, --help" or
// "      --lake=DIR". Continuation lines of descriptions are indented
// further, so a description that wraps before a flag name ("(keep above
// --roll-age)") is not taken for a flag.
var flagLineRE = regexp.MustCompile(`(?m)^(?:  -[A-Za-z0-9], |      )--(?:\[no-\])?([a-z0-9][a-z0-9-]*)(?:=(\S+))?`)

// envRE matches the variable of a flag in kong's help: ($ENTRALAKE_LAKE).
var envRE = regexp.MustCompile(`\$(ENTRALAKE_[A-Z0-9_]+)`)

// parseHelp reads kong's help text: the Usage line, and the flags and
// variables of the Flags section.
func parseHelp(text string) (cmdHelp, error) {
	h := cmdHelp{flags: map[string]flagHelp{}, envs: map[string]bool{}}
	first, _, _ := strings.Cut(text, "\n")
	if !strings.HasPrefix(first, "Usage: entralake") {
		return h, fmt.Errorf("help does not start with a Usage line: %q", first)
	}
	h.usage = first
	_, flags, ok := strings.Cut(text, "\nFlags:\n")
	if !ok {
		return h, errors.New("help has no Flags section")
	}
	flags, _, _ = strings.Cut(flags, "\nCommands:\n")
	for _, m := range flagLineRE.FindAllStringSubmatch(flags, -1) {
		h.flags[m[1]] = flagHelp{value: m[2]}
	}
	for _, m := range envRE.FindAllStringSubmatch(flags, -1) {
		h.envs[m[1]] = true
	}
	if len(h.flags) == 0 {
		return h, errors.New("help lists no flags")
	}
	return h, nil
}

// helpCache holds the help of each command line already run.
var helpCache sync.Map // string -> helpResult

type helpResult struct {
	help cmdHelp
	err  error
}

// entralakeHelp runs `entralake <args...> --help`. kong exits non-zero for
// an unknown command, an unknown flag or a value it cannot parse, even
// with --help; the help text printed on success is parsed.
func entralakeHelp(args []string) (cmdHelp, error) {
	key := strings.Join(args, "\x00")
	if r, ok := helpCache.Load(key); ok {
		return r.(helpResult).help, r.(helpResult).err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, append(slices.Clone(args), "--help")...)
	cmd.Env = childEnv()
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	var r helpResult
	if err := cmd.Run(); err != nil {
		r.err = fmt.Errorf("entralake %s --help: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(errOut.String()))
	} else {
		r.help, r.err = parseHelp(out.String())
		if r.err != nil {
			r.err = fmt.Errorf("entralake %s --help: %w", strings.Join(args, " "), r.err)
		}
	}
	helpCache.Store(key, r)
	return r.help, r.err
}

// cmdLine is a checked entralake command line.
type cmdLine struct {
	sub   []string          // the subcommand: ["parser"], ["dlq", "list"]
	flags map[string]string // long flags given, with their values ("" for a boolean)
	help  cmdHelp
}

// flag returns the value of a flag given on the command line or, failing
// that, in env (name -> value) as its ENTRALAKE_* variable.
func (c cmdLine) flag(name string, env map[string]string) (string, bool) {
	if v, ok := c.flags[name]; ok {
		return v, true
	}
	v, ok := env[flagEnv(name)]
	return v, ok
}

// flagEnv returns the variable of a flag: --foo-bar is ENTRALAKE_FOO_BAR.
func flagEnv(flag string) string {
	return "ENTRALAKE_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// envFlag returns the flag of an ENTRALAKE_* variable.
func envFlag(env string) string {
	return strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(env, "ENTRALAKE_"), "_", "-"))
}

// checkCommand checks that args (what follows "entralake") is a command
// line the binary accepts: a subcommand (not a command group, not the bare
// binary), then flags of that subcommand, and that each ENTRALAKE_*
// variable in envNames belongs to one of its flags. The binary's exit
// status is not the only judge: every --flag must also appear in the
// subcommand's own help, and every variable too, because kong silently
// ignores variables it does not know.
func checkCommand(args []string, envNames []string) (cmdLine, error) {
	var c cmdLine
	for _, a := range args {
		if strings.HasPrefix(a, "-") {
			break
		}
		c.sub = append(c.sub, a)
	}
	if len(c.sub) == 0 {
		return c, fmt.Errorf("command %q names no entralake subcommand", args)
	}
	help, err := entralakeHelp(args)
	if err != nil {
		return c, err
	}
	c.help = help
	want := "Usage: entralake " + strings.Join(c.sub, " ")
	if rest, ok := strings.CutPrefix(help.usage, want); !ok || (rest != "" && rest[0] != ' ') {
		return c, fmt.Errorf("command %q: help is %q, want the help of %q", args, help.usage, want)
	}
	if strings.Contains(help.usage, "<command>") {
		return c, fmt.Errorf("command %q: %q is a group of commands, not a command", args, strings.Join(c.sub, " "))
	}
	c.flags = map[string]string{}
	for i := len(c.sub); i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "--") || a == "--" {
			return c, fmt.Errorf("command %q: argument %q: want --flag (positional arguments and short flags are not checked)", args, a)
		}
		name, value, hasValue := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		f, ok := help.flags[name]
		if !ok {
			return c, fmt.Errorf("command %q: --%s is not a flag of entralake %s", args, name, strings.Join(c.sub, " "))
		}
		if f.value != "" && !hasValue {
			if i+1 >= len(args) {
				return c, fmt.Errorf("command %q: --%s needs a value", args, name)
			}
			i++
			value = args[i]
		}
		c.flags[name] = value
	}
	for _, e := range envNames {
		if !strings.HasPrefix(e, "ENTRALAKE_") {
			continue
		}
		if _, ok := help.flags[envFlag(e)]; !ok || !help.envs[e] {
			return c, fmt.Errorf("variable %s: entralake %s has no flag --%s", e, strings.Join(c.sub, " "), envFlag(e))
		}
	}
	return c, nil
}

// helpSize reads a size default as --help shows it: bytes, or a whole
// number of KiB, MiB or GiB (8MiB).
func helpSize(v string) (int64, error) {
	for i, unit := range []string{"KiB", "MiB", "GiB"} {
		if n, ok := strings.CutSuffix(v, unit); ok {
			m, err := strconv.ParseInt(n, 10, 64)
			return m << (10 * (i + 1)), err
		}
	}
	return strconv.ParseInt(strings.TrimSuffix(v, "B"), 10, 64)
}

// metricsAddrPort returns the port of --metrics-addr, which must listen on
// every interface so that Prometheus and the kubelet reach it.
func metricsAddrPort(c cmdLine, env map[string]string) (int, error) {
	addr, ok := c.flag("metrics-addr", env)
	if !ok {
		return 0, errors.New("no --metrics-addr: the stage serves no metrics nor probes")
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return 0, fmt.Errorf("--metrics-addr %q: %v", addr, err)
	}
	if host != "" && host != "0.0.0.0" && host != "::" {
		return 0, fmt.Errorf("--metrics-addr %q listens on %s only: other containers cannot reach it", addr, host)
	}
	return strconv.Atoi(port)
}

// TestDeployCommandChecker shows that checkCommand rejects what the
// deployment files must not contain, so that the tests below can fail.
func TestDeployCommandChecker(t *testing.T) {
	lister, err := entralakeHelp([]string{"lister"})
	if err != nil {
		t.Fatal(err)
	}
	// The lister's help wraps "(keep above --roll-age)" onto a line of its
	// own: that is text, not a flag of the lister.
	if _, ok := lister.flags["roll-age"]; ok {
		t.Errorf("parseHelp takes --roll-age for a flag of the lister")
	}
	for _, f := range []string{"help", "log-level", "source", "nats", "batch-ack-wait", "once"} {
		if _, ok := lister.flags[f]; !ok {
			t.Errorf("parseHelp: lister flags %v lack --%s", slices.Sorted(maps.Keys(lister.flags)), f)
		}
	}
	if !lister.envs["ENTRALAKE_SOURCE"] || !lister.envs["ENTRALAKE_LOG_LEVEL"] {
		t.Errorf("parseHelp: lister variables %v lack ENTRALAKE_SOURCE or ENTRALAKE_LOG_LEVEL", lister.envs)
	}

	for _, tc := range []struct {
		name string
		args []string
		env  []string
		ok   bool
	}{
		{"real command", []string{"parser", "--nats", "nats://nats:4222", "--source", "/export", "--parsers=2", "--log-format", "json"}, []string{"ENTRALAKE_LOG_LEVEL", "ENTRALAKE_BATCH_ROWS", "GOMEMLIMIT"}, true},
		{"boolean flag", []string{"lister", "--once", "--source", "/export"}, nil, true},
		{"two-word command", []string{"dlq", "list", "--nats", "nats://nats:4222"}, nil, true},
		{"invented flag", []string{"parser", "--nats", "nats://nats:4222", "--no-such-flag", "1"}, nil, false},
		{"flag of another command", []string{"writer", "--source", "/export"}, nil, false},
		{"unknown command", []string{"parse", "--nats", "nats://nats:4222"}, nil, false},
		{"no command", []string{"--log-level", "debug"}, nil, false},
		{"empty", nil, nil, false},
		{"command group", []string{"dlq"}, nil, false},
		{"value kong rejects", []string{"lister", "--poll-interval", "soon"}, nil, false},
		{"short flag", []string{"writer", "-h"}, nil, false},
		// kong ignores these variables: only the checker catches them.
		{"variable of another command", []string{"writer", "--lake", "/lake"}, []string{"ENTRALAKE_SOURCE"}, false},
		{"misspelt variable", []string{"parser"}, []string{"ENTRALAKE_PARSER"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := checkCommand(tc.args, tc.env)
			if got, want := err == nil, tc.ok; got != want {
				t.Errorf("checkCommand(%q, %q) = %v, want ok=%v", tc.args, tc.env, err, want)
			}
			if err != nil {
				t.Logf("rejected: %v", err)
			}
		})
	}
}

// ---------------------------------------------------------------------------
// docker-compose.yml

// loadCompose loads ../docker-compose.yml as `docker compose` does, with an
// empty environment (so every ${VAR:-default} takes its default), and
// validates it against the Compose specification.
func loadCompose(t *testing.T) *types.Project {
	t.Helper()
	opts, err := cli.NewProjectOptions([]string{"../docker-compose.yml"},
		cli.WithWorkingDirectory(".."),
		cli.WithEnv(nil),
		cli.WithInterpolation(true),
		cli.WithResolvedPaths(true),
	)
	if err != nil {
		t.Fatal(err)
	}
	p, err := opts.LoadProject(t.Context())
	if err != nil {
		t.Fatalf("load docker-compose.yml: %v", err)
	}
	return p
}

// composeEnv returns a service's environment with its unset variables as "".
func composeEnv(s types.ServiceConfig) map[string]string {
	env := map[string]string{}
	for k, v := range s.Environment {
		env[k] = ""
		if v != nil {
			env[k] = *v
		}
	}
	return env
}

// isEntralakeImage reports whether a service runs the image of ../Dockerfile.
func isEntralakeImage(t *testing.T, s types.ServiceConfig) bool {
	if s.Build != nil {
		root, err := filepath.Abs("..")
		if err != nil {
			t.Fatal(err)
		}
		ctx, err := filepath.Abs(s.Build.Context)
		if err != nil {
			t.Fatal(err)
		}
		return ctx == root && (s.Build.Dockerfile == "" || filepath.Base(s.Build.Dockerfile) == "Dockerfile")
	}
	name, _, _ := strings.Cut(path.Base(s.Image), ":")
	return name == "entralake"
}

// mountAt returns the volume of a service mounted at target.
func mountAt(s types.ServiceConfig, target string) (types.ServiceVolumeConfig, bool) {
	for _, v := range s.Volumes {
		if path.Clean(v.Target) == path.Clean(target) {
			return v, true
		}
	}
	return types.ServiceVolumeConfig{}, false
}

func TestComposeStack(t *testing.T) {
	p := loadCompose(t)
	for _, name := range []string{"nats-1", "nats-2", "nats-3", "azurite", "lister", "parser", "writer", "prometheus"} {
		if _, ok := p.Services[name]; !ok {
			t.Errorf("docker-compose.yml has no service %q (services: %v)", name, slices.Sorted(maps.Keys(p.Services)))
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	if d := p.Services["parser"].Deploy; d == nil || d.Replicas == nil || *d.Replicas < 2 {
		t.Errorf("parser: deploy.replicas is not more than 1")
	}

	var natsMax int64
	if h, err := entralakeHelp([]string{"nats-server"}); err != nil {
		t.Fatal(err)
	} else if natsMax, err = helpSize(h.flags["max-payload"].value); err != nil {
		t.Fatalf("entralake nats-server --max-payload default: %v", err)
	}

	// The NATS cluster's nodes.
	var natsNodes []string
	for name, s := range p.Services {
		if strings.HasPrefix(s.Image, "nats:") {
			natsNodes = append(natsNodes, name)
		}
	}
	slices.Sort(natsNodes)
	if len(natsNodes) != 3 {
		t.Errorf("NATS services %v, want a cluster of three", natsNodes)
	}

	// The entralake services: commands, flags, variables, volumes.
	var found []string
	for _, name := range slices.Sorted(maps.Keys(p.Services)) {
		s := p.Services[name]
		if !isEntralakeImage(t, s) {
			continue
		}
		found = append(found, name)
		t.Run(name, func(t *testing.T) {
			if len(s.Entrypoint) > 0 {
				t.Errorf("entrypoint %q replaces the image's entralake", s.Entrypoint)
			}
			env := composeEnv(s)
			c, err := checkCommand(s.Command, slices.Collect(maps.Keys(env)))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Contains(stages, c.sub[0]) {
				return
			}
			if c.sub[0] != name {
				t.Errorf("service %s runs entralake %s", name, c.sub[0])
			}
			if port, err := metricsAddrPort(c, env); err != nil {
				t.Error(err)
			} else if port != metricsPort {
				t.Errorf("--metrics-addr port %d, want %d (Dockerfile EXPOSE, deploy/prometheus.yml)", port, metricsPort)
			}
			// Every node of the cluster, each a service the stage waits for.
			nats, ok := c.flag("nats", env)
			if !ok {
				t.Errorf("no --nats: the stage would look for NATS on 127.0.0.1 in its own container")
			}
			var nodes []string
			for n := range strings.SplitSeq(nats, ",") {
				if u, err := url.Parse(n); err != nil || u.Scheme != "nats" || u.Port() != "4222" {
					t.Errorf("--nats %q: want nats://<service>:4222,...", n)
				} else if _, ok := p.Services[u.Hostname()]; !ok {
					t.Errorf("--nats %q: no service %q", n, u.Hostname())
				} else if dep, ok := s.DependsOn[u.Hostname()]; !ok {
					t.Errorf("does not depend on %s", u.Hostname())
				} else if dep.Condition != types.ServiceConditionHealthy {
					t.Errorf("depends on %s with condition %q, want %q: the stage exits when NATS is not up yet", u.Hostname(), dep.Condition, types.ServiceConditionHealthy)
				} else {
					nodes = append(nodes, u.Hostname())
				}
			}
			if slices.Sort(nodes); !slices.Equal(nodes, natsNodes) {
				t.Errorf("--nats names %v, want every node of the cluster %v", nodes, natsNodes)
			}
			if r, _ := c.flag("replicas", env); r != strconv.Itoa(len(natsNodes)) {
				t.Errorf("--replicas %q, want %d: a copy of every stream on each node", r, len(natsNodes))
			}
			if src, ok := c.flag("source", env); ok && !strings.Contains(src, "://") {
				if _, ok := mountAt(s, src); !ok {
					t.Errorf("--source %s is not a volume of the service", src)
				}
			}
			if lake, ok := c.flag("lake", env); ok && !strings.Contains(lake, "://") {
				if v, ok := mountAt(s, lake); !ok {
					t.Errorf("--lake %s is not a volume of the service", lake)
				} else if v.ReadOnly {
					t.Errorf("--lake %s is mounted read-only", lake)
				}
			}
			if d := s.Deploy; d != nil && d.Replicas != nil && *d.Replicas > 1 {
				for _, port := range s.Ports {
					if port.Published != "" && !strings.Contains(port.Published, "-") {
						t.Errorf("%d replicas cannot all publish host port %s", *d.Replicas, port.Published)
					}
				}
			}
			if s.StopGracePeriod == nil || time.Duration(*s.StopGracePeriod) <= 30*time.Second {
				t.Errorf("stop_grace_period is not above --shutdown-timeout (30s): docker kills the stage mid-shutdown")
			}
		})
	}
	for _, st := range stages {
		if !slices.Contains(found, st) {
			t.Errorf("service %s is not built from ../Dockerfile (entralake services: %v)", st, found)
		}
	}

	names := map[string]string{}
	for _, node := range natsNodes {
		t.Run(node, func(t *testing.T) {
			s := p.Services[node]
			if !strings.HasPrefix(s.Image, "nats:") {
				t.Errorf("image %q, want the official nats image", s.Image)
			}
			conf := ""
			for i, a := range s.Command {
				if (a == "--config" || a == "-c") && i+1 < len(s.Command) {
					conf = s.Command[i+1]
				}
				if strings.HasPrefix(a, "--max_payload") {
					t.Errorf("command %q: nats-server has no --max_payload flag (set max_payload in its configuration)", s.Command)
				}
			}
			if conf == "" {
				t.Fatalf("command %q has no --config", s.Command)
			}
			content := ""
			for _, c := range s.Configs {
				if c.Target == conf {
					content = p.Configs[c.Source].Content
				}
			}
			if content == "" {
				t.Fatalf("--config %s is not an inline config of the service", conf)
			}
			checkNATSConfig(t, content, natsMax)
			if s.HealthCheck == nil || len(s.HealthCheck.Test) == 0 || !strings.Contains(strings.Join(s.HealthCheck.Test, " "), ":8222/healthz") {
				t.Errorf("healthcheck %v: want the monitoring port's /healthz (the stages wait for it)", s.HealthCheck)
			}
			// The node's name: unique, from its environment.
			name := content
			if m := regexp.MustCompile(`(?m)^\s*server_name\s*[:=]?\s*\$(\w+)\s*$`).FindStringSubmatch(content); m == nil {
				t.Errorf("configuration sets no server_name from a variable: every node would have the same name")
			} else if name = composeEnv(s)[m[1]]; name == "" {
				t.Errorf("server_name is $%s, which the service does not set", m[1])
			} else if other, ok := names[name]; ok {
				t.Errorf("server_name %s is also %s's", name, other)
			}
			names[name] = node
			checkNATSCluster(t, content, natsNodes)
			if v, ok := mountAt(s, "/data"); !ok || v.Type != types.VolumeTypeVolume {
				t.Errorf("no volume of its own at /data (JetStream's store)")
			} else {
				for other, os := range p.Services {
					if w, ok := mountAt(os, "/data"); ok && other != node && w.Source == v.Source {
						t.Errorf("shares its volume %s with %s", v.Source, other)
					}
				}
			}
		})
	}

	t.Run("azurite", func(t *testing.T) {
		s := p.Services["azurite"]
		if !strings.HasPrefix(s.Image, "mcr.microsoft.com/azure-storage/azurite") {
			t.Errorf("image %q", s.Image)
		}
		if len(s.Command) == 0 || s.Command[0] != "azurite-blob" {
			t.Errorf("command %q does not run azurite-blob", s.Command)
		}
		for _, f := range []string{"--skipApiVersionCheck", "--disableTelemetry", "--loose", "--blobHost"} {
			if !slices.Contains(s.Command, f) {
				t.Errorf("command %q lacks %s", s.Command, f)
			}
		}
		if i := slices.Index(s.Command, "--blobHost"); i >= 0 && (i+1 >= len(s.Command) || s.Command[i+1] != "0.0.0.0") {
			t.Errorf("command %q: --blobHost must be 0.0.0.0 for the other containers", s.Command)
		}
	})

	t.Run("prometheus", func(t *testing.T) {
		s := p.Services["prometheus"]
		want, err := filepath.Abs("../deploy/prometheus.yml")
		if err != nil {
			t.Fatal(err)
		}
		v, ok := mountAt(s, "/etc/prometheus/prometheus.yml")
		if !ok || v.Source != want {
			t.Errorf("/etc/prometheus/prometheus.yml is mounted from %q, want %s", v.Source, want)
		}
	})
}

// checkNATSCluster checks the cluster block of a NATS configuration: a
// cluster name, the cluster port 6222, and a route to every node (nodes:
// their host names).
func checkNATSCluster(t *testing.T, conf string, nodes []string) {
	t.Helper()
	m := regexp.MustCompile(`(?s)\bcluster\s*[:=]?\s*\{(.*?)\n\s*\}`).FindStringSubmatch(conf)
	if m == nil {
		t.Errorf("NATS configuration has no cluster block:\n%s", conf)
		return
	}
	block := m[1]
	if !regexp.MustCompile(`(?m)^\s*name\s*[:=]?\s*\S+`).MatchString(block) {
		t.Errorf("cluster block has no name (JetStream needs one):\n%s", block)
	}
	if !regexp.MustCompile(`(?m)^\s*port\s*[:=]?\s*6222\s*$`).MatchString(block) {
		t.Errorf("cluster block does not listen on 6222:\n%s", block)
	}
	var routes []string
	for _, r := range regexp.MustCompile(`nats://([-.\w]+):6222`).FindAllStringSubmatch(block, -1) {
		routes = append(routes, r[1])
	}
	slices.Sort(routes)
	if !slices.Equal(routes, nodes) {
		t.Errorf("cluster routes go to %v, want every node %v", routes, nodes)
	}
}

// natsSizeRE matches max_payload in a NATS configuration file.
var natsSizeRE = regexp.MustCompile(`(?m)^\s*max_payload\s*[:=]?\s*([0-9]+)\s*([A-Za-z]*)\s*$`)

// checkNATSConfig checks a nats-server configuration: JetStream on, the
// monitoring port 8222, and messages as large as entralake's batches.
func checkNATSConfig(t *testing.T, conf string, minPayload int64) {
	t.Helper()
	m := natsSizeRE.FindStringSubmatch(conf)
	if m == nil {
		t.Errorf("NATS configuration sets no max_payload (default 1 MiB; entralake's batches reach %d bytes):\n%s", minPayload, conf)
	} else {
		n, _ := strconv.ParseInt(m[1], 10, 64)
		mult := map[string]int64{"": 1, "b": 1, "k": 1000, "kb": 1 << 10, "ki": 1 << 10, "kib": 1 << 10,
			"m": 1000 * 1000, "mb": 1 << 20, "mi": 1 << 20, "mib": 1 << 20, "g": 1000 * 1000 * 1000, "gb": 1 << 30, "gi": 1 << 30, "gib": 1 << 30}
		u, ok := mult[strings.ToLower(m[2])]
		if !ok {
			t.Errorf("max_payload %s%s: unknown unit", m[1], m[2])
		} else if n*u < minPayload {
			t.Errorf("max_payload %s%s = %d bytes, want at least %d (entralake nats-server --max-payload)", m[1], m[2], n*u, minPayload)
		}
	}
	if !regexp.MustCompile(`(?m)^\s*jetstream\s*[:=]?\s*(\{|true|enabled)`).MatchString(conf) {
		t.Errorf("NATS configuration does not enable JetStream:\n%s", conf)
	}
	if !regexp.MustCompile(`(?m)^\s*(http_port|monitor_port|http)\s*[:=]?\s*(0\.0\.0\.0:)?8222\s*$`).MatchString(conf) {
		t.Errorf("NATS configuration has no monitoring port 8222 (healthchecks, KEDA):\n%s", conf)
	}
}

// ---------------------------------------------------------------------------
// deploy/prometheus.yml

// promConfig is the part of Prometheus' configuration the stack uses.
// Decoding with KnownFields rejects a misspelt key, which Prometheus
// would reject too.
type promConfig struct {
	Global struct {
		ScrapeInterval     string `yaml:"scrape_interval"`
		EvaluationInterval string `yaml:"evaluation_interval"`
	} `yaml:"global"`
	ScrapeConfigs []struct {
		JobName       string `yaml:"job_name"`
		MetricsPath   string `yaml:"metrics_path"`
		StaticConfigs []struct {
			Targets []string          `yaml:"targets"`
			Labels  map[string]string `yaml:"labels"`
		} `yaml:"static_configs"`
		DNSSDConfigs []struct {
			Names           []string `yaml:"names"`
			Type            string   `yaml:"type"`
			Port            int      `yaml:"port"`
			RefreshInterval string   `yaml:"refresh_interval"`
		} `yaml:"dns_sd_configs"`
		RelabelConfigs []struct {
			SourceLabels []string `yaml:"source_labels"`
			TargetLabel  string   `yaml:"target_label"`
			Regex        string   `yaml:"regex"`
			Replacement  string   `yaml:"replacement"`
			Action       string   `yaml:"action"`
		} `yaml:"relabel_configs"`
	} `yaml:"scrape_configs"`
}

func TestPrometheusConfig(t *testing.T) {
	f, err := os.Open("../deploy/prometheus.yml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := yaml.NewDecoder(f)
	dec.KnownFields(true)
	var cfg promConfig
	if err := dec.Decode(&cfg); err != nil {
		t.Fatalf("deploy/prometheus.yml: %v", err)
	}
	p := loadCompose(t)
	// targets: service (or host) -> port scraped
	targets := map[string][]int{}
	jobs := map[string]bool{}
	for _, sc := range cfg.ScrapeConfigs {
		if sc.JobName == "" || jobs[sc.JobName] {
			t.Errorf("job_name %q is empty or repeated", sc.JobName)
		}
		jobs[sc.JobName] = true
		if sc.MetricsPath != "" && sc.MetricsPath != "/metrics" {
			t.Errorf("job %s: metrics_path %q, want /metrics", sc.JobName, sc.MetricsPath)
		}
		for _, d := range sc.DNSSDConfigs {
			if d.Type != "A" && d.Type != "AAAA" {
				t.Errorf("job %s: dns_sd_configs type %q: compose's DNS answers A records (SRV needs no port)", sc.JobName, d.Type)
			}
			for _, n := range d.Names {
				targets[n] = append(targets[n], d.Port)
			}
		}
		for _, s := range sc.StaticConfigs {
			for _, tg := range s.Targets {
				host, port, err := net.SplitHostPort(tg)
				if err != nil {
					t.Errorf("job %s: target %q: %v", sc.JobName, tg, err)
					continue
				}
				n, _ := strconv.Atoi(port)
				targets[host] = append(targets[host], n)
			}
		}
	}
	for name, ports := range targets {
		if _, ok := p.Services[name]; !ok && name != "localhost" {
			t.Errorf("Prometheus scrapes %q, which is no service of docker-compose.yml", name)
		}
		if slices.Contains(stages, name) && !slices.Equal(ports, []int{metricsPort}) {
			t.Errorf("Prometheus scrapes %s on ports %v, want [%d] (--metrics-addr)", name, ports, metricsPort)
		}
	}
	for _, st := range stages {
		if _, ok := targets[st]; !ok {
			t.Errorf("Prometheus does not scrape %s", st)
		}
	}
}

// ---------------------------------------------------------------------------
// Dockerfile

func TestDeployDockerfile(t *testing.T) {
	raw, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	// Instructions, with continuation lines joined and comments dropped.
	var instrs []string
	var cur strings.Builder
	for _, line := range strings.Split(string(raw), "\n") {
		trimmed := strings.TrimSpace(line)
		if cur.Len() == 0 && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if s, ok := strings.CutSuffix(trimmed, "\\"); ok {
			cur.WriteString(s + " ")
			continue
		}
		cur.WriteString(trimmed)
		instrs = append(instrs, cur.String())
		cur.Reset()
	}
	var froms, copies []string
	var runs, exposes, entry, user string
	lastStage := 0
	for _, in := range instrs {
		op, args, _ := strings.Cut(in, " ")
		switch strings.ToUpper(op) {
		case "FROM":
			froms = append(froms, args)
			lastStage = len(froms)
			user = ""
		case "RUN":
			runs += args + "\n"
		case "COPY":
			if !strings.Contains(args, "--from=") {
				f := strings.Fields(args)
				copies = append(copies, f[:len(f)-1]...)
			}
		case "EXPOSE":
			exposes += args + " "
		case "ENTRYPOINT":
			entry = args
		case "USER":
			user = args
		}
	}
	if len(froms) < 2 {
		t.Errorf("FROM %q: want a multi-stage build", froms)
	}
	final := froms[lastStage-1]
	if !strings.Contains(final, "distroless/static") {
		t.Errorf("final stage FROM %s: want distroless static (the binary is static)", final)
	}
	if !strings.HasSuffix(final, ":nonroot") && user != "nonroot" && !strings.HasPrefix(user, "nonroot:") && !strings.HasPrefix(user, "65532") {
		t.Errorf("final stage FROM %s, USER %q: does not run as non-root", final, user)
	}
	if !strings.Contains(runs, "CGO_ENABLED=0") || !regexp.MustCompile(`go build .*\./cmd/entralake`).MatchString(runs) {
		t.Errorf("no RUN builds ./cmd/entralake with CGO_ENABLED=0:\n%s", runs)
	}
	if !slices.Contains(strings.Fields(exposes), strconv.Itoa(metricsPort)) {
		t.Errorf("EXPOSE %q lacks the metrics port %d", exposes, metricsPort)
	}
	var ep []string
	if err := json.Unmarshal([]byte(entry), &ep); err != nil || len(ep) == 0 || path.Base(ep[0]) != "entralake" {
		t.Errorf("ENTRYPOINT %s: want the exec form running entralake (compose and Kubernetes pass the subcommand as arguments)", entry)
	}

	// The COPY instructions must bring every package of the binary, as
	// built with CGO_ENABLED=0: go list fails on a package that needs cgo.
	cmd := exec.CommandContext(t.Context(), "go", "list", "-deps", "-f", "{{if .Module}}{{if .Module.Main}}{{.Dir}}{{end}}{{end}}", "./cmd/entralake")
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "GOWORK=off", "CGO_ENABLED=0")
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			err = fmt.Errorf("%w\n%s", err, ee.Stderr)
		}
		t.Fatalf("CGO_ENABLED=0 go list -deps ./cmd/entralake: %v", err)
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"go.mod", "go.sum"} {
		if !slices.Contains(copies, f) {
			t.Errorf("no COPY of %s", f)
		}
	}
	for _, dir := range strings.Fields(string(out)) {
		rel, err := filepath.Rel(root, dir)
		if err != nil {
			t.Fatal(err)
		}
		rel = filepath.ToSlash(rel)
		if !slices.ContainsFunc(copies, func(c string) bool {
			c = strings.TrimSuffix(strings.TrimPrefix(c, "./"), "/")
			return c == "." || rel == c || strings.HasPrefix(rel, c+"/")
		}) {
			t.Errorf("package directory %s is not copied into the build stage (COPY sources: %v)", rel, copies)
		}
	}
}

// ---------------------------------------------------------------------------
// deploy/k8s

// k8sMeta is an object's metadata.
type k8sMeta struct {
	Name        string            `yaml:"name"`
	Namespace   string            `yaml:"namespace"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

// k8sObject is one document of a manifest.
type k8sObject struct {
	APIVersion string  `yaml:"apiVersion"`
	Kind       string  `yaml:"kind"`
	Metadata   k8sMeta `yaml:"metadata"`
	file       string
	node       *yaml.Node
}

func (o k8sObject) String() string { return o.file + ": " + o.Kind + " " + o.Metadata.Name }

type k8sRef struct {
	Name     string `yaml:"name"`
	Optional bool   `yaml:"optional"`
}

type k8sProbe struct {
	HTTPGet *struct {
		Path string `yaml:"path"`
		Port string `yaml:"port"` // a name or a number
	} `yaml:"httpGet"`
}

type k8sContainer struct {
	Name    string   `yaml:"name"`
	Image   string   `yaml:"image"`
	Command []string `yaml:"command"`
	Args    []string `yaml:"args"`
	Env     []struct {
		Name      string     `yaml:"name"`
		Value     string     `yaml:"value"`
		ValueFrom *yaml.Node `yaml:"valueFrom"`
	} `yaml:"env"`
	EnvFrom []struct {
		Prefix       string  `yaml:"prefix"`
		ConfigMapRef *k8sRef `yaml:"configMapRef"`
		SecretRef    *k8sRef `yaml:"secretRef"`
	} `yaml:"envFrom"`
	Ports []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
	} `yaml:"ports"`
	LivenessProbe  *k8sProbe `yaml:"livenessProbe"`
	ReadinessProbe *k8sProbe `yaml:"readinessProbe"`
	Resources      struct {
		Requests map[string]string `yaml:"requests"`
		Limits   map[string]string `yaml:"limits"`
	} `yaml:"resources"`
	SecurityContext struct {
		ReadOnlyRootFilesystem   *bool `yaml:"readOnlyRootFilesystem"`
		AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
	} `yaml:"securityContext"`
	VolumeMounts []struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
	} `yaml:"volumeMounts"`
}

type k8sPodSpec struct {
	TerminationGracePeriodSeconds *int `yaml:"terminationGracePeriodSeconds"`
	SecurityContext               struct {
		RunAsNonRoot *bool `yaml:"runAsNonRoot"`
	} `yaml:"securityContext"`
	Containers []k8sContainer `yaml:"containers"`
	Volumes    []struct {
		Name      string     `yaml:"name"`
		EmptyDir  *yaml.Node `yaml:"emptyDir"`
		ConfigMap *k8sRef    `yaml:"configMap"`
		Secret    *struct {
			SecretName string `yaml:"secretName"`
		} `yaml:"secret"`
		PersistentVolumeClaim *struct {
			ClaimName string `yaml:"claimName"`
		} `yaml:"persistentVolumeClaim"`
	} `yaml:"volumes"`
}

// k8sWorkload is a Deployment or a StatefulSet.
type k8sWorkload struct {
	Spec struct {
		Replicas    *int   `yaml:"replicas"`
		ServiceName string `yaml:"serviceName"`
		Selector    struct {
			MatchLabels map[string]string `yaml:"matchLabels"`
		} `yaml:"selector"`
		Template struct {
			Metadata k8sMeta    `yaml:"metadata"`
			Spec     k8sPodSpec `yaml:"spec"`
		} `yaml:"template"`
		VolumeClaimTemplates []struct {
			Metadata k8sMeta `yaml:"metadata"`
		} `yaml:"volumeClaimTemplates"`
	} `yaml:"spec"`
}

type k8sServicePort struct {
	Name       string `yaml:"name"`
	Port       int    `yaml:"port"`
	TargetPort string `yaml:"targetPort"` // a name or a number
}

type k8sService struct {
	Spec struct {
		Selector map[string]string `yaml:"selector"`
		Ports    []k8sServicePort  `yaml:"ports"`
	} `yaml:"spec"`
}

type k8sScaledObject struct {
	Spec struct {
		ScaleTargetRef struct {
			APIVersion string `yaml:"apiVersion"`
			Kind       string `yaml:"kind"`
			Name       string `yaml:"name"`
		} `yaml:"scaleTargetRef"`
		MinReplicaCount *int `yaml:"minReplicaCount"`
		MaxReplicaCount *int `yaml:"maxReplicaCount"`
		Triggers        []struct {
			Type     string            `yaml:"type"`
			Metadata map[string]string `yaml:"metadata"`
		} `yaml:"triggers"`
	} `yaml:"spec"`
}

type k8sKustomization struct {
	Namespace string   `yaml:"namespace"`
	Resources []string `yaml:"resources"`
}

// loadK8s reads every document of deploy/k8s/*.yaml.
func loadK8s(t *testing.T) (objs []k8sObject, files []string) {
	t.Helper()
	files, err := filepath.Glob("../deploy/k8s/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no manifest in deploy/k8s")
	}
	for _, file := range files {
		f, err := os.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(f)
		for i := 1; ; i++ {
			var node yaml.Node
			err := dec.Decode(&node)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				f.Close()
				t.Fatalf("%s: document %d: %v", file, i, err)
			}
			if len(node.Content) == 0 || node.Content[0].Kind == yaml.ScalarNode && node.Content[0].Tag == "!!null" {
				continue // empty document
			}
			o := k8sObject{file: filepath.Base(file), node: &node}
			if err := node.Decode(&o); err != nil {
				t.Fatalf("%s: document %d: %v", file, i, err)
			}
			objs = append(objs, o)
		}
		f.Close()
	}
	return objs, files
}

// decodeAs decodes an object's document into v.
func decodeAs(t *testing.T, o k8sObject, v any) {
	t.Helper()
	if err := o.node.Decode(v); err != nil {
		t.Fatalf("%s: %v", o, err)
	}
}

// k8sBytes parses a Kubernetes memory quantity (512Mi) or a GOMEMLIMIT
// (450MiB) into bytes.
func k8sBytes(s string) (int64, error) {
	i := strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' })
	if i < 0 {
		return strconv.ParseInt(s, 10, 64)
	}
	n, err := strconv.ParseInt(s[:i], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q: %w", s, err)
	}
	mult := map[string]int64{"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "k": 1e3, "M": 1e6, "G": 1e9}
	m, ok := mult[s[i:]]
	if !ok {
		return 0, fmt.Errorf("%q: unknown unit", s)
	}
	return n * m, nil
}

// topologyNames reads the stream and consumer names entralake uses from
// ../workers/topology.go (this module does not import the main module).
func topologyNames(t *testing.T) map[string]string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "../workers/topology.go", nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]string{}
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, spec := range g.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, n := range vs.Names {
				if i < len(vs.Values) {
					if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
						names[n.Name], _ = strconv.Unquote(lit.Value)
					}
				}
			}
		}
	}
	for _, n := range []string{"StreamTasks", "ConsumerParsers"} {
		if names[n] == "" {
			t.Fatalf("workers/topology.go declares no string constant %s", n)
		}
	}
	return names
}

func TestK8sManifests(t *testing.T) {
	objs, files := loadK8s(t)

	byKind := map[string][]k8sObject{}
	seen := map[string]bool{}
	var kust *k8sKustomization
	for _, o := range objs {
		if o.APIVersion == "" || o.Kind == "" {
			t.Errorf("%s: apiVersion or kind missing", o)
			continue
		}
		if o.Kind == "Kustomization" {
			kust = new(k8sKustomization)
			decodeAs(t, o, kust)
			continue
		}
		if o.Metadata.Name == "" {
			t.Errorf("%s: metadata.name missing", o)
		}
		if o.Metadata.Namespace != "" {
			t.Errorf("%s: metadata.namespace %q: the manifests are namespace-less (kubectl -n, kustomization.yaml)", o, o.Metadata.Namespace)
		}
		if key := o.Kind + "/" + o.Metadata.Name; seen[key] {
			t.Errorf("%s: defined twice", o)
		} else {
			seen[key] = true
		}
		byKind[o.Kind] = append(byKind[o.Kind], o)
	}
	find := func(kind, name string) (k8sObject, bool) {
		for _, o := range byKind[kind] {
			if o.Metadata.Name == name {
				return o, true
			}
		}
		return k8sObject{}, false
	}

	if kust != nil {
		var others []string
		for _, f := range files {
			if b := filepath.Base(f); b != "kustomization.yaml" {
				others = append(others, b)
			}
		}
		if got, want := slices.Sorted(slices.Values(kust.Resources)), others; !slices.Equal(got, want) {
			t.Errorf("kustomization.yaml resources %v, want every other manifest %v", got, want)
		}
	}

	// Variables each ConfigMap and Secret provides.
	keysOf := func(kind, name string) ([]string, bool) {
		o, ok := find(kind, name)
		if !ok {
			return nil, false
		}
		var v struct {
			Data       map[string]string `yaml:"data"`
			StringData map[string]string `yaml:"stringData"`
		}
		decodeAs(t, o, &v)
		return append(slices.Collect(maps.Keys(v.Data)), slices.Collect(maps.Keys(v.StringData))...), true
	}
	for _, o := range byKind["ConfigMap"] {
		keys, _ := keysOf("ConfigMap", o.Metadata.Name)
		for _, k := range keys {
			if strings.HasPrefix(k, "AZURE_") && (strings.Contains(k, "SECRET") || strings.Contains(k, "KEY") || strings.Contains(k, "CONNECTION_STRING") || strings.Contains(k, "SAS")) {
				t.Errorf("%s: credential %s belongs in a Secret", o, k)
			}
		}
	}

	// Pod labels of every workload, for the Services' selectors.
	type pod struct {
		obj    k8sObject
		labels map[string]string
		spec   k8sPodSpec
	}
	var pods []pod
	stageDeploy := map[string]k8sObject{} // stage -> its Deployment
	stageWorkload := map[string]k8sWorkload{}
	for _, kind := range []string{"Deployment", "StatefulSet"} {
		for _, o := range byKind[kind] {
			var w k8sWorkload
			decodeAs(t, o, &w)
			sel, labels := w.Spec.Selector.MatchLabels, w.Spec.Template.Metadata.Labels
			if len(sel) == 0 {
				t.Errorf("%s: spec.selector.matchLabels is empty", o)
			}
			for k, v := range sel {
				if labels[k] != v {
					t.Errorf("%s: selector %s=%s does not match the template's labels %v", o, k, v, labels)
				}
			}
			pods = append(pods, pod{o, labels, w.Spec.Template.Spec})
			if kind == "StatefulSet" {
				if _, ok := find("Service", w.Spec.ServiceName); !ok {
					t.Errorf("%s: serviceName %q is no Service of the manifests", o, w.Spec.ServiceName)
				}
			}
			ps := w.Spec.Template.Spec
			if len(ps.Containers) == 0 {
				t.Errorf("%s: no containers", o)
			}
			volumes := map[string]bool{}
			for _, v := range ps.Volumes {
				volumes[v.Name] = true
				if v.ConfigMap != nil {
					if _, ok := find("ConfigMap", v.ConfigMap.Name); !ok && !v.ConfigMap.Optional {
						t.Errorf("%s: volume %s: no ConfigMap %s", o, v.Name, v.ConfigMap.Name)
					}
				}
			}
			for _, v := range w.Spec.VolumeClaimTemplates {
				volumes[v.Metadata.Name] = true
			}
			if ps.SecurityContext.RunAsNonRoot == nil || !*ps.SecurityContext.RunAsNonRoot {
				t.Errorf("%s: securityContext.runAsNonRoot is not true", o)
			}
			for _, c := range ps.Containers {
				if sc := c.SecurityContext; sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
					t.Errorf("%s: container %s: want readOnlyRootFilesystem: true and allowPrivilegeEscalation: false", o, c.Name)
				}
				if c.Resources.Limits["memory"] == "" || len(c.Resources.Requests) == 0 {
					t.Errorf("%s: container %s: no memory limit or no requests", o, c.Name)
				}
				for _, m := range c.VolumeMounts {
					if !volumes[m.Name] {
						t.Errorf("%s: container %s mounts %s, which is no volume of the pod", o, c.Name, m.Name)
					}
				}
				if name, _, _ := strings.Cut(path.Base(c.Image), ":"); name != "entralake" {
					continue
				}
				if len(c.Command) > 0 {
					t.Errorf("%s: container %s: command %q replaces the image's entralake", o, c.Name, c.Command)
				}
				stage := checkK8sContainer(t, o, c, ps, keysOf)
				if stage != "" {
					if kind != "Deployment" {
						t.Errorf("%s: entralake %s in a %s, want a Deployment", o, stage, kind)
					}
					if prev, ok := stageDeploy[stage]; ok {
						t.Errorf("%s and %s both run entralake %s", prev, o, stage)
					}
					stageDeploy[stage] = o
					stageWorkload[stage] = w
				}
			}
		}
	}
	for _, st := range stages {
		if _, ok := stageDeploy[st]; !ok {
			t.Errorf("no Deployment runs entralake %s", st)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	if r := stageWorkload["lister"].Spec.Replicas; r == nil || *r != 1 {
		t.Errorf("%s: want replicas: 1", stageDeploy["lister"])
	}

	// Services: selectors that select pods, target ports those pods have.
	metricsSvc := false
	for _, o := range byKind["Service"] {
		var s k8sService
		decodeAs(t, o, &s)
		var selected []pod
		for _, p := range pods {
			if selects(s.Spec.Selector, p.labels) {
				selected = append(selected, p)
			}
		}
		if len(selected) == 0 {
			t.Errorf("%s: selector %v selects no pod of the manifests", o, s.Spec.Selector)
			continue
		}
		for _, sp := range s.Spec.Ports {
			target := sp.TargetPort
			if target == "" {
				target = strconv.Itoa(sp.Port)
			}
			for _, p := range selected {
				if _, ok := podPort(p.spec, target); !ok {
					t.Errorf("%s: port %s: targetPort %s is no port of %s", o, sp.Name, target, p.obj)
				}
			}
		}
		var stagesSelected []string
		for _, p := range selected {
			for st, d := range stageDeploy {
				if p.obj.Metadata.Name == d.Metadata.Name && p.obj.Kind == "Deployment" {
					stagesSelected = append(stagesSelected, st)
				}
			}
		}
		if slices.Equal(slices.Sorted(slices.Values(stagesSelected)), stages) {
			for _, sp := range s.Spec.Ports {
				n, _ := podPort(selected[0].spec, cmp.Or(sp.TargetPort, strconv.Itoa(sp.Port)))
				if n == metricsPort {
					metricsSvc = true
				}
			}
		}
	}
	if !metricsSvc {
		t.Errorf("no Service exposes the metrics port %d of all of %v", metricsPort, stages)
	}

	// NATS: the configuration the StatefulSet mounts.
	if h, err := entralakeHelp([]string{"nats-server"}); err != nil {
		t.Error(err)
	} else if natsMax, err := helpSize(h.flags["max-payload"].value); err != nil {
		t.Errorf("entralake nats-server --max-payload default: %v", err)
	} else {
		checkK8sNATS(t, byKind["StatefulSet"], find, natsMax)
	}

	// KEDA: the parser Deployment, scaled on the lag of the consumer the
	// parsers really read.
	topo := topologyNames(t)
	status := entralakeStatus(t)
	if _, ok := status.Queue.Streams[topo["StreamTasks"]]; !ok {
		t.Errorf("entralake status shows no stream %s (streams: %v)", topo["StreamTasks"], slices.Sorted(maps.Keys(status.Queue.Streams)))
	}
	if _, ok := status.Queue.Consumers[topo["ConsumerParsers"]]; !ok {
		t.Errorf("entralake status shows no consumer %s (consumers: %v)", topo["ConsumerParsers"], slices.Sorted(maps.Keys(status.Queue.Consumers)))
	}
	if len(byKind["ScaledObject"]) != 1 {
		t.Fatalf("%d ScaledObjects, want 1 (the parsers')", len(byKind["ScaledObject"]))
	}
	so := byKind["ScaledObject"][0]
	if so.APIVersion != "keda.sh/v1alpha1" {
		t.Errorf("%s: apiVersion %q, want keda.sh/v1alpha1", so, so.APIVersion)
	}
	var sc k8sScaledObject
	decodeAs(t, so, &sc)
	ref := sc.Spec.ScaleTargetRef
	if ref.Name != stageDeploy["parser"].Metadata.Name || (ref.Kind != "" && ref.Kind != "Deployment") {
		t.Errorf("%s: scaleTargetRef %s %q, want Deployment %q (entralake parser)", so, ref.Kind, ref.Name, stageDeploy["parser"].Metadata.Name)
	}
	if stageWorkload["parser"].Spec.Replicas != nil {
		t.Errorf("%s sets spec.replicas while KEDA scales it: every kubectl apply would reset the count", stageDeploy["parser"])
	}
	if mn, mx := sc.Spec.MinReplicaCount, sc.Spec.MaxReplicaCount; mx == nil || (mn != nil && *mn > *mx) {
		t.Errorf("%s: min/maxReplicaCount %v/%v", so, mn, mx)
	}
	if len(sc.Spec.Triggers) != 1 {
		t.Fatalf("%s: %d triggers, want 1", so, len(sc.Spec.Triggers))
	}
	tr := sc.Spec.Triggers[0]
	if tr.Type != "nats-jetstream" {
		t.Errorf("%s: trigger type %q, want nats-jetstream", so, tr.Type)
	}
	known := []string{"natsServerMonitoringEndpoint", "account", "stream", "consumer", "lagThreshold", "activationLagThreshold", "useHttps"}
	for k := range tr.Metadata {
		if !slices.Contains(known, k) {
			t.Errorf("%s: trigger metadata %q is not a parameter of KEDA's nats-jetstream scaler (%v)", so, k, known)
		}
	}
	for k, want := range map[string]string{"stream": topo["StreamTasks"], "consumer": topo["ConsumerParsers"], "account": "$G"} {
		if got := tr.Metadata[k]; got != want {
			t.Errorf("%s: trigger %s %q, want %q", so, k, got, want)
		}
	}
	if n, err := strconv.Atoi(tr.Metadata["lagThreshold"]); err != nil || n < 1 {
		t.Errorf("%s: lagThreshold %q, want a positive integer", so, tr.Metadata["lagThreshold"])
	}
	host, port, err := net.SplitHostPort(tr.Metadata["natsServerMonitoringEndpoint"])
	if err != nil {
		t.Errorf("%s: natsServerMonitoringEndpoint %q: %v", so, tr.Metadata["natsServerMonitoringEndpoint"], err)
	} else {
		labels := strings.Split(host, ".")
		svc, ok := find("Service", labels[0])
		if !ok {
			t.Errorf("%s: natsServerMonitoringEndpoint %s: no Service %s", so, host, labels[0])
		} else {
			var s k8sService
			decodeAs(t, svc, &s)
			if !slices.ContainsFunc(s.Spec.Ports, func(p k8sServicePort) bool { return strconv.Itoa(p.Port) == port }) {
				t.Errorf("%s: natsServerMonitoringEndpoint port %s is no port of %s", so, port, svc)
			}
		}
		// KEDA's operator runs in its own namespace: the name must be
		// qualified with the one the manifests go to.
		if kust != nil && kust.Namespace != "" && (len(labels) < 2 || labels[1] != kust.Namespace) {
			t.Errorf("%s: natsServerMonitoringEndpoint %s is not in namespace %s (kustomization.yaml)", so, host, kust.Namespace)
		}
		if port != "8222" {
			t.Errorf("%s: natsServerMonitoringEndpoint port %s, want NATS' monitoring port 8222", so, port)
		}
	}
}

// checkK8sContainer checks an entralake container of a workload and
// returns its stage ("" for another subcommand).
func checkK8sContainer(t *testing.T, o k8sObject, c k8sContainer, ps k8sPodSpec, keysOf func(kind, name string) ([]string, bool)) string {
	t.Helper()
	env := map[string]string{}
	for _, ef := range c.EnvFrom {
		kind, ref := "ConfigMap", ef.ConfigMapRef
		if ef.SecretRef != nil {
			kind, ref = "Secret", ef.SecretRef
		}
		if ref == nil {
			continue
		}
		keys, ok := keysOf(kind, ref.Name)
		if !ok && !ref.Optional {
			t.Errorf("%s: container %s: envFrom %s %q is not in the manifests", o, c.Name, kind, ref.Name)
		}
		for _, k := range keys {
			env[ef.Prefix+k] = ""
		}
	}
	for _, e := range c.Env {
		env[e.Name] = e.Value
	}
	cmd, err := checkCommand(c.Args, slices.Collect(maps.Keys(env)))
	if err != nil {
		t.Errorf("%s: container %s: %v", o, c.Name, err)
		return ""
	}
	stage := cmd.sub[0]
	if !slices.Contains(stages, stage) {
		return ""
	}
	if _, ok := cmd.flag("nats", env); !ok {
		t.Errorf("%s: no --nats nor ENTRALAKE_NATS", o)
	}
	port, err := metricsAddrPort(cmd, env)
	if err != nil {
		t.Errorf("%s: %v", o, err)
		return stage
	}
	if port != metricsPort {
		t.Errorf("%s: --metrics-addr port %d, want %d", o, port, metricsPort)
	}
	portName := ""
	for _, p := range c.Ports {
		if p.ContainerPort == port {
			portName = p.Name
		}
	}
	if portName == "" {
		t.Errorf("%s: container %s declares no named port %d (--metrics-addr)", o, c.Name, port)
	}
	for _, pr := range []struct {
		name  string
		probe *k8sProbe
		path  string
	}{{"livenessProbe", c.LivenessProbe, "/healthz"}, {"readinessProbe", c.ReadinessProbe, "/readyz"}} {
		if pr.probe == nil || pr.probe.HTTPGet == nil {
			t.Errorf("%s: no %s httpGet", o, pr.name)
			continue
		}
		g := pr.probe.HTTPGet
		if g.Path != pr.path {
			t.Errorf("%s: %s path %q, want %s", o, pr.name, g.Path, pr.path)
		}
		if g.Port != portName && g.Port != strconv.Itoa(port) {
			t.Errorf("%s: %s port %q, want %q or %d (--metrics-addr)", o, pr.name, g.Port, portName, port)
		}
	}
	if g := ps.TerminationGracePeriodSeconds; g == nil || *g <= 30 {
		t.Errorf("%s: terminationGracePeriodSeconds is not above --shutdown-timeout (30s)", o)
	}
	// Parser and writer: the ~512 MiB memory target, with GOMEMLIMIT
	// under the limit and concurrency set (its default is the node's CPUs).
	conc := map[string]string{"parser": "ENTRALAKE_PARSERS", "writer": "ENTRALAKE_WRITER_FILES"}[stage]
	if conc == "" {
		return stage
	}
	limit, err := k8sBytes(c.Resources.Limits["memory"])
	if err != nil || limit > 512<<20 {
		t.Errorf("%s: memory limit %q, want at most 512Mi", o, c.Resources.Limits["memory"])
	}
	if soft, err := k8sBytes(env["GOMEMLIMIT"]); err != nil || soft >= limit {
		t.Errorf("%s: GOMEMLIMIT %q, want a value under the memory limit %q", o, env["GOMEMLIMIT"], c.Resources.Limits["memory"])
	}
	if n, err := strconv.Atoi(env[conc]); err != nil || n < 1 {
		t.Errorf("%s: %s %q: set it (the default is runtime.NumCPU(), the node's CPUs, whatever the limits)", o, conc, env[conc])
	}
	return stage
}

// checkK8sNATS checks the NATS StatefulSet: its configuration file, from a
// mounted ConfigMap, allows entralake's batches.
func checkK8sNATS(t *testing.T, sets []k8sObject, find func(kind, name string) (k8sObject, bool), natsMax int64) {
	t.Helper()
	for _, o := range sets {
		var w k8sWorkload
		decodeAs(t, o, &w)
		for _, c := range w.Spec.Template.Spec.Containers {
			if !strings.HasPrefix(c.Image, "nats:") {
				continue
			}
			i := slices.IndexFunc(c.Args, func(a string) bool { return a == "--config" || a == "-c" })
			if i < 0 || i+1 >= len(c.Args) {
				t.Errorf("%s: nats args %q have no --config", o, c.Args)
				continue
			}
			conf := c.Args[i+1]
			found := false
			for _, m := range c.VolumeMounts {
				if path.Dir(conf) != path.Clean(m.MountPath) {
					continue
				}
				for _, v := range w.Spec.Template.Spec.Volumes {
					if v.Name != m.Name || v.ConfigMap == nil {
						continue
					}
					cm, ok := find("ConfigMap", v.ConfigMap.Name)
					if !ok {
						continue
					}
					var data struct {
						Data map[string]string `yaml:"data"`
					}
					decodeAs(t, cm, &data)
					if content, ok := data.Data[path.Base(conf)]; ok {
						found = true
						checkNATSConfig(t, content, natsMax)
						checkK8sNATSCluster(t, o, w, c, content, find)
					}
				}
			}
			if !found {
				t.Errorf("%s: --config %s is no key of a ConfigMap mounted at %s", o, conf, path.Dir(conf))
			}
			return
		}
	}
	t.Errorf("no StatefulSet runs the nats image")
}

// checkK8sNATSCluster checks that the NATS StatefulSet is a cluster of
// three whose nodes find each other, and that the stages use it: every
// node in ENTRALAKE_NATS, ENTRALAKE_REPLICAS the node count.
func checkK8sNATSCluster(t *testing.T, o k8sObject, w k8sWorkload, c k8sContainer, conf string, find func(kind, name string) (k8sObject, bool)) {
	t.Helper()
	var sts struct {
		Spec struct {
			PodManagementPolicy string `yaml:"podManagementPolicy"`
		} `yaml:"spec"`
	}
	decodeAs(t, o, &sts)
	n := 0
	if w.Spec.Replicas != nil {
		n = *w.Spec.Replicas
	}
	if n != 3 {
		t.Errorf("%s: %d replicas, want a cluster of 3", o, n)
	}
	if sts.Spec.PodManagementPolicy != "Parallel" {
		t.Errorf("%s: podManagementPolicy %q, want Parallel: a node becomes ready only once the others run", o, sts.Spec.PodManagementPolicy)
	}
	svcName := w.Spec.ServiceName
	var hosts, clients []string
	for i := range n {
		hosts = append(hosts, fmt.Sprintf("%s-%d.%s", o.Metadata.Name, i, svcName))
		clients = append(clients, fmt.Sprintf("nats://%s-%d.%s:4222", o.Metadata.Name, i, svcName))
	}
	checkNATSCluster(t, conf, hosts)
	// Each node's name is its pod's.
	m := regexp.MustCompile(`(?m)^\s*server_name\s*[:=]?\s*\$(\w+)\s*$`).FindStringSubmatch(conf)
	if m == nil {
		t.Errorf("%s: configuration sets no server_name from a variable: every node would have the same name", o)
	} else if !podNameEnv(t, o, c.Name, m[1]) {
		t.Errorf("%s: server_name is $%s, which is not the pod's name (valueFrom.fieldRef metadata.name)", o, m[1])
	}
	// The headless Service: pods resolve each other before they are ready.
	if svc, ok := find("Service", svcName); !ok {
		t.Errorf("%s: serviceName %s is no Service", o, svcName)
	} else {
		var s struct {
			Spec struct {
				ClusterIP                string           `yaml:"clusterIP"`
				PublishNotReadyAddresses bool             `yaml:"publishNotReadyAddresses"`
				Ports                    []k8sServicePort `yaml:"ports"`
			} `yaml:"spec"`
		}
		decodeAs(t, svc, &s)
		if s.Spec.ClusterIP != "None" || !s.Spec.PublishNotReadyAddresses {
			t.Errorf("%s: want clusterIP: None and publishNotReadyAddresses: true (the nodes must resolve each other before they are ready)", svc)
		}
		if !slices.ContainsFunc(s.Spec.Ports, func(p k8sServicePort) bool { return p.Port == 6222 }) {
			t.Errorf("%s: no cluster port 6222", svc)
		}
	}
	if _, ok := find("PodDisruptionBudget", o.Metadata.Name); !ok {
		t.Errorf("%s: no PodDisruptionBudget %s: a drain could take two nodes, and the quorum, at once", o, o.Metadata.Name)
	}
	// The stages' settings.
	cm, ok := find("ConfigMap", "entralake-common")
	if !ok {
		t.Errorf("no ConfigMap entralake-common")
		return
	}
	var data struct {
		Data map[string]string `yaml:"data"`
	}
	decodeAs(t, cm, &data)
	got := strings.Split(data.Data["ENTRALAKE_NATS"], ",")
	slices.Sort(got)
	if !slices.Equal(got, clients) {
		t.Errorf("%s: ENTRALAKE_NATS %q, want every node %v", cm, data.Data["ENTRALAKE_NATS"], clients)
	}
	if r := data.Data["ENTRALAKE_REPLICAS"]; r != strconv.Itoa(n) {
		t.Errorf("%s: ENTRALAKE_REPLICAS %q, want %d (a copy on each node)", cm, r, n)
	}
}

// podNameEnv reports whether the variable env of a workload's container
// holds its pod's name.
func podNameEnv(t *testing.T, o k8sObject, container, env string) bool {
	t.Helper()
	var w struct {
		Spec struct {
			Template struct {
				Spec struct {
					Containers []struct {
						Name string `yaml:"name"`
						Env  []struct {
							Name      string `yaml:"name"`
							ValueFrom struct {
								FieldRef struct {
									FieldPath string `yaml:"fieldPath"`
								} `yaml:"fieldRef"`
							} `yaml:"valueFrom"`
						} `yaml:"env"`
					} `yaml:"containers"`
				} `yaml:"spec"`
			} `yaml:"template"`
		} `yaml:"spec"`
	}
	decodeAs(t, o, &w)
	for _, c := range w.Spec.Template.Spec.Containers {
		for _, e := range c.Env {
			if c.Name == container && e.Name == env && e.ValueFrom.FieldRef.FieldPath == "metadata.name" {
				return true
			}
		}
	}
	return false
}

// podPort resolves a port name or number of a pod's containers.
func podPort(ps k8sPodSpec, port string) (int, bool) {
	for _, c := range ps.Containers {
		for _, p := range c.Ports {
			if p.Name == port || strconv.Itoa(p.ContainerPort) == port {
				return p.ContainerPort, true
			}
		}
	}
	return 0, false
}

// selects reports whether a non-empty selector matches labels.
func selects(selector, labels map[string]string) bool {
	for k, v := range selector {
		if l, ok := labels[k]; !ok || l != v {
			return false
		}
	}
	return len(selector) > 0
}

// statusJSON is the part of `entralake status --json` the tests read.
type statusJSON struct {
	Queue struct {
		Streams   map[string]json.RawMessage `json:"streams"`
		Consumers map[string]json.RawMessage `json:"consumers"`
	} `json:"queue"`
}

// entralakeStatus runs `entralake status --json` on a fresh embedded
// server: the streams and consumers the binary creates.
func entralakeStatus(t *testing.T) statusJSON {
	t.Helper()
	out, _ := runEntralake(t, "status", "--data-dir", t.TempDir(), "--json")
	var s statusJSON
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("entralake status --json: %v\n%s", err, out)
	}
	return s
}
