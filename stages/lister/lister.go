package lister

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/entralake/entralake/schema"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/sync/errgroup"
)

// Source lists a storage account, or a folder laid out like one.
type Source interface {
	// Containers returns the containers to read.
	Containers(ctx context.Context) ([]string, error)
	// ListDir lists one level under prefix ("" or ending in "/"): the
	// sub-folder prefixes (ending in "/") and the blobs.
	ListDir(ctx context.Context, container, prefix string) (dirs []string, blobs []schema.Blob, err error)
}

// Offsets stores how far each blob was published (workers.Offsets).
type Offsets interface {
	Get(ctx context.Context, container, blob string) (schema.BlobState, bool, error)
	// Update lets fn change the blob's state and stores it only if no one
	// stored another since it was read (compare-and-set), calling fn
	// again on the fresh state otherwise; fn returns false to store
	// nothing. It returns the state as stored (or as read).
	Update(ctx context.Context, container, blob string, fn func(st *schema.BlobState) bool) (schema.BlobState, error)
}

// Publisher publishes a message and waits until the stream stored it
// (workers.Publisher); a message with the ID of one the stream stored
// within its duplicate window is dropped.
type Publisher interface {
	Publish(ctx context.Context, m schema.Outgoing) error
}

// Settler advances blob offsets past the tasks whose rows are all in the
// lake (workers.Tasks). A Lister calls it at the start of every pass.
type Settler interface {
	Settle(ctx context.Context) (int, error)
}

// Config configures a Lister.
type Config struct {
	SourceID, SourceLabel string
	// Subject of the task stream.
	Subject string
	// From and To bound the hours listed (inclusive); zero means open.
	From, To time.Time
	// Recent is how far back blobs may still grow (default 48h): a blob
	// whose hour ended less than Recent ago is not final.
	Recent time.Duration
	// FinalAfter is how long a blob must be unchanged (schema.Blob.ModTime) to
	// be final, besides its hour being older than Recent; a blob whose
	// path has no hour is final on this alone. 0: the last change does not
	// count. A final blob is read to its very end: an unfinished last line
	// is parsed as a record instead of waiting for the rest of it.
	FinalAfter time.Duration
	// Now returns the current time.
	Now func() time.Time
	// Settler, when set, is called at the start of each pass.
	Settler Settler
	// TaskSize splits the new bytes of a blob into tasks of about this
	// many bytes, so that parsers share a big blob (0: one task a blob).
	// Parsers move each split point to the next record boundary
	// (schema.Task.SplitStart).
	TaskSize int64
}

// Stats count a lister's work.
type Stats struct {
	Listed, Blobs, Tasks, Bytes, ListCalls atomic.Int64
	// Hours counts the distinct export hours that got tasks.
	Hours atomic.Int64
}

// Lister publishes tasks for new bytes of export blobs.
type Lister struct {
	cfg     Config
	src     Source
	offsets Offsets
	pub     Publisher
	log     *slog.Logger
	hours   map[time.Time]bool // hours that got tasks (Pass runs on one goroutine)
	// open holds the blobs that were not final when last listed, by
	// container/name; seen, the blobs listed in the current pass.
	open, seen map[string]schema.Blob
	// Stats count what was listed and published.
	Stats Stats
}

