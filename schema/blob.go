package schema

import (
	"strconv"
	"strings"
	"time"
)

// BlobState is what the lister remembers about one source blob.
type BlobState struct {
	Container string `json:"container"`
	Blob      string `json:"blob"`
	ETag      string `json:"etag,omitempty"`
	// Published is the end of the last range published as a task.
	Published int64 `json:"published"`
	// Committed is how far the blob is consumed with its rows in the lake:
	// it advances only when every batch of a task is in a lake file, and
	// stops at the last complete line.
	Committed int64 `json:"committed"`
	// Final is set once a task with Final was published for the blob.
	Final bool `json:"final,omitempty"`
}

// TaskDone is what a parser records about a finished task: how far it
// consumed the blob and which batches carry its rows.
type TaskDone struct {
	Container string   `json:"container"`
	Blob      string   `json:"blob"`
	Start     int64    `json:"start"`
	Consumed  int64    `json:"consumed"`
	Batches   []string `json:"batches"`
}

// BlobHour returns the hour an export blob covers, from the y=/m=/d=/h=
// segments of its path (the m=00 after h= is the minute and is ignored).
func BlobHour(blob string) (time.Time, bool) {
	var y, mo, d, h = -1, -1, -1, -1
	for _, seg := range strings.Split(blob, "/") {
		k, v, ok := strings.Cut(seg, "=")
		if !ok {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			continue
		}
		switch {
		case k == "y":
			y = n
		case k == "m" && mo < 0:
			mo = n
		case k == "d":
			d = n
		case k == "h":
			h = n
		}
	}
	if y < 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 {
		return time.Time{}, false
	}
	return time.Date(y, time.Month(mo), d, h, 0, 0, 0, time.UTC), true
}
