package cli

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/entralake/entralake/internal/telemetry"
	"github.com/entralake/entralake/stages/lister"
	"github.com/entralake/entralake/stages/parser"
	"github.com/entralake/entralake/stages/writer"
	"github.com/entralake/entralake/workers"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// MetricsFlags configure the metrics and health endpoint.
type MetricsFlags struct {
	MetricsAddr string `help:"Serve Prometheus metrics on /metrics and health on /healthz and /readyz at this address, e.g. 0.0.0.0:9464 (default: off). OTLP export follows the standard OTEL_EXPORTER_OTLP_* variables." placeholder:"HOST:PORT"`
}

// observer is a process's telemetry.
type observer struct {
	tel   *telemetry.Telemetry
	meter metric.Meter
	addr  string
}

// observe sets up telemetry for a stage; with --metrics-addr it serves the
// endpoints until ctx ends. ready reports whether the stage can work.
func observe(env *Env, service string, f MetricsFlags, ready func(context.Context) error) (*observer, error) {
	tel, err := telemetry.Setup(env.Ctx, telemetry.Config{Service: service, TracerProvider: env.TracerProvider})
	if err != nil {
		return nil, err
	}
	o := &observer{tel: tel, meter: otel.Meter("github.com/entralake/entralake")}
	if f.MetricsAddr != "" {
		if o.addr, err = tel.Serve(env.Ctx, f.MetricsAddr, ready, env.Log); err != nil {
			return nil, err
		}
		env.Log.Info("serving metrics", "url", "http://"+o.addr+"/metrics")
	}
	return o, nil
}

func (o *observer) close(ctx context.Context) { _ = o.tel.Shutdown(ctx) }

// counters registers observable counters read from fn at each collection.
func (o *observer) counters(fn func(observe func(name, help string, v int64, attrs ...attribute.KeyValue))) error {
	type inst struct {
		c    metric.Int64ObservableCounter
		help string
	}
	insts := map[string]*inst{}
	// First pass: learn the names.
	fn(func(name, help string, _ int64, _ ...attribute.KeyValue) {
		if insts[name] == nil {
			insts[name] = &inst{help: help}
		}
	})
	var obs []metric.Observable
	for name, in := range insts {
		c, err := o.meter.Int64ObservableCounter(name, metric.WithDescription(in.help))
		if err != nil {
			return err
		}
		in.c = c
		obs = append(obs, c)
	}
	_, err := o.meter.RegisterCallback(func(_ context.Context, ob metric.Observer) error {
		fn(func(name, _ string, v int64, attrs ...attribute.KeyValue) {
			if in := insts[name]; in != nil {
				ob.ObserveInt64(in.c, v, metric.WithAttributes(attrs...))
			}
		})
		return nil
	}, obs...)
	return err
}

func (o *observer) lister(l *lister.Lister) error {
	return o.counters(func(obs func(string, string, int64, ...attribute.KeyValue)) {
		obs("entralake_blobs_listed", "Blobs seen by the lister.", l.Stats.Listed.Load())
		obs("entralake_tasks_published", "Tasks (blob byte ranges) published.", l.Stats.Tasks.Load())
		obs("entralake_bytes_published", "Bytes of blobs covered by published tasks.", l.Stats.Bytes.Load())
		obs("entralake_list_calls", "Folder listings made.", l.Stats.ListCalls.Load())
	})
}

func (o *observer) parser(ph *parser.Handler) error {
	return o.counters(func(obs func(string, string, int64, ...attribute.KeyValue)) {
		obs("entralake_tasks_parsed", "Tasks parsed and handed to the writers.", ph.Totals.Tasks.Load())
		obs("entralake_bytes_read", "Blob bytes parsed.", ph.Totals.Bytes.Load())
		obs("entralake_records_parsed", "Input records: non-blank lines and wrapper elements.", ph.Totals.Records.Load())
		obs("entralake_rows_parsed", "Records that became rows.", ph.Totals.Rows.Load())
		obs("entralake_values_to_extra", "Values kept in p_extra because they did not fit their column.", ph.Totals.Mismatches.Load())
		obs("entralake_batches_published", "Arrow batches published to the writers.", ph.Totals.Batches.Load())
		by := ph.QuarantinedByReason()
		for _, k := range parser.ReasonKinds() {
			obs("entralake_records_quarantined", "Records quarantined, by kind of reason.", by[k], attribute.String("reason", string(k)))
		}
	})
}