// New returns a Lister.
func New(cfg Config, src Source, offsets Offsets, pub Publisher, log *slog.Logger) *Lister {
	if cfg.Recent <= 0 {
		cfg.Recent = 48 * time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if log == nil {
		log = slog.Default()
	}
	return &Lister{cfg: cfg, src: src, offsets: offsets, pub: pub, log: log, open: map[string]schema.Blob{}}
}

// Pass lists the hours in [from, to] (zero: open) once and publishes
// tasks. It then lists again the blobs that were not final in an earlier
// pass and that this one did not list (in watch mode, their hour just left
// the window), so that each gets its final task once it can no longer grow.
func (l *Lister) Pass(ctx context.Context, from, to time.Time) error {
	return l.pass(ctx, from, to, true)
}

func (l *Lister) pass(ctx context.Context, from, to time.Time, walk bool) error {
	if l.cfg.Settler != nil {
		if _, err := l.cfg.Settler.Settle(ctx); err != nil {
			l.log.LogAttrs(ctx, slog.LevelWarn, "could not advance committed offsets; trying again next pass", slog.Any("err", err))
		}
	}
	l.seen = map[string]schema.Blob{}
	if walk {
		containers, err := l.src.Containers(ctx)
		if err != nil {
			return fmt.Errorf("list containers: %w", err)
		}
		for _, c := range containers {
			if err := l.walk(ctx, c, "", from, to, pathTime{}); err != nil {
				return err
			}
		}
	}
	return l.revisit(ctx)
}

// revisit lists the folders of the open blobs this pass did not see and
// publishes what they need; a blob no longer there is forgotten.
func (l *Lister) revisit(ctx context.Context) error {
	type folder struct{ container, prefix string }
	var folders []folder
	for key, b := range l.open {
		if _, ok := l.seen[key]; ok {
			continue
		}
		f := folder{b.Container, blobFolder(b.Name)}
		if !slices.Contains(folders, f) {
			folders = append(folders, f)
		}
	}
	slices.SortFunc(folders, func(a, b folder) int { return strings.Compare(a.container+"/"+a.prefix, b.container+"/"+b.prefix) })
	for _, f := range folders {
		l.Stats.ListCalls.Add(1)
		_, blobs, err := l.src.ListDir(ctx, f.container, f.prefix)
		if err != nil {
			return fmt.Errorf("list %s/%s: %w", f.container, f.prefix, err)
		}
		for _, b := range blobs {
			key := b.Container + "/" + b.Name
			if _, open := l.open[key]; !open {
				continue
			}
			if _, seen := l.seen[key]; seen {
				continue
			}
			if err := l.blob(ctx, b); err != nil {
				return err
			}
		}
		for key, b := range l.open {
			if _, seen := l.seen[key]; !seen && b.Container == f.container && blobFolder(b.Name) == f.prefix {
				delete(l.open, key) // deleted from the source
			}
		}
	}
	return nil
}

// blobFolder is the folder prefix that lists a blob ("" or ending in "/").
func blobFolder(name string) string {
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		return name[:i+1]
	}
	return ""
}

// Waiting adds up, over the blobs of the last pass that are not final,
// the bytes of unfinished last lines that wait for the rest of them
// (schema.BlobState.Waiting). Call it once their tasks are settled.
func (l *Lister) Waiting(ctx context.Context) (bytes int64, blobs int, err error) {
	var mu sync.Mutex
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(8) // a replay may leave thousands of blobs open: a few reads at once
	for _, b := range l.open {
		g.Go(func() error {
			st, _, err := l.offsets.Get(ctx, b.Container, b.Name)
			if err != nil {
				return fmt.Errorf("offset of %s/%s: %w", b.Container, b.Name, err)
			}
			if w := st.Waiting(); w > 0 {
				mu.Lock()
				bytes, blobs = bytes+w, blobs+1
				mu.Unlock()
			}
			return nil
		})
	}
	err = g.Wait()
	return bytes, blobs, err
}

// Settle advances committed offsets now (Pass does it too, first).
func (l *Lister) Settle(ctx context.Context) (int, error) {
	if l.cfg.Settler == nil {
		return 0, nil
	}
	return l.cfg.Settler.Settle(ctx)
}

// Run lists the configured range, then, until ctx ends, lists the recent
// hours again every interval.
func (l *Lister) Run(ctx context.Context, every time.Duration) error {
	if err := l.Pass(ctx, l.cfg.From, l.cfg.To); err != nil {
		return err
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		from := l.cfg.Now().Add(-l.cfg.Recent).Truncate(time.Hour)
		if !l.cfg.From.IsZero() && l.cfg.From.After(from) {
			from = l.cfg.From
		}
		// When the range is all in the past, only the blobs that were
		// not final may still need a task.
		walk := l.cfg.To.IsZero() || !l.cfg.To.Before(from)
		if err := l.pass(ctx, from, l.cfg.To, walk); err != nil {
			l.log.LogAttrs(ctx, slog.LevelWarn, "listing failed; trying again next interval", slog.Any("err", err))
		}
	}
}

// pathTime is what the y=/m=/d=/h= folders above a prefix say.
type pathTime struct{ y, m, d, h int }

