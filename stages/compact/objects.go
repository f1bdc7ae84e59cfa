package compact

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/entralake/entralake/internal/pqmerge"
	"github.com/entralake/entralake/lake"
)

// Store is a lake in an object store (lake/objstore), as compaction uses
// it: objects cannot be renamed, so a merged file is uploaded under its
// final name (it appears whole), the ledger is pointed at it, then its
// inputs are deleted.
type Store interface {
	Create(ctx context.Context, rel string) (lake.File, error)
	// CreateExclusive's Commit fails with lake.ErrExists when rel exists.
	CreateExclusive(ctx context.Context, rel string) (lake.File, error)
	Exists(ctx context.Context, rel string) (bool, error)
	ReadFile(ctx context.Context, rel string) ([]byte, error)
	// List returns the files under the folder dir, at any depth.
	List(ctx context.Context, dir string) ([]lake.Object, error)
	Open(ctx context.Context, rel string) (lake.Reader, error)
	// Delete removes rel; a missing file is not an error.
	Delete(ctx context.Context, rel string) error
}

// Names under StagingDir in an object store.
const (
	lockName = "lock.json"
	// StaleLock is the age past which the lock of a compaction that never
	// released it (it was killed) is taken over.
	StaleLock = 6 * time.Hour
)

// lockInfo is the content of the lock object.
type lockInfo struct {
	Host    string    `json:"host"`
	PID     int       `json:"pid"`
	Started time.Time `json:"started"`
}

// runObjects is Run on an object store.
func (c *Compactor) runObjects(ctx context.Context) (Stats, error) {
	var st Stats
	s := c.cfg.Store
	unlock, err := c.lockStore(ctx)
	if err != nil {
		return st, err
	}
	defer unlock()
	objs, err := s.List(ctx, StagingDir)
	if err != nil {
		return st, fmt.Errorf("compact: %w", err)
	}
	for _, o := range objs {
		if name := path.Base(o.Rel); strings.HasPrefix(name, "job-") && strings.HasSuffix(name, ".json") {
			if err := c.settleObjects(ctx, o.Rel); err != nil {
				return st, err
			}
			st.Recovered++
		}
	}
	for _, table := range c.cfg.Tables {
		parts, err := c.closedObjectPartitions(ctx, table)
		if err != nil {
			return st, err
		}
		for _, p := range slices.Sorted(func(yield func(string) bool) {
			for k := range parts {
				if !yield(k) {
					return
				}
			}
		}) {
			if err := ctx.Err(); err != nil {
				return st, err
			}
			if err := c.objectPartition(ctx, p, parts[p], &st); err != nil {
				return st, err
			}
		}
	}
	return st, nil
}

// lockStore takes the lake's compaction lock: an object created only if
// absent (a conditional write). A lock older than StaleLock is taken over.
func (c *Compactor) lockStore(ctx context.Context) (func(), error) {
	rel := StagingDir + "/" + lockName
	host, _ := os.Hostname()
	data, err := json.Marshal(lockInfo{Host: host, PID: os.Getpid(), Started: time.Now().UTC()})
	if err != nil {
		return nil, err
	}
	for try := 0; ; try++ {
		f, err := c.cfg.Store.CreateExclusive(ctx, rel)
		if err != nil {
			return nil, fmt.Errorf("compact: lock: %w", err)
		}
		if _, err = f.Write(data); err == nil {
			err = f.Commit(ctx)
		} else {
			f.Abort()
		}
		if err == nil {
			return func() {
				if err := c.cfg.Store.Delete(context.WithoutCancel(ctx), rel); err != nil {
					c.log.Warn("could not release the compaction lock", "lock", rel, "err", err)
				}
			}, nil
		}
		if !errors.Is(err, lake.ErrExists) {
			return nil, fmt.Errorf("compact: lock: %w", err)
		}
		var held lockInfo
		raw, rerr := c.cfg.Store.ReadFile(ctx, rel)
		if rerr == nil {
			rerr = json.Unmarshal(raw, &held)
		}
		if try > 0 || rerr == nil && time.Since(held.Started) < StaleLock {
			return nil, fmt.Errorf("compact: %w (%s holds %s since %s)", ErrLocked, held.who(), rel, held.Started.Format(time.RFC3339))
		}
		if errors.Is(rerr, fs.ErrNotExist) {
			continue // released meanwhile
		}
		c.log.Warn("taking over a stale compaction lock", "lock", rel, "holder", held.who(), "since", held.Started)
		if err := c.cfg.Store.Delete(ctx, rel); err != nil {
			return nil, fmt.Errorf("compact: remove stale lock: %w", err)
		}
	}
}

func (l lockInfo) who() string { return fmt.Sprintf("pid %d on %s", l.PID, l.Host) }

// closedObjectPartitions groups the Parquet files of a table by partition
// folder, keeping the closed partitions of two files or more.
func (c *Compactor) closedObjectPartitions(ctx context.Context, table string) (map[string][]lake.Object, error) {
	objs, err := c.cfg.Store.List(ctx, table)
	if err != nil {
		return nil, fmt.Errorf("compact: %w", err)
	}
	parts := map[string][]lake.Object{}
	for _, o := range objs {
		dir, name := path.Split(o.Rel)
		dir = strings.TrimSuffix(dir, "/")
		if strings.HasPrefix(name, ".") || !strings.HasSuffix(name, ".parquet") {
			continue
		}
		if end, ok := partitionEnd(dir); ok && !end.After(c.cfg.Before) {
			parts[dir] = append(parts[dir], o)
		}
	}
	for dir, files := range parts {
		if len(files) < 2 {
			delete(parts, dir)
			continue
		}
		slices.SortFunc(files, func(a, b lake.Object) int { return strings.Compare(a.Rel, b.Rel) })
	}
	return parts, nil
}

