package cli

import (
	"errors"
	"fmt"
	"math"
	"os"
	"strings"
	"time"

	"github.com/alecthomas/kong"
	"github.com/dustin/go-humanize"
	"github.com/entralake/entralake/internal/ddl"
	"github.com/entralake/entralake/internal/location"
	"github.com/entralake/entralake/lake/iceberg"
	"github.com/entralake/entralake/schema"
)

// Size is a number of bytes given as a flag: plain bytes (1048576) or a
// number with a unit, binary (16MiB, 1.5GiB, 512Ki) or decimal (1GB, 64M).
// Parsing is go-humanize's ParseBytes: units are case-insensitive and may
// follow a space.
type Size int64

// UnmarshalText parses a size; kong calls it for flags and variables.
func (s *Size) UnmarshalText(b []byte) error {
	n, err := humanize.ParseBytes(strings.TrimSpace(string(b)))
	if err != nil || n > math.MaxInt64 {
		return fmt.Errorf("%q is not a size: give bytes or a number with a unit, e.g. 16MiB, 96MiB, 1GB", b)
	}
	*s = Size(n)
	return nil
}

// String formats the size in binary units: exact when it is a whole
// number of a unit (96MiB, 1MiB), else rounded (1.5KiB).
func (s Size) String() string {
	if s < 0 {
		return fmt.Sprintf("%dB", int64(s))
	}
	for i, unit := range []string{"EiB", "PiB", "TiB", "GiB", "MiB", "KiB"} {
		if m := int64(1) << (10 * (6 - i)); s >= Size(m) && int64(s)%m == 0 {
			return fmt.Sprintf("%d%s", int64(s)/m, unit)
		}
	}
	return strings.ReplaceAll(humanize.IBytes(uint64(s)), " ", "")
}

// flagError is a flag whose value cannot be used; Main reports it as one
// line naming the flag.
type flagError struct {
	flag    string // without "--"
	value   any    // nil: the problem names it
	problem string
}

func (e *flagError) Error() string {
	if e.value == nil {
		return fmt.Sprintf("--%s: %s", e.flag, e.problem)
	}
	return fmt.Sprintf("--%s %v: %s", e.flag, e.value, e.problem)
}

// number is what the range checks take.
type number interface {
	~int | ~int32 | ~int64 | ~uint64 | ~float64
}

// atLeast checks v >= lo.
func atLeast[T number](flag string, v, lo T) error {
	if v < lo {
		return &flagError{flag, v, fmt.Sprintf("must be at least %v", lo)}
	}
	return nil
}

// positive checks v > 0.
func positive[T number](flag string, v T) error {
	if v <= 0 {
		return &flagError{flag, v, "must be more than 0"}
	}
	return nil
}

// between checks lo <= v <= hi.
func between[T number](flag string, v, lo, hi T) error {
	if v < lo || v > hi {
		return &flagError{flag, v, fmt.Sprintf("must be between %v and %v", lo, hi)}
	}
	return nil
}

