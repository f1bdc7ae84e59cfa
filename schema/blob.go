package schema

import (
	"strconv"
	"strings"
	"time"
)

// ContainerPrefix starts the name of every container that Azure diagnostic
// settings export logs to: insights-logs-<category>. Sources list the
// containers with it; the parser takes a record's category from the
// container's name when the record has none.
const ContainerPrefix = "insights-logs-"

// ContainerCategory returns the category of an export container: its name
// without ContainerPrefix, or the whole name when it lacks the prefix.
func ContainerCategory(container string) string {
	if c, ok := strings.CutPrefix(container, ContainerPrefix); ok && c != "" {
		return c
	}
	return container
}

// Blob is one blob as a source lists it.
type Blob struct {
	Container string
	Name      string
	Size      int64
	ETag      string
	ModTime   time.Time
}

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
	// Settled is the end of the last range whose task is settled: its
	// rows are in the lake. When it reaches Published on a blob that is
	// not Final, the bytes from Committed to Published are an unfinished
	// last line that waits for the rest of it (or for the blob to be
	// final).
	Settled int64 `json:"settled,omitempty"`
	// ModTime is the blob's last change as listed when Published last
	// moved: a listing older than that (another lister's, made before
	// the blob grew) is not taken for a blob that shrank.
	ModTime time.Time `json:"mod_time,omitzero"`
	// Final is set once a task with Final was published for the blob.
	Final bool `json:"final,omitempty"`
	// Claim is a range a lister is publishing: it is stored before the
	// tasks are published and cleared, with Published moved to its end,
	// after. A lister that finds a claim publishes it again (the same
	// task ids, dropped as duplicates) and completes it, so a range is
	// published by one claim only, even by two listers at once or after
	// a crash between the two writes.
	Claim *Claim `json:"claim,omitempty"`
}

// Claim is the range of a blob a lister is publishing, with what it takes
// to publish the very same tasks again.
type Claim struct {
	ETag    string    `json:"etag,omitempty"`
	ModTime time.Time `json:"mod_time,omitzero"`
	Size    int64     `json:"size"`
	Start   int64     `json:"start"`
	End     int64     `json:"end"`
	Final   bool      `json:"final,omitempty"`
	// TaskSize is the lister's task size (schema.Task split points).
	TaskSize int64 `json:"task_size,omitempty"`
}

// Equal reports whether c and o claim the same range in the same way.
func (c Claim) Equal(o Claim) bool {
	return c.ETag == o.ETag && c.ModTime.Equal(o.ModTime) && c.Size == o.Size && c.Start == o.Start &&
		c.End == o.End && c.Final == o.Final && c.TaskSize == o.TaskSize
}

// Waiting returns the bytes at the end of the blob that wait for more:
// every published range is settled, the blob is not final, and its last
// line is unfinished.
func (b BlobState) Waiting() int64 {
	if b.Final || b.Claim != nil || b.Settled < b.Published {
		return 0
	}
	return max(b.Published-b.Committed, 0)
}

// TaskDone is what a parser records about a finished task: how far it
// consumed the blob and which batches carry its rows.
type TaskDone struct {
	Container string `json:"container"`
	Blob      string `json:"blob"`
	Start     int64  `json:"start"`
	Consumed  int64  `json:"consumed"`
	// End is the end of the task's range as published (schema.Task.End).
	End     int64    `json:"end,omitempty"`
	Batches []string `json:"batches"`
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
