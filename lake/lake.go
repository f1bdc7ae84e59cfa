package lake

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
)

// File is a lake file being written: what a driver's Create returns.
type File interface {
	io.Writer
	// Commit makes the file visible, whole, under its name.
	Commit(ctx context.Context) error
	// Abort discards it.
	Abort() error
}

// ErrUnsafePath reports a lake path that is not clean and relative: it
// could name a place outside the lake.
var ErrUnsafePath = errors.New("unsafe lake path")

// CheckPath accepts rel, a path inside the lake, only when it is
// slash-separated, relative and clean: not empty, no leading "/", no "\",
// no "." or ".." segment, no empty segment. The error wraps ErrUnsafePath.
func CheckPath(rel string) error {
	if rel == "" || strings.HasPrefix(rel, "/") || strings.Contains(rel, "\\") || path.Clean(rel) != rel ||
		rel == ".." || strings.HasPrefix(rel, "../") {
		return fmt.Errorf("%w: %q", ErrUnsafePath, rel)
	}
	return nil
}

// MetaBatches is the Parquet key-value metadata key that lists, comma
// separated, the ids of the batches a lake file holds. The writer sets
// it; compaction gives a merged file the union of its inputs' lists, and
// points the ledger at the merged file.
const MetaBatches = "entralake.batches"

// FileName names a lake file after what it holds: the ids of its batches
// (the writer's files; compaction's merged files), or for a merged file
// without batch ids the names of its inputs. The same names, in any
// order, give the same file name, so a file written again after a crash
// replaces itself rather than doubling its rows.
func FileName(names []string) string {
	s := slices.Clone(names)
	slices.Sort(s)
	h := sha256.New()
	for _, n := range s {
		h.Write([]byte(n))
		h.Write([]byte{0})
	}
	return "part-" + hex.EncodeToString(h.Sum(nil)[:12]) + ".parquet"
}