// firstError returns the first non-nil error: a usage error is one line.
func firstError(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// renamedFlags maps a flag to the variables of its old names, which keep
// working (hidden: --help shows the new name only). The old flag names are
// kong aliases of the new flags.
var renamedFlags = map[string][]string{
	"writer-batches": {"ENTRALAKE_WRITERS", "ENTRALAKE_BATCHES"}, // run --writers, writer --batches
}

// renamedEnvs resolves a renamed flag from an old variable when neither the
// command line nor the flag's own variable sets it.
func renamedEnvs() kong.Resolver {
	return kong.ResolverFunc(func(_ *kong.Context, _ *kong.Path, f *kong.Flag) (any, error) {
		for _, env := range f.Envs {
			if _, ok := os.LookupEnv(env); ok {
				return nil, nil
			}
		}
		for _, old := range renamedFlags[f.Name] {
			if v, ok := os.LookupEnv(old); ok {
				return v, nil
			}
		}
		return nil, nil
	})
}

// Validate checks that the log type is built in.
func (f LogTypeFlags) Validate() error {
	if _, err := f.logType(); err != nil {
		return &flagError{flag: "log-type", value: f.LogType, problem: "no such log type; built in: " + strings.Join(schema.LogTypes(), ", ")}
	}
	return nil
}

// Validate checks the queue flags.
func (q QueueFlags) Validate() error {
	return firstError(
		positive("task-ack-wait", q.TaskAckWait),
		positive("batch-ack-wait", q.BatchAckWait),
		atLeast("max-deliver", q.MaxDeliver, 1),
		atLeast("shutdown-timeout", q.ShutdownTimeout, 0),
	)
}

// Validate checks the source flags: a --source that names no usable
// location is refused before anything is created.
func (s SourceFlags) Validate() error {
	return checkLocation("source", location.Source, s.Source)
}

// Validate checks the lister flags.
func (f ListerFlags) Validate() error {
	_, _, err := f.rangeHours()
	return firstError(
		err,
		positive("poll-interval", f.PollInterval),
		positive("recent", f.Recent),
		atLeast("final-after", f.FinalAfter, 0),
		atLeast("task-size", f.TaskSize, 0),
	)
}

// Validate checks the parser flags.
func (f ParserFlags) Validate() error {
	var perr error
	if f.Partition != "" && f.Partition != string(schema.PartitionHour) && f.Partition != string(schema.PartitionDay) {
		perr = &flagError{"partition", f.Partition, "must be hour or day"}
	}
	return firstError(
		perr,
		atLeast("parsers", f.Parsers, 0),
		positive("max-record-size", f.MaxRecordSize),
		positive("batch-rows", f.BatchRows),
	)
}

// Validate checks the writer flags: a --lake that names no usable
// location is refused before anything is created.
func (f WriterFlags) Validate() error {
	return firstError(
		checkLocation("lake", location.Lake, f.Lake),
		positive("roll-size", f.RollSize),
		positive("roll-rows", f.RollRows),
		positive("roll-age", f.RollAge),
		atLeast("max-buffered", f.MaxBuffered, 0),
		zstdLevel("zstd-level", f.ZstdLevel),
		atLeast("writer-files", f.WriterFiles, 0),
		atLeast("writer-batches", f.WriterBatches, 1),
	)
}

// zstdLevel checks a zstd level: 1 (fastest) to 22 (smallest).
func zstdLevel(flag string, v int) error { return between(flag, v, 1, 22) }

// maxPayload is the largest message NATS accepts (its hard limit).
const maxPayload = 64 << 20

// Validate checks the server flags.
func (n NatsServerCmd) Validate() error {
	return between("max-payload", n.MaxPayload, 1<<20, maxPayload)
}

// Validate checks the root flags.
func (c CLI) Validate() error {
	return atLeast("memory-limit", c.MemoryLimit, 0)
}

// Validate checks the gen flags.
func (g GenCmd) Validate() error {
	if (g.Records > 0) == (g.MB > 0) {
		return &flagError{"records", g.Records, fmt.Sprintf("give either --records or --mb (got --mb %v)", g.MB)}
	}
	_, err := parseHour(g.Start, false)
	if err != nil {
		err = &flagError{"start", g.Start, err.Error()}
	}
	return firstError(
		atLeast("records", g.Records, 0),
		atLeast("mb", g.MB, 0),
		err,
		positive("hours", g.Hours),
		positive("users", g.Users),
		atLeast("jobs", g.Jobs, 0),
	)
}

// Validate checks the compact flags.
func (c CompactCmd) Validate() error {
	err := checkLocation("lake", location.Lake, c.Lake)
	if err == nil && c.iceberg() {
		err = c.validateIceberg()
	}
	var berr error
	if _, e := parseHour(c.Before, false); e != nil {
		berr = &flagError{"before", c.Before, e.Error()}
	}
	return firstError(err, berr, positive("target-size", c.TargetSize), zstdLevel("zstd-level", c.ZstdLevel))
}

// Validate checks the status flags; status reads the lake's Parquet
// footers, so the lake must be a local folder.
func (s StatusCmd) Validate() error {
	var err error
	if s.Lake != "" && !s.iceberg() {
		_, err = localLake("status --lake", s.Lake)
	}
	return firstError(err, positive("timeout", s.Timeout))
}

// Validate checks the dead-letter ids.
func (d DlqRetryCmd) Validate() error {
	if d.All == (len(d.IDs) > 0) {
		return &flagError{flag: "all", problem: "give the ids of dead letters or --all (not both)"}
	}
	return nil
}

// hourLayouts are the forms of an hour flag, most precise first.
var hourLayouts = []string{"2006-01-02T15", "2006-01-02T15:04", "2006-01-02T15:04:05Z07:00"}

// dateLayout is a day without an hour.
const dateLayout = "2006-01-02"

// parseHour parses an hour flag, UTC: 2025-04-01T00 (also with minutes or
// as RFC 3339, truncated to the hour), or a date alone, which means its
// first hour, or its last one when end is set (--to 2025-04-11 reads the
// whole day). An empty value is the zero time.
func parseHour(s string, end bool) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range hourLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC().Truncate(time.Hour), nil
		}
	}
	if t, err := time.Parse(dateLayout, s); err == nil {
		if end {
			t = t.Add(23 * time.Hour)
		}
		return t, nil
	}
	return time.Time{}, errors.New("not an hour like 2025-04-01T00 or a date like 2025-04-01")
}

// rangeHours returns --from and --to; zero when not given.
func (f ListerFlags) rangeHours() (from, to time.Time, err error) {
	if from, err = parseHour(f.From, false); err != nil {
		return from, to, &flagError{"from", f.From, err.Error()}
	}
	if to, err = parseHour(f.To, true); err != nil {
		return from, to, &flagError{"to", f.To, err.Error()}
	}
	if !from.IsZero() && !to.IsZero() && to.Before(from) {
		return from, to, &flagError{"to", f.To, "is before --from " + f.From}
	}
	return from, to, nil
}

// validateIceberg checks the flags of compact's Iceberg mode.
func (c CompactCmd) validateIceberg() error {
	if o := c.RemoveOrphansOlderThan; o != 0 && o < iceberg.MinOrphanAge {
		return &flagError{"remove-orphans-older-than", o, fmt.Sprintf("must be at least %s (a file younger than that may belong to a commit in flight), or 0", iceberg.MinOrphanAge)}
	}
	if c.ExpireOlderThan < 0 {
		return &flagError{"expire-older-than", c.ExpireOlderThan, "must be 0 or more"}
	}
	return nil
}

// Validate checks the ddl flags.
func (c DdlCmd) Validate() error {
	switch {
	case c.SnapshotFiles && !c.iceberg():
		return &flagError{flag: "snapshot-files", problem: "only with --table-format iceberg"}
	case c.SnapshotFiles && c.Engine != string(ddl.DuckDB):
		return &flagError{flag: "snapshot-files", problem: "only with --engine duckdb"}
	case c.Table != "" && c.iceberg():
		return &flagError{flag: "table", value: c.Table, problem: "the Iceberg tables keep the names they have in their catalog"}
	}
	return nil
}