// objectPartition compacts one partition of an object store: journal,
// merged files, ledger, then the inputs go.
func (c *Compactor) objectPartition(ctx context.Context, rel string, files []lake.Object, st *Stats) error {
	inputs := make([]inputFile, 0, len(files))
	for _, f := range files {
		r, err := c.cfg.Store.Open(ctx, f.Rel)
		if err != nil {
			return fmt.Errorf("compact %s: %w", rel, err)
		}
		in, err := c.footer(r, path.Base(f.Rel), r.Size())
		r.Close()
		if err != nil {
			return fmt.Errorf("compact %s: %w", rel, err)
		}
		inputs = append(inputs, in)
	}
	jobRel := StagingDir + "/job-" + randomHex() + ".json"
	return c.job(ctx, rel, inputs, st, jobRunner{
		run:    func(j journal) error { return c.runObjectJob(ctx, jobRel, j, inputs) },
		settle: func() error { return c.settleObjects(ctx, jobRel) },
		size: func(name string) int64 {
			r, err := c.cfg.Store.Open(ctx, rel+"/"+name)
			if err != nil {
				return 0
			}
			defer r.Close()
			return r.Size()
		},
	})
}

// runObjectJob writes the journal and the merged files, then finishes.
func (c *Compactor) runObjectJob(ctx context.Context, jobRel string, j journal, inputs []inputFile) error {
	data, err := json.MarshalIndent(j, "", "  ")
	if err != nil {
		return err
	}
	if err := c.put(ctx, jobRel, data); err != nil {
		return fmt.Errorf("write journal: %w", err)
	}
	if err := c.hook(StepPlanned, j.Partition); err != nil {
		return err
	}
	byName := map[string]inputFile{}
	for _, in := range inputs {
		byName[in.name] = in
	}
	for _, o := range j.Outputs {
		if !o.merged() {
			continue // kept where it is
		}
		f, err := c.cfg.Store.Create(ctx, j.Partition+"/"+o.Name)
		if err != nil {
			return err
		}
		open := func(name string) (pqmerge.ReadAtSeekCloser, error) {
			return c.cfg.Store.Open(ctx, j.Partition+"/"+name)
		}
		if err := c.encode(ctx, f, o, byName, open); err != nil {
			f.Abort()
			return err
		}
		if err := f.Commit(ctx); err != nil {
			return err
		}
	}
	if err := c.hook(StepWritten, j.Partition); err != nil {
		return err
	}
	return c.finishObjects(ctx, jobRel, j)
}

// finishObjects completes a job whose merged files are all there: the
// ledger, then the inputs and the journal go.
func (c *Compactor) finishObjects(ctx context.Context, jobRel string, j journal) error {
	if err := c.record(ctx, j); err != nil {
		return err
	}
	for _, o := range j.Outputs {
		if !o.merged() {
			continue
		}
		for _, in := range o.Inputs {
			if err := c.cfg.Store.Delete(ctx, j.Partition+"/"+in); err != nil {
				return fmt.Errorf("delete %s/%s: %w", j.Partition, in, err)
			}
		}
	}
	if err := c.hook(StepRestored, j.Partition); err != nil {
		return err
	}
	return c.cfg.Store.Delete(ctx, jobRel)
}

// settleObjects resolves a journal left by a crash (or a failed job):
// when every merged file is there the job is finished, otherwise the
// merged files already written are deleted (no ledger entry points at
// them yet) and the inputs stay.
func (c *Compactor) settleObjects(ctx context.Context, jobRel string) error {
	data, err := c.cfg.Store.ReadFile(ctx, jobRel)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // never written
	}
	if err != nil {
		return fmt.Errorf("compact: read %s: %w", jobRel, err)
	}
	var j journal
	if err := json.Unmarshal(data, &j); err != nil || j.Partition == "" {
		return fmt.Errorf("compact: journal %s is unreadable (%v): remove it once you checked its partition", jobRel, err)
	}
	done := true
	for _, o := range j.Outputs {
		if !o.merged() {
			continue
		}
		ok, err := c.cfg.Store.Exists(ctx, j.Partition+"/"+o.Name)
		if err != nil {
			return err
		}
		done = done && ok
	}
	if done {
		c.log.LogAttrs(ctx, slog.LevelInfo, "unfinished compaction completed", slog.String("partition", j.Partition))
		return c.finishObjects(ctx, jobRel, j)
	}
	c.log.LogAttrs(ctx, slog.LevelInfo, "unfinished compaction rolled back", slog.String("partition", j.Partition))
	for _, o := range j.Outputs {
		if o.merged() {
			if err := c.cfg.Store.Delete(ctx, j.Partition+"/"+o.Name); err != nil {
				return err
			}
		}
	}
	return c.cfg.Store.Delete(ctx, jobRel)
}

// put writes a small object.
func (c *Compactor) put(ctx context.Context, rel string, data []byte) error {
	f, err := c.cfg.Store.Create(ctx, rel)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Abort()
		return err
	}
	return f.Commit(ctx)
}
