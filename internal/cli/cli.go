// Package cli is the entralake command line: flags (each with an
// ENTRALAKE_* environment variable), logging, signals and the wiring of
// sources, stages and JetStream.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/alecthomas/kong"
)

// CLI is the command tree.
type CLI struct {
	Log         LogFlags `embed:""`
	MemoryLimit int64    `help:"Soft limit of the Go heap in bytes: the garbage collector works harder near it, keeping the process small (0: none; GOMEMLIMIT, when set, wins)." default:"419430400"`

	Run        RunCmd        `cmd:"" help:"Run lister, parsers and writer in one process (embedded JetStream by default)."`
	Lister     ListerCmd     `cmd:"" help:"Run the lister stage alone: publish tasks for new blob bytes."`
	Parser     ParserCmd     `cmd:"" help:"Run a parser stage alone: turn tasks into Arrow batches."`
	Writer     WriterCmd     `cmd:"" help:"Run a writer stage alone: turn batches into Parquet files."`
	NatsServer NatsServerCmd `cmd:"" name:"nats-server" help:"Run the embedded NATS JetStream server alone, for stages in other processes."`
	Schema     SchemaCmd     `cmd:"" help:"Print the table's columns and types."`
	Gen        GenCmd        `cmd:"" help:"Write a synthetic export (realistic records of every category) for benchmarks and tests."`
	Ddl        DdlCmd        `cmd:"" name:"ddl" help:"Print the SQL that registers the lake as tables in DuckDB, Trino, Athena, Spark or Snowflake."`
	Compact    CompactCmd    `cmd:"" name:"compact" help:"Merge the small Parquet files of closed hours (or days) into large ones, atomically."`
	Dlq        DlqCmd        `cmd:"" name:"dlq" help:"List or retry dead letters (tasks and batches that failed every try)."`
	Status     StatusCmd     `cmd:"" help:"Show queues, dead letters and, per category, the lake's newest event time and lag."`
}

const description = `entralake turns the Microsoft Entra ID (Azure AD) audit and sign-in logs that
Azure exports to Blob Storage (insights-logs-<category>/.../y=/m=/d=/h=/m=00/PT1H.json)
into typed Parquet tables that DuckDB, Spark, Trino, Athena and Snowflake query.

Quick start (embedded JetStream, nothing to install):

  entralake run --source ./testdata/export --lake ./lake --once

Every flag can also be set by an environment variable: --lake is ENTRALAKE_LAKE,
--data-dir is ENTRALAKE_DATA_DIR, and so on.`

// Main runs the command line and returns the exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	var c CLI
	exit := -1
	parser, err := kong.New(&c,
		kong.Name("entralake"),
		kong.Description(description),
		kong.DefaultEnvars("ENTRALAKE"),
		kong.UsageOnError(),
		kong.ConfigureHelp(kong.HelpOptions{Compact: true}),
		kong.Writers(stdout, stderr),
		kong.Exit(func(code int) { exit = code; panic(exitPanic{}) }),
	)
	if err != nil {
		fmt.Fprintln(stderr, "entralake:", err)
		return 2
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
			parser.FatalIfErrorf(err)
			return 2
		}
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
		defer stop()
		if c.MemoryLimit > 0 && os.Getenv("GOMEMLIMIT") == "" {
			debug.SetMemoryLimit(c.MemoryLimit)
		}
		log, err := c.Log.logger(stderr)
		if err != nil {
			fmt.Fprintln(stderr, "entralake:", err)
			return 2
		}
		env := &Env{Ctx: ctx, Log: log, Stdout: stdout, Stderr: stderr}
		if err := kctx.Run(env); err != nil {
			if errors.Is(err, context.Canceled) {
				return 0
			}
			fmt.Fprintln(stderr, "entralake:", err)
			return 1
		}
		return 0
	}()
	return code
}

type exitPanic struct{}
