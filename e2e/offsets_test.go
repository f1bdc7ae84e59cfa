package e2e

import (
	"encoding/json"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// TestOffsetsCommitted checks that after run --once every blob's committed
// offset (advanced only when the rows of a range are in the lake) has
// reached its end: the committed bytes equal the export's bytes.
func TestOffsetsCommitted(t *testing.T) {
	dir := t.TempDir()
	src := absPath(t, "../testdata/export")
	runOnce(t, src, filepath.Join(dir, "lake"), filepath.Join(dir, "data"))
	checkCommitted(t, src, filepath.Join(dir, "data"))
}

// checkCommitted checks with `entralake status` that every blob of the
// export src is published and committed to its last byte.
func checkCommitted(t *testing.T, src, dataDir string) {
	t.Helper()
	out, _ := runEntralake(t, "status", "--data-dir", dataDir, "--json")
	var st struct {
		Offsets struct {
			Blobs          int   `json:"blobs"`
			PublishedBytes int64 `json:"published_bytes"`
			CommittedBytes int64 `json:"committed_bytes"`
		} `json:"offsets"`
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("status --json: %v\n%s", err, out)
	}
	var blobs int
	var size int64
	_ = filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".json") && strings.Contains(p, "insights-logs-") {
			info, _ := d.Info()
			blobs++
			size += info.Size()
		}
		return nil
	})
	if st.Offsets.Blobs != blobs || st.Offsets.PublishedBytes != size || st.Offsets.CommittedBytes != size {
		t.Fatalf("offsets %+v, want %d blobs with %d bytes published and committed", st.Offsets, blobs, size)
	}
}
