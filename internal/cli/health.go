package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/entralake/entralake/workers"
)

// health tracks, per pool, the last failure that says the lake or the
// source cannot be used (workers.IsUnusable); the pool's next success
// clears it. A process with such a failure is not ready.
type health struct {
	mu       sync.Mutex
	problems map[string]error
}

func newHealth() *health { return &health{problems: map[string]error{}} }

// note records the outcome of one of the pool's messages.
func (h *health) note(pool string, o workers.Outcome, err error) {
	switch {
	case o == workers.OutcomeAck:
		h.mu.Lock()
		delete(h.problems, pool)
		h.mu.Unlock()
	case workers.IsUnusable(err):
		h.mu.Lock()
		h.problems[pool] = err
		h.mu.Unlock()
	}
}

// err returns the failures that make the process not ready, if any.
func (h *health) err() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	var errs []error
	for pool, err := range h.problems {
		errs = append(errs, fmt.Errorf("%s: %w", pool, err))
	}
	return errors.Join(errs...)
}

// ready adds the recorded failures to a readiness check.
func (h *health) ready(next func(context.Context) error) func(context.Context) error {
	return func(ctx context.Context) error {
		if err := next(ctx); err != nil {
			return err
		}
		return h.err()
	}
}

// publishHealth writes this process's health record every
// workers.HealthEvery until ctx ends, then deletes it. Failures to write
// are logged at debug level: status then shows the process as gone.
func publishHealth(ctx context.Context, c *conn, stage string, ready func(context.Context) error, log *slog.Logger) {
	recs, err := workers.NewHealthRecords(ctx, c.js)
	if err != nil {
		log.Debug("no health record", "err", err)
		return
	}
	host, _ := os.Hostname()
	h := workers.Health{Stage: stage, Host: host, PID: os.Getpid(), Started: time.Now().UTC()}
	put := func() {
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		err := ready(rctx)
		h.Ready, h.Problem, h.Updated = err == nil, "", time.Now().UTC()
		if err != nil {
			h.Problem = err.Error()
		}
		if err := recs.Put(rctx, h); err != nil {
			log.Debug("health record not written", "err", err)
		}
	}
	put()
	t := time.NewTicker(workers.HealthEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			_ = recs.Delete(dctx, h)
			cancel()
			return
		case <-t.C:
			put()
		}
	}
}

// reportHealth publishes the process's health record until the returned
// function is called.
func reportHealth(env *Env, c *conn, stage string, ready func(context.Context) error) func() {
	ctx, cancel := context.WithCancel(context.WithoutCancel(env.Ctx))
	var wg sync.WaitGroup
	wg.Go(func() { publishHealth(ctx, c, stage, ready, env.Log) })
	return func() { cancel(); wg.Wait() }
}
