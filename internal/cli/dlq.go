package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/entralake/entralake/workers"
)

// StateFlags find a deployment's JetStream: an external server, or the
// embedded one's state folder (that of a running `run`, or one at rest).
type StateFlags struct {
	Nats    string `help:"NATS server URL of the deployment (or its nodes' URLs, comma-separated); default: the NATS server of --data-dir." placeholder:"URL"`
	DataDir string `help:"State folder of 'entralake run' (used when --nats is not set): while run is running, its NATS server; else an embedded server is started on it." default:".entralake"`
	// Replicas of what is missing and created (a fresh deployment);
	// what exists is left as it is.
	ReplicaFlags `embed:""`
}

// open connects to the deployment's JetStream without changing its
// settings. On a data dir in use it connects to the server of the process
// that holds it; on one at rest it locks it and starts an embedded server.
func (s StateFlags) open(env *Env, name string) (*conn, func(), error) {
	url := s.Nats
	stopServer := func() {}
	if url == "" {
		dd, err := lockDataDir(s.DataDir, strings.TrimPrefix(name, "entralake-"))
		switch {
		case errors.Is(err, ErrDataDirInUse):
			if url, err = runningURL(s.DataDir); err != nil {
				return nil, nil, err
			}
			env.Log.Debug("data dir in use: connecting to its NATS server", "data_dir", s.DataDir, "url", url)
		case err != nil:
			return nil, nil, err
		default:
			srv, err := workers.StartServer(workers.ServerConfig{Dir: filepath.Join(s.DataDir, "jetstream"), Port: -1})
			if err != nil {
				dd.release()
				return nil, nil, fmt.Errorf("open %s: %w", s.DataDir, err)
			}
			url, stopServer = srv.ClientURL(), func() { srv.Shutdown(); srv.WaitForShutdown(); dd.release() }
		}
	}
	t := workers.DefaultTopology()
	t.Replicas = s.Replicas
	c, err := dial(env.Ctx, url, name, t, false, env.Log)
	if err != nil {
		stopServer()
		return nil, nil, err
	}
	return c, func() { c.close(); stopServer() }, nil
}

// DlqCmd groups the dead-letter commands.
type DlqCmd struct {
	List  DlqListCmd  `cmd:"" help:"List dead letters: tasks and batches that failed every try."`
	Retry DlqRetryCmd `cmd:"" help:"Send dead letters back to their stream, after the cause is fixed."`
}

// Help is shown by `entralake dlq --help`.
func (*DlqCmd) Help() string {
	return `Dead letters are tasks or batches that failed --max-deliver times, or that can
never succeed (a malformed message). They are not the same as quarantined
records: those are bad input lines, kept in the azure_audit_quarantine table,
and they never stop the pipeline.

Examples:
  entralake dlq list --nats nats://127.0.0.1:4222
  entralake dlq retry --nats nats://127.0.0.1:4222 17 18
  entralake dlq retry --data-dir .entralake --all`
}

// DlqListCmd lists dead letters.
type DlqListCmd struct {
	StateFlags `embed:""`
	JSON       bool `help:"Print JSON, one object per dead letter."`
}

// Run implements the command.
func (d *DlqListCmd) Run(env *Env) error {
	c, done, err := d.open(env, "entralake-dlq")
	if err != nil {
		return err
	}
	defer done()
	dls, err := workers.DeadLetters(env.Ctx, c.js)
	if err != nil {
		return err
	}
	if d.JSON {
		enc := json.NewEncoder(env.Stdout)
		for _, dl := range dls {
			if err := enc.Encode(map[string]any{"id": dl.Seq, "time": dl.Time, "stream": dl.Stream, "subject": dl.Subject,
				"error": dl.Error, "delivered": dl.Delivered, "body": summarize(dl.Data)}); err != nil {
				return err
			}
		}
		return nil
	}
	if len(dls) == 0 {
		fmt.Fprintln(env.Stdout, "no dead letters")
		return nil
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTIME\tSTREAM\tTRIES\tERROR\tBODY")
	for _, dl := range dls {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%s\t%s\n", dl.Seq, dl.Time.UTC().Format(time.RFC3339), dl.Stream, dl.Delivered, oneLine(dl.Error, 80), summarize(dl.Data))
	}
	return tw.Flush()
}

// DlqRetryCmd re-drives dead letters.
type DlqRetryCmd struct {
	StateFlags `embed:""`
	IDs        []uint64 `arg:"" name:"id" optional:"" help:"Ids of the dead letters to retry (from 'dlq list')."`
	All        bool     `help:"Retry every dead letter."`
}

// Run implements the command.
func (d *DlqRetryCmd) Run(env *Env) error {
	c, done, err := d.open(env, "entralake-dlq")
	if err != nil {
		return err
	}
	defer done()
	ids := d.IDs
	if d.All {
		dls, err := workers.DeadLetters(env.Ctx, c.js)
		if err != nil {
			return err
		}
		for _, dl := range dls {
			ids = append(ids, dl.Seq)
		}
	}
	var errs []error
	n := 0
	for _, id := range ids {
		if err := workers.RetryDeadLetter(env.Ctx, c.js, id); err != nil {
			errs = append(errs, err)
			continue
		}
		n++
	}
	fmt.Fprintf(env.Stdout, "%d dead letters sent back to their streams\n", n)
	return errors.Join(errs...)
}

func summarize(b []byte) string {
	if json.Valid(b) {
		return oneLine(string(b), 120)
	}
	return fmt.Sprintf("%d bytes", len(b))
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
