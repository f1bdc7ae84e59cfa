package schema

import "github.com/apache/arrow-go/v18/arrow"

// Standard columns, appended to every log type's data fields by ArrowSchema.
const (
	// ColLogType is the log type's name, e.g. "Azure.Audit" (utf8).
	ColLogType = "p_log_type"
	// ColEventTime is the value of the event time field (timestamp[us, tz=UTC]).
	ColEventTime = "p_event_time"
	// ColParseTime is when the row was parsed (timestamp[us, tz=UTC]).
	ColParseTime = "p_parse_time"
	// ColRowID is a stable id of the source record: the same record gives
	// the same id on every run, so replays can be de-duplicated (utf8).
	ColRowID = "p_row_id"
	// ColSourceID is the id of the configured source (utf8).
	ColSourceID = "p_source_id"
	// ColSourceLabel is the label of the configured source (utf8).
	ColSourceLabel = "p_source_label"
	// ColSourceFile locates the record in its blob (SourceFileType).
	ColSourceFile = "p_source_file"
	// ColAnyIPAddresses lists the IP addresses found in the fields with the
	// ip indicator, sorted and de-duplicated (list<element: utf8>).
	ColAnyIPAddresses = "p_any_ip_addresses"
	// ColAnyUsernames lists the values of the fields with the username
	// indicator, sorted and de-duplicated (list<element: utf8>).
	ColAnyUsernames = "p_any_usernames"
	// ColAnyTraceIDs lists the values of the fields with the trace_id
	// indicator, sorted and de-duplicated (list<element: utf8>).
	ColAnyTraceIDs = "p_any_trace_ids"
	// ColExtra is a JSON object of everything in the record that did not fit
	// the schema (unknown keys, values that do not convert to the field's
	// type), keyed by dotted path; null when there is nothing (utf8).
	ColExtra = "p_extra"
)

// Columns of the quarantine table besides the standard ones.
const (
	// ColReason says why the record is not a row (utf8).
	ColReason = "reason"
	// ColRaw is the raw bytes of the record, kept as they were even when not
	// valid UTF-8; it may be a prefix of the record (binary).
	ColRaw = "raw"
	// ColRawSize is the size in bytes of the whole raw record, which tells
	// whether ColRaw was truncated (int64).
	ColRawSize = "raw_size"
)

// SourceFileType is the Arrow type of ColSourceFile:
//
//	struct<blob: utf8, offset: int64, index: int64>
//
// blob is "container/blob path"; offset is the byte offset of the line or
// document in the blob; index is the position of the record inside a
// {"records": [...]} wrapper or a top-level array, else 0.
var SourceFileType = arrow.StructOf(
	arrow.Field{Name: "blob", Type: arrow.BinaryTypes.String, Nullable: true},
	arrow.Field{Name: "offset", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	arrow.Field{Name: "index", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
)

// standardColumns are the p_ columns of a log type's table, in order.
func standardColumns() []arrow.Field {
	strs := listOf(arrow.BinaryTypes.String)
	return []arrow.Field{
		{Name: ColLogType, Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: ColEventTime, Type: timestampType, Nullable: true},
		{Name: ColParseTime, Type: timestampType, Nullable: true},
		{Name: ColRowID, Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: ColSourceID, Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: ColSourceLabel, Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: ColSourceFile, Type: SourceFileType, Nullable: true},
		{Name: ColAnyIPAddresses, Type: strs, Nullable: true},
		{Name: ColAnyUsernames, Type: strs, Nullable: true},
		{Name: ColAnyTraceIDs, Type: strs, Nullable: true},
		{Name: ColExtra, Type: arrow.BinaryTypes.String, Nullable: true},
	}
}

// ArrowSchema returns the Arrow schema of the log type's table: its
// top-level fields in order, each named exactly as in the schema, then the
// standard p_ columns (ColLogType ... ColExtra). All columns are nullable.
// It builds a new schema on every call.
func (lt *LogType) ArrowSchema() *arrow.Schema {
	return arrow.NewSchema(append(arrowFields(lt.Fields), standardColumns()...), nil)
}

// QuarantineSchema returns the Arrow schema of a quarantine table: p_log_type,
// p_row_id, p_parse_time, p_source_id, p_source_label, p_source_file,
// reason, raw and raw_size. All columns are nullable.
func QuarantineSchema() *arrow.Schema {
	return arrow.NewSchema([]arrow.Field{
		{Name: ColLogType, Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: ColRowID, Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: ColParseTime, Type: timestampType, Nullable: true},
		{Name: ColSourceID, Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: ColSourceLabel, Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: ColSourceFile, Type: SourceFileType, Nullable: true},
		{Name: ColReason, Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: ColRaw, Type: arrow.BinaryTypes.Binary, Nullable: true},
		{Name: ColRawSize, Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	}, nil)
}