func (l *Lister) walk(ctx context.Context, container, prefix string, from, to time.Time, pt pathTime) error {
	l.Stats.ListCalls.Add(1)
	dirs, blobs, err := l.src.ListDir(ctx, container, prefix)
	if err != nil {
		return fmt.Errorf("list %s/%s: %w", container, prefix, err)
	}
	for _, b := range blobs {
		l.Stats.Listed.Add(1)
		if !strings.HasSuffix(b.Name, ".json") {
			continue
		}
		if hour, ok := schema.BlobHour(b.Name); ok && !inRange(hour, hour.Add(time.Hour-1), from, to) {
			continue
		}
		if err := l.blob(ctx, b); err != nil {
			return err
		}
	}
	for _, d := range dirs {
		seg := path.Base(strings.TrimSuffix(d, "/"))
		npt, ok := narrow(pt, seg)
		if ok {
			lo, hi, bounded := npt.span()
			if bounded && !inRange(lo, hi, from, to) {
				continue
			}
		}
		if err := l.walk(ctx, container, d, from, to, npt); err != nil {
			return err
		}
	}
	return nil
}

// narrow adds a y=/m=/d=/h= folder to pt.
func narrow(pt pathTime, seg string) (pathTime, bool) {
	k, v, ok := strings.Cut(seg, "=")
	if !ok {
		return pt, false
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return pt, false
	}
	switch {
	case k == "y":
		pt = pathTime{y: n}
	case k == "m" && pt.y > 0 && pt.m == 0:
		pt.m = n
	case k == "d" && pt.m > 0:
		pt.d = n
	case k == "h" && pt.d > 0:
		pt.h = n + 1 // 1-based so that 0 means unknown
	default:
		return pt, false
	}
	return pt, true
}

// span returns the hours pt covers.
func (pt pathTime) span() (lo, hi time.Time, ok bool) {
	switch {
	case pt.y == 0:
		return lo, hi, false
	case pt.m == 0:
		lo = time.Date(pt.y, 1, 1, 0, 0, 0, 0, time.UTC)
		return lo, lo.AddDate(1, 0, 0).Add(-1), true
	case pt.d == 0:
		lo = time.Date(pt.y, time.Month(pt.m), 1, 0, 0, 0, 0, time.UTC)
		return lo, lo.AddDate(0, 1, 0).Add(-1), true
	case pt.h == 0:
		lo = time.Date(pt.y, time.Month(pt.m), pt.d, 0, 0, 0, 0, time.UTC)
		return lo, lo.AddDate(0, 0, 1).Add(-1), true
	default:
		lo = time.Date(pt.y, time.Month(pt.m), pt.d, pt.h-1, 0, 0, 0, time.UTC)
		return lo, lo.Add(time.Hour - 1), true
	}
}

// inRange reports whether [lo, hi] overlaps [from, to] (zero: open).
func inRange(lo, hi, from, to time.Time) bool {
	if !from.IsZero() && hi.Before(from) {
		return false
	}
	if !to.IsZero() && lo.After(to.Truncate(time.Hour).Add(time.Hour-1)) {
		return false
	}
	return true
}

// final reports whether b can no longer grow: its hour, when its path
// has one, ended more than Recent ago, and it has not changed for
// FinalAfter (a source that gives no ModTime: the hour alone).
func (l *Lister) final(b schema.Blob) bool {
	now := l.cfg.Now()
	if hour, ok := schema.BlobHour(b.Name); ok && !hour.Add(time.Hour).Before(now.Add(-l.cfg.Recent)) {
		return false
	}
	return l.cfg.FinalAfter <= 0 || b.ModTime.IsZero() || !b.ModTime.After(now.Add(-l.cfg.FinalAfter))
}