func (o *observer) writer(w *writer.Writer) error {
	if err := o.counters(func(obs func(string, string, int64, ...attribute.KeyValue)) {
		obs("entralake_files_written", "Parquet files put in the lake.", w.Totals.Files.Load())
		obs("entralake_file_bytes_written", "Bytes of Parquet files put in the lake.", w.Totals.Bytes.Load())
		obs("entralake_rows_written", "Rows (and quarantined records) put in the lake.", w.Totals.Rows.Load())
		obs("entralake_batches_written", "Batches written into files.", w.Totals.Batches.Load())
		obs("entralake_batches_duplicate", "Batches delivered again and recognised as already in the lake.", w.Totals.Duplicates.Load())
		obs("entralake_write_failures", "Files that could not be written (their batches are retried).", w.Totals.Failures.Load())
	}); err != nil {
		return err
	}
	lag, err := o.meter.Float64ObservableGauge("entralake_event_time_lag_seconds",
		metric.WithDescription("Now minus the newest event time written to the lake, per category."))
	if err != nil {
		return err
	}
	_, err = o.meter.RegisterCallback(func(_ context.Context, ob metric.Observer) error {
		now := time.Now()
		for cat, t := range w.Newest() {
			ob.ObserveFloat64(lag, now.Sub(t).Seconds(), metric.WithAttributes(attribute.String("category", cat)))
		}
		return nil
	}, lag)
	return err
}

// queue registers gauges of the JetStream consumers.
func (o *observer) queue(c *conn) error {
	pending, err := o.meter.Int64ObservableGauge("entralake_consumer_pending", metric.WithDescription("Messages not yet delivered, per consumer."))
	if err != nil {
		return err
	}
	inflight, err := o.meter.Int64ObservableGauge("entralake_consumer_in_flight", metric.WithDescription("Messages delivered and not yet acked, per consumer."))
	if err != nil {
		return err
	}
	redelivered, err := o.meter.Int64ObservableGauge("entralake_consumer_redelivered", metric.WithDescription("Messages delivered more than once and not yet acked, per consumer."))
	if err != nil {
		return err
	}
	dead, err := o.meter.Int64ObservableGauge("entralake_dead_letters", metric.WithDescription("Messages in the dead-letter stream."))
	if err != nil {
		return err
	}
	_, err = o.meter.RegisterCallback(func(ctx context.Context, ob metric.Observer) error {
		ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		st, err := workers.Status(ctx, c.js)
		if err != nil {
			return nil // no gauges while NATS is away
		}
		for name, cs := range st.Consumers {
			a := metric.WithAttributes(attribute.String("consumer", name))
			ob.ObserveInt64(pending, int64(cs.Pending), a)
			ob.ObserveInt64(inflight, int64(cs.InFlight), a)
			ob.ObserveInt64(redelivered, int64(cs.Redelivered), a)
		}
		ob.ObserveInt64(dead, int64(st.DeadLetters))
		return nil
	}, pending, inflight, redelivered, dead)
	return err
}

// readyNATS is ready when connected and the streams exist. The
// connection is set once start-up made it.
func readyNATS(cp *atomic.Pointer[conn]) func(context.Context) error {
	return func(ctx context.Context) error {
		c := cp.Load()
		if c == nil {
			return errors.New("not connected to NATS yet")
		}
		if !c.nc.IsConnected() {
			return errors.New("not connected to NATS")
		}
		for _, s := range []string{workers.StreamTasks, workers.StreamBatches} {
			if _, err := c.js.Stream(ctx, s); err != nil {
				return fmt.Errorf("stream %s: %w", s, err)
			}
		}
		return nil
	}
}

// lakeRef holds the lake once start-up opened it.
type lakeRef struct{ atomic.Pointer[writer.Lake] }

func (r *lakeRef) set(l writer.Lake) { r.Store(&l) }

// readyLake adds a check that the lake takes a file.
func readyLake(next func(context.Context) error, lake *lakeRef) func(context.Context) error {
	return func(ctx context.Context) error {
		if err := next(ctx); err != nil {
			return err
		}
		lp := lake.Load()
		if lp == nil {
			return errors.New("lake not open yet")
		}
		return probeLake(ctx, *lp)
	}
}
