package schema

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// Task is one unit of parse work: the byte range [Start, End) of one blob.
// The lister publishes it; a parser reads exactly that range. Its JSON form
// is the body of a message on the task stream.
type Task struct {
	// SourceID and SourceLabel name the configured source (p_source_id, p_source_label).
	SourceID    string `json:"source_id"`
	SourceLabel string `json:"source_label,omitempty"`
	// Container and Blob locate the blob inside the source.
	Container string `json:"container"`
	Blob      string `json:"blob"`
	// ETag and Size describe the blob as it was when listed.
	ETag string `json:"etag,omitempty"`
	Size int64  `json:"size"`
	// Start and End bound the bytes of this task. A parser consumes the lines
	// that end (with a newline) inside the range; a line that starts before
	// Start is read back to its beginning.
	Start int64 `json:"start"`
	End   int64 `json:"end"`
	// Final says the blob will not grow any more: a last line without a
	// newline is parsed instead of being left to the next task.
	Final bool `json:"final,omitempty"`
	// SplitStart and SplitEnd mark a cut the lister made inside a blob to
	// share it between parsers (Start, End). A parser moves a cut at
	// position s to the first record boundary at or after s, before the
	// blob's listed Size: the start of a line whose first non-blank byte
	// is '{' or '[', where the last non-blank byte before it is '}' or ']'.
	// Valid JSON text can only have that between two top-level values.
	// Without one up to Size, the cut moves to Size (to the start of the
	// last line while the blob may grow); when the maximum record size
	// passes without one, back to the start of its line. Both tasks around
	// a cut find the same position from the same bytes, so they share the
	// records exactly. A task ending at a cut reads up to the moved
	// position and parses its end as final.
	SplitStart bool `json:"split_start,omitempty"`
	SplitEnd   bool `json:"split_end,omitempty"`
}

// ID is the task's stable identity: the same blob, etag and range always give
// the same ID. It is the Nats-Msg-Id of the task message.
func (t Task) ID() string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%d\x00%d\x00%t", t.Container, t.Blob, t.ETag, t.Start, t.End, t.Final)
	if t.SplitStart || t.SplitEnd {
		fmt.Fprintf(h, "\x00%t\x00%t", t.SplitStart, t.SplitEnd)
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// Path is the blob's full name, container/blob, as stored in p_source_file.
func (t Task) Path() string { return t.Container + "/" + t.Blob }

// Partitioning is how the folders of a log type's table split time.
type Partitioning string

const (
	// PartitionHour: category=<c>/date=<YYYY-MM-DD>/hour=<HH> (the default).
	PartitionHour Partitioning = "hour"
	// PartitionDay: category=<c>/date=<YYYY-MM-DD>, for small tenants,
	// whose hourly files would be tiny.
	PartitionDay Partitioning = "day"
)

// Headers of a batch message (parser -> writer). The body is an Arrow IPC
// stream of one record batch.
const (
	// HeaderTable names the lake table: a log type's table or its quarantine table.
	HeaderTable = "Entralake-Table"
	// HeaderPartition is the hive partition path inside the table, e.g.
	// "category=SignInLogs/date=2025-04-11/hour=16" (PartitionHour) or
	// "category=SignInLogs/date=2025-04-11" (PartitionDay). Values are
	// escaped.
	HeaderPartition = "Entralake-Partition"
	// HeaderBatch is the batch's stable id (task id, chunk, partition).
	HeaderBatch = "Entralake-Batch"
	// HeaderTask is the id of the task that produced the batch.
	HeaderTask = "Entralake-Task"
	// HeaderRows is the number of rows in the batch.
	HeaderRows = "Entralake-Rows"
	// HeaderLast is set on the batches of a task's last chunk: the task
	// adds nothing more to their partitions.
	HeaderLast = "Entralake-Last"
	// HeaderSeq numbers the messages a task sends to one table partition
	// (1, 2, ...) in the order it sends them. On a message with HeaderLast
	// it tells the writer how many of the task's messages to wait for
	// before closing the partition's file.
	HeaderSeq = "Entralake-Seq"
)
