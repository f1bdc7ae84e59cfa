package cli

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"strings"
	"time"

	"github.com/entralake/entralake/stages/writer"
	"github.com/entralake/entralake/workers"
)

// lakeMarker is the file at the lake's root that names the lake. The
// JetStream state of the deployment that writes the lake keeps the same
// id (workers.LakeMark), so that a writer notices a lake that is gone, or
// another lake, instead of skipping every blob the state already read.
const lakeMarker = "_entralake.json"

// marker is the content of lakeMarker.
type marker struct {
	LakeID  string    `json:"lake_id"`
	Created time.Time `json:"created"`
	Note    string    `json:"note"`
}

const markerNote = "written by entralake: the JetStream state (data dir) of the deployment that writes this lake holds the same id; keep this file with the lake"

// markedLake is a lake whose small files can be read back (the marker).
type markedLake interface {
	writer.Lake
	ReadFile(ctx context.Context, rel string) ([]byte, error)
}

// lakeCheck names, for its errors, where the state and the lake are.
type lakeCheck struct {
	// state describes the JetStream state: "data dir .entralake" or
	// "the NATS server at nats://...".
	state string
	// lake is --lake, fit for messages.
	lake string
	// join accepts a lake another state wrote (--join-lake).
	join bool
}

// errStateMismatch is the error of a state and a lake that do not belong
// together.
var errStateMismatch = errors.New("state and lake do not match")

// check makes sure that the state in off writes the lake l, before a
// writer writes anything:
//
//   - a state that wrote no lake yet takes the lake's id, or, when the
//     lake has no marker, a new id that it writes into the lake's marker
//     first; a lake with another state's marker is refused unless join
//     (a new state there would write every row again);
//   - a state that wrote a lake must find its id in the lake's marker: a
//     lake without it was deleted or is another one, and every blob the
//     state already read would be skipped; that is refused, naming
//     --reset-state.
//
// Writers starting together settle on one id by compare-and-set.
func (c lakeCheck) check(ctx context.Context, off *workers.Offsets, l markedLake, log *slog.Logger) error {
	for {
		mark, rev, err := off.Lake(ctx)
		if err != nil {
			return err
		}
		found, err := readMarker(ctx, l)
		if err != nil {
			return err
		}
		switch {
		case mark.Marked && found == mark.ID:
			return nil
		case mark.Marked:
			return c.gone(mark.ID, found)
		case found != "" && found != mark.ID && !c.join:
			// A state that has written no lake meets another state's lake.
			return fmt.Errorf("%w: %s was written with another JetStream state (lake id %s), not the one of the %s: "+
				"this state has not read the blobs that state read, so it would write their rows again; "+
				"use the data dir that wrote the lake, point --lake at a new folder, or pass --join-lake to write into it anyway (a second export into one lake)",
				errStateMismatch, c.lake, found, c.state)
		case found != "":
			// The lake's id, when joining or when a first start stopped
			// after writing the marker.
			ok, err := off.SetLake(ctx, workers.LakeMark{ID: found, Marked: true}, rev)
			if err != nil || ok {
				if ok && found != mark.ID {
					log.Info("writing into an existing lake", "lake", c.lake, "lake_id", found)
				}
				return err
			}
		default:
			// No marker: a new lake (or one written before markers). The
			// id goes into the state first, then into the lake.
			id := mark.ID
			if id == "" {
				id = newLakeID()
				ok, err := off.SetLake(ctx, workers.LakeMark{ID: id}, rev)
				if err != nil {
					return err
				}
				if !ok {
					continue // another writer is marking the lake
				}
				rev = 0 // read it again below
			}
			if err := writeMarker(ctx, l, id); err != nil {
				return err
			}
			if rev == 0 {
				if _, rev, err = off.Lake(ctx); err != nil {
					return err
				}
			}
			ok, err := off.SetLake(ctx, workers.LakeMark{ID: id, Marked: true}, rev)
			if err != nil || ok {
				return err
			}
		}
		// Another writer changed the mark meanwhile: look again.
	}
}

// gone is the error of a state whose lake does not hold its id.
func (c lakeCheck) gone(id, found string) error {
	what := fmt.Sprintf("%s has no %s", c.lake, lakeMarker)
	if found != "" {
		what = fmt.Sprintf("%s/%s names lake %s", c.lake, lakeMarker, found)
	}
	return fmt.Errorf("%w: the JetStream state of the %s belongs to lake %s, but %s: the lake was deleted or moved, or --lake names another one, "+
		"and the blobs this state already read would not be written again; point --lake at the lake this state wrote, "+
		"or start over with --reset-state (it deletes the queues and the record of what was read; stop every other stage first)",
		errStateMismatch, c.state, id, what)
}

// readMarker returns the lake id in l's marker ("" when there is none).
func readMarker(ctx context.Context, l markedLake) (string, error) {
	data, err := l.ReadFile(ctx, lakeMarker)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read the lake's %s: %w", lakeMarker, err)
	}
	var m marker
	if err := json.Unmarshal(data, &m); err != nil || m.LakeID == "" {
		return "", fmt.Errorf("the lake's %s is not an entralake lake marker (%d bytes): move it away", lakeMarker, len(data))
	}
	return m.LakeID, nil
}

// writeMarker writes the marker naming lake id into l, atomically.
func writeMarker(ctx context.Context, l markedLake, id string) error {
	data, err := json.MarshalIndent(marker{LakeID: id, Created: time.Now().UTC().Truncate(time.Second), Note: markerNote}, "", "  ")
	if err != nil {
		return err
	}
	f, err := l.Create(ctx, lakeMarker)
	if err != nil {
		return fmt.Errorf("write the lake's %s: %w", lakeMarker, err)
	}
	if _, err := f.Write(append(data, '\n')); err != nil {
		f.Abort()
		return fmt.Errorf("write the lake's %s: %w", lakeMarker, err)
	}
	if err := f.Commit(ctx); err != nil {
		return fmt.Errorf("write the lake's %s: %w", lakeMarker, err)
	}
	return nil
}

// newLakeID returns a random id (128 bits).
func newLakeID() string { return strings.ToLower(rand.Text()) }
