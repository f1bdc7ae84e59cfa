// Package parser turns the bytes of an Entra ID export blob, or of a byte
// range of it, into Arrow record batches of a log type's rows, plus a batch
// of quarantined records.
//
// It reads JSON tokens with jsontext and appends them straight to the
// Arrow builders of the schema (no map[string]any, no per-record struct):
// JSON Lines with LF or CRLF, a last line without newline (when the task is
// Final), blank lines, a UTF-8 BOM, {"records":[...]} wrappers on one line
// or pretty-printed, top-level arrays, and single records over many lines.
// Values are converted only without loss; what does not fit goes, as JSON,
// to the p_extra column. p_row_id is a hash of container/blob followed
// by the byte offset of the line and the index in a wrapper: the same
// record always has the same id.
//
// A Parser is pure: bytes in, batches out. Handler adds the I/O around it
// for the worker pool: it takes a task message (a schema.Message, which
// workers adapts from JetStream), reads the task's range from a
// BlobReader (going back to the start of a line the previous range left
// unfinished), sends the batches to an Output, and records the finished
// task. Stream is the Output of the split topology: it publishes each
// batch as Arrow IPC through a Publisher (workers.Publisher) for the
// writers; Direct is the Output of a process that also writes (the fused
// topology): it hands each batch to a function in memory, with the id and
// headers Stream would give it. The package imports no NATS package.
//
// # Errors
//
// Bad input is never an error: a line that is not JSON, is truncated, is
// longer than MaxRecordSize, is not an object, or lacks a usable time,
// operationName or resourceId is quarantined with its raw bytes and a Reason:
// a ReasonKind (the metric label, one of ReasonKinds) and the text of the
// reason column. Parse returns an error only when
// reading the input or emitting a batch fails; the task is then retried. A
// task message that cannot be decoded is a permanent error (Permanent()).
//
// # Metrics
//
// Handler.Totals counts tasks, records, rows, quarantined records, values
// kept in p_extra, bytes and batches; QuarantinedByReason counts quarantined
// records by kind. internal/cli exports them as OpenTelemetry counters.
package parser
