// Package cli is the entralake command line: flags (each with an
// ENTRALAKE_* environment variable), logging, signals and the wiring of
// sources, lakes, stages and JetStream. The stage commands (run, lister,
// parser, writer) share one wiring path (process.go): begin opens a
// process with the stages a command runs, runStages starts their worker
// pools, shutdown stops them in order, close releases the rest. It is the
// only package that imports the rooms side by side: a source or lake
// driver is chosen here (openSource, openLake), and JetStream is adapted
// to the stages through workers.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"

	"github.com/alecthomas/kong"
)

// CLI is the command tree.
type CLI struct {
	Log         LogFlags         `embed:""`
	MemoryLimit Size             `help:"Soft limit of the Go heap: the garbage collector works harder near it, keeping the process small (0: none; GOMEMLIMIT, when set, wins)." default:"400MiB"`
	Version     kong.VersionFlag `help:"Print the version (module version, commit) and exit." env:"-"`

	Run        RunCmd        `cmd:"" help:"Run lister, parsers and writer in one process (embedded JetStream by default)."`
	Lister     ListerCmd     `cmd:"" help:"Run the lister stage alone: publish tasks for new blob bytes."`
	Parser     ParserCmd     `cmd:"" help:"Run a parser stage alone: turn tasks into Arrow batches."`
	Writer     WriterCmd     `cmd:"" help:"Run a writer stage alone: turn batches into Parquet files."`
	Worker     WorkerCmd     `cmd:"" help:"Run parsers and a writer in one process (the fused topology): turn tasks into Parquet files."`
	NatsServer NatsServerCmd `cmd:"" name:"nats-server" help:"Run the embedded NATS JetStream server alone, for stages in other processes."`
	Schema     SchemaCmd     `cmd:"" help:"Print the table's columns and types."`
	Gen        GenCmd        `cmd:"" help:"Write a synthetic export (realistic records of every category) for benchmarks and tests."`
	Ddl        DdlCmd        `cmd:"" name:"ddl" help:"Print the SQL that registers the lake as tables in DuckDB, Trino, Athena, Spark or Snowflake."`
	Compact    CompactCmd    `cmd:"" name:"compact" help:"Merge the small Parquet files of closed hours (or days) into large ones, atomically."`
	Dlq        DlqCmd        `cmd:"" name:"dlq" help:"List or retry dead letters (tasks and batches that failed every try)."`
	Status     StatusCmd     `cmd:"" help:"Show queues, dead letters and, per category, the lake's newest event time and lag."`
	Help       HelpCmd       `cmd:"" help:"Show the help of a command: 'entralake help run' is 'entralake run --help'."`
}

const description = `entralake turns the Microsoft Entra ID (Azure AD) audit and sign-in logs that
Azure exports to Blob Storage (insights-logs-<category>/.../y=/m=/d=/h=/m=00/PT1H.json)
into typed Parquet tables that DuckDB, Spark, Trino, Athena and Snowflake query.

Quick start (embedded JetStream, nothing to install):

  entralake run --source ./testdata/export --lake ./lake --once

Every flag can also be set by an environment variable: --lake is ENTRALAKE_LAKE,
--data-dir is ENTRALAKE_DATA_DIR, and so on.`

// Exit codes of Main.
const (
	ExitOK      = 0
	ExitFailure = 1
	ExitUsage   = 2
	// An interrupted job (run --once, lister --once, compact, gen...)
	// exits 128 + the signal's number: 130 for SIGINT, 143 for SIGTERM.
	// A service (watch mode, a stage, nats-server) stopped by a signal
	// exits 0 once it shut down cleanly.
	exitSignalBase = 128
)

// Main runs the command line and returns the exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	var c CLI
	exit := -1
	parser, err := newParser(&c, stdout, stderr, func(code int) { exit = code; panic(exitPanic{}) })
	if err != nil {
		fmt.Fprintln(stderr, "entralake:", err)
		return ExitUsage
	}
	code := func() (code int) {
		defer func() {
			if r := recover(); r != nil {
				if _, ok := r.(exitPanic); ok {
					code = exit
					return
				}
				panic(r)
			}
		}()
		kctx, err := parser.Parse(args)
		if err != nil {
			usageError(stderr, err)
			return ExitUsage
		}
		if c.MemoryLimit > 0 && os.Getenv("GOMEMLIMIT") == "" {
			debug.SetMemoryLimit(int64(c.MemoryLimit))
		}
		log, err := c.Log.logger(stderr)
		if err != nil {
			fmt.Fprintln(stderr, "entralake:", err)
			return ExitUsage
		}
		ctx, stop := notifySignals(stderr, os.Exit)
		defer stop()
		env := &Env{Ctx: ctx, Log: log, Stdout: stdout, Stderr: stderr}
		err = kctx.Run(env)
		var pe *kong.ParseError
		if errors.As(err, &pe) { // entralake help <unknown command>
			usageError(stderr, err)
			return ExitUsage
		}
		return exitCode(ctx, err, stderr)
	}()
	return code
}

// newParser returns the command line's parser of c: flags with their
// ENTRALAKE_* variables and defaults, help and version printed to
// stdout/stderr, exit called where kong would exit.
func newParser(c *CLI, stdout, stderr io.Writer, exit func(int)) (*kong.Kong, error) {
	return kong.New(c,
		kong.Name("entralake"),
		kong.Description(description),
		kong.DefaultEnvars("ENTRALAKE"),
		kong.Vars{"version": version()},
		kong.Resolvers(renamedEnvs()),
		kong.ConfigureHelp(kong.HelpOptions{Compact: true}),
		kong.Writers(stdout, stderr),
		kong.Exit(exit),
	)
}