// blob publishes tasks for the bytes of b not yet published. It claims the
// range in the blob's state first (a compare-and-set), publishes its tasks,
// then moves the published offset to the claim's end: a claim found
// there, left by another lister or by a crash, is published again (the
// same task ids, which JetStream drops as duplicates) and completed
// before the blob is looked at again. No two listers publish overlapping
// ranges, and no offset goes back.
func (l *Lister) blob(ctx context.Context, b schema.Blob) error {
	key := b.Container + "/" + b.Name
	l.seen[key] = b
	final := l.final(b)
	for {
		var claim *schema.Claim
		var mine, shrank bool
		st, err := l.offsets.Update(ctx, b.Container, b.Name, func(st *schema.BlobState) bool {
			claim, mine, shrank = st.Claim, false, false
			if claim != nil {
				return false // another lister's, or a crashed one's: finish it first
			}
			if b.Size < st.Published {
				if !b.ModTime.IsZero() && !b.ModTime.After(st.ModTime) {
					return false // listed before the bytes already published were appended
				}
				shrank = true
				st.Published, st.Final = 0, false
			}
			if b.Size == st.Published {
				if st.Final || !final {
					return false
				}
				if st.Committed >= st.Published {
					// Every byte is in the lake: no unfinished line to read.
					st.Final = true
					return true
				}
			}
			claim = &schema.Claim{ETag: b.ETag, ModTime: b.ModTime, Size: b.Size, Start: st.Published, End: b.Size, Final: final, TaskSize: l.cfg.TaskSize}
			st.Claim, mine = claim, true
			return true
		})
		if err != nil {
			return fmt.Errorf("offset of %s: %w", key, err)
		}
		if claim == nil {
			l.remember(key, b, st)
			return nil
		}
		if shrank {
			l.log.LogAttrs(ctx, slog.LevelWarn, "blob shrank: it was replaced; reading it again from the start",
				slog.String("blob", key), slog.Int64("size", b.Size))
		}
		if err := l.publishClaim(ctx, b, *claim); err != nil {
			return err
		}
		st, err = l.offsets.Update(ctx, b.Container, b.Name, func(st *schema.BlobState) bool {
			if st.Claim == nil || !st.Claim.Equal(*claim) {
				return false // completed by another lister
			}
			st.ETag, st.ModTime, st.Published, st.Final, st.Claim = claim.ETag, claim.ModTime, claim.End, claim.Final, nil
			return true
		})
		if err != nil {
			return fmt.Errorf("store offset of %s: %w", key, err)
		}
		if !mine {
			continue // that was another lister's range: now look at the blob again
		}
		l.Stats.Blobs.Add(1)
		if hour, ok := schema.BlobHour(b.Name); ok && !l.hours[hour] {
			if l.hours == nil {
				l.hours = map[time.Time]bool{}
			}
			l.hours[hour] = true
			l.Stats.Hours.Add(1)
		}
		l.remember(key, b, st)
		return nil
	}
}

// remember keeps b among the open blobs until its state is final.
func (l *Lister) remember(key string, b schema.Blob, st schema.BlobState) {
	if st.Final {
		delete(l.open, key)
		return
	}
	l.open[key] = b
}

// publishClaim publishes the tasks of a claimed range.
func (l *Lister) publishClaim(ctx context.Context, b schema.Blob, c schema.Claim) error {
	t := schema.Task{SourceID: l.cfg.SourceID, SourceLabel: l.cfg.SourceLabel, Container: b.Container, Blob: b.Name,
		ETag: c.ETag, Size: c.Size, Start: c.Start, End: c.End, Final: c.Final}
	for _, part := range split(t, c.TaskSize) {
		if err := l.publish(ctx, part); err != nil {
			return err
		}
	}
	return nil
}

// split cuts t into tasks of about size bytes, evenly (none when size <= 0
// or t is smaller than twice size). Every cut is a split point: the task before
// it ends, and the task after it starts, at the first record boundary from
// there on.
func split(t schema.Task, size int64) []schema.Task {
	if size <= 0 || t.End-t.Start < 2*size {
		return []schema.Task{t}
	}
	n := (t.End - t.Start + size/2) / size
	cut := func(i int64) int64 { return t.Start + i*(t.End-t.Start)/n }
	parts := make([]schema.Task, 0, n)
	for i := range n {
		p := t
		p.Start, p.SplitStart = cut(i), i > 0
		if i < n-1 {
			p.End, p.SplitEnd = cut(i+1), true
		}
		parts = append(parts, p)
	}
	return parts
}

// publish sends one task, with its id as the message id: published
// again, it is dropped as a duplicate.
func (l *Lister) publish(ctx context.Context, t schema.Task) error {
	data, err := json.Marshal(t)
	if err != nil {
		return err
	}
	ctx, span := otel.Tracer("github.com/entralake/entralake/stages/lister").Start(ctx, "lister publish",
		trace.WithSpanKind(trace.SpanKindProducer), trace.WithAttributes(attribute.String("blob", t.Path()), attribute.Int64("start", t.Start), attribute.Int64("end", t.End)))
	defer span.End()
	if err := l.pub.Publish(ctx, schema.Outgoing{Subject: l.cfg.Subject, ID: t.ID(), Data: data}); err != nil {
		return fmt.Errorf("publish task for %s: %w", t.Path(), err)
	}
	l.Stats.Tasks.Add(1)
	l.Stats.Bytes.Add(t.End - t.Start)
	return nil
}