// signalError is the cause of the context of a command stopped by a
// signal.
type signalError struct{ sig syscall.Signal }

func (e *signalError) Error() string { return "interrupted by " + signalName(e.sig) }

func signalName(sig syscall.Signal) string {
	switch sig {
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return sig.String()
}

// notifySignals returns a context cancelled, with a *signalError cause, by
// the first SIGINT or SIGTERM. A second one ends the process at once
// (exit, os.Exit in Main).
func notifySignals(stderr io.Writer, exit func(code int)) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(context.Background())
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		first := true
		for {
			select {
			case <-done:
				return
			case s := <-ch:
				sig, _ := s.(syscall.Signal)
				if first {
					first = false
					fmt.Fprintf(stderr, "entralake: %s: shutting down (send it again to exit at once)\n", signalName(sig))
					cancel(&signalError{sig: sig})
					continue
				}
				fmt.Fprintf(stderr, "entralake: %s again: exiting now; work in flight is delivered again after its ack wait\n", signalName(sig))
				exit(exitSignalBase + int(sig))
			}
		}
	}()
	return ctx, func() {
		signal.Stop(ch)
		close(done)
		cancel(nil)
	}
}

// exitCode maps what a command returned to the process's exit code, and
// prints one line for a failure. A signal's shutdown is no failure: a
// service that stopped cleanly returns nil (exit 0); a job cut short
// returns an error that is only cancellation (exit 128 + signal). Any
// other error is a failure (exit 1), even when joined with the
// cancellation it caused.
func exitCode(ctx context.Context, err error, stderr io.Writer) int {
	if err == nil {
		return ExitOK
	}
	var sig *signalError
	signalled := errors.As(context.Cause(ctx), &sig)
	failures := failuresOf(err)
	if len(failures) == 0 && signalled {
		fmt.Fprintf(stderr, "entralake: %s\n", sig)
		return exitSignalBase + int(sig.sig)
	}
	if len(failures) == 0 {
		// Cancelled without a signal: something stopped the command
		// without saying why; never report that as success.
		failures = []error{err}
	}
	msgs := make([]string, len(failures))
	for i, f := range failures {
		msgs[i] = strings.ReplaceAll(f.Error(), "\n", "; ")
	}
	fmt.Fprintln(stderr, "entralake: "+strings.Join(msgs, "; "))
	return ExitFailure
}

// failuresOf returns the errors joined in err that are more than a
// cancellation.
func failuresOf(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, failuresOf(e)...)
		}
		return out
	}
	if err == nil || !hasFailure(err) {
		return nil
	}
	return []error{err}
}

// hasFailure reports whether err holds an error that is not the end of a
// context (or a job's interruption) caused by the shutdown.
func hasFailure(err error) bool {
	switch x := err.(type) {
	case nil:
		return false
	case interface{ Unwrap() []error }:
		for _, e := range x.Unwrap() {
			if hasFailure(e) {
				return true
			}
		}
		return false
	case interface{ Unwrap() error }:
		if inner := x.Unwrap(); inner != nil {
			return hasFailure(inner)
		}
	}
	return !errors.Is(err, context.Canceled) && !errors.Is(err, errInterrupted)
}

// errInterrupted is returned by a job cut short by a signal after it
// reported what it did (run --once).
var errInterrupted = errors.New("interrupted")

type exitPanic struct{}

// usageError prints a usage error as one line with a hint:
//
//	entralake: error: --poll-interval 0s: must be more than 0; see 'entralake run --help'
//
// A flag's own check (flagError) is printed without kong's prefix (the
// command's name, which the hint already gives).
func usageError(w io.Writer, err error) {
	msg := err.Error()
	var fe *flagError
	if errors.As(err, &fe) {
		msg = fe.Error()
	}
	hint := "entralake --help"
	var pe *kong.ParseError
	if errors.As(err, &pe) && pe.Context != nil {
		if cmd := commandPath(pe.Context.Selected()); cmd != "" {
			hint = "entralake " + cmd + " --help"
		}
	}
	fmt.Fprintf(w, "entralake: error: %s; see '%s'\n", strings.Join(strings.Fields(msg), " "), hint)
}

// commandPath returns the command a node belongs to ("run", "dlq retry"),
// or "" for none.
func commandPath(n *kong.Node) string {
	for n != nil && n.Type != kong.CommandNode {
		n = n.Parent
	}
	if n == nil {
		return ""
	}
	return n.Path()
}

// HelpCmd prints the help of a command.
type HelpCmd struct {
	Command []string `arg:"" optional:"" help:"The command, e.g. run or dlq retry (none: the list of commands)."`
}

// Run implements the command: it parses "<command> --help", which prints
// the help and exits.
func (h *HelpCmd) Run(kctx *kong.Context) error {
	_, err := kctx.Kong.Parse(append(slices.Clone(h.Command), "--help"))
	return err
}

// version describes this build (--version).
func version() string {
	bi, _ := debug.ReadBuildInfo()
	return versionOf(bi)
}

// versionOf describes a build from its build information: the module
// version, the VCS commit and time (and whether the tree had uncommitted
// changes), and the Go version. The go command records the commit when it
// builds inside a git clone (not with -buildvcs=false, nor in a git
// worktree, whose .git is a file).
func versionOf(bi *debug.BuildInfo) string {
	if bi == nil {
		return "entralake (no build information)"
	}
	v := "entralake " + bi.Main.Version
	var rev, at, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if rev != "" {
		v += ", commit " + rev
		if at != "" {
			v += " of " + at
		}
		if modified == "true" {
			v += " with uncommitted changes"
		}
	} else {
		v += ", commit unknown (built without VCS information)"
	}
	return v + ", " + bi.GoVersion
}
