// Package schema is the shared vocabulary of entralake: the log types it
// ingests, their fields, and the Arrow schemas of the lake tables they fill;
// and what the rooms of the code say to each other: the blobs a source
// lists (Blob, ContainerPrefix), the tasks and batch headers of the work
// streams (Task, the Header constants), the state kept of each blob
// (BlobState), and the message a stage handles (Message) or publishes
// (Outgoing), which workers adapts to JetStream. It imports no other
// package of the module.
//
// A log type is described by a YAML file in Panther's schema format, embedded
// from logtypes/*.yml; adding a log type means adding a file there: the
// commands take its name with --log-type (default Azure.Audit), the parser
// reads its records into rows of its tables (stages/parser's
// TestSecondLogType parses a small log type that shares no field with
// Azure.Audit), and the writer, compact, ddl and status follow its table
// names. The only one today is Azure.Audit, Microsoft Entra ID (Azure AD)
// audit and sign-in logs exported by a diagnostic setting to Blob storage:
//
//	lt, err := schema.Load("Azure.Audit")
//	if err != nil {
//		return err
//	}
//	s := lt.ArrowSchema() // the data fields, then the p_ columns
//
// Each log type fills two tables: [LogType.Table] holds one row per record,
// with the fields of [LogType.ArrowSchema]; [LogType.QuarantineTable] holds the
// records that could not become rows, with the columns of [QuarantineSchema].
//
// # Types
//
// A field's type is one of [TypeString], [TypeBigint], [TypeFloat],
// [TypeBoolean], [TypeTimestamp], [TypeJSON] (any JSON value, stored as its
// JSON text), [TypeObject] (a struct of Field.Fields) or [TypeArray] (a list of
// Field.Element). [Field.ArrowType] gives the Arrow type of each; every column
// is nullable, timestamps are microseconds in UTC, and the child of a list is
// named "element" so that Parquet writers produce the standard three-level
// LIST that Spark, Trino and Athena read.
//
// # What a log type's file does not choose
//
// These hold for every log type, whatever its file says:
//
//   - every table has the same p_ columns (below);
//   - export blobs are read from the containers Azure diagnostic settings
//     write, insights-logs-<category> (ContainerPrefix), and a row's
//     category partition is its top-level "category" string, else the
//     container's category (ContainerCategory);
//   - a timestamp field's timeFormats are checked and described, but they
//     do not choose how the parser reads it: every timestamp string is read
//     as RFC 3339 (any number of fraction digits, Z or an offset, a space
//     for the T) or as M/D/YYYY h:mm:ss AM/PM, and a JSON number as a Unix
//     time (its unit guessed by magnitude, .NET ticks recognised, as
//     unix_auto) where the field lists any unix format;
//   - only the ip, username and trace_id indicators fill columns
//     (p_any_ip_addresses, p_any_usernames, p_any_trace_ids); the others
//     are accepted and describe the field;
//   - the Parquet tuning (ParquetProperties: the near-unique columns that
//     skip dictionaries) names Azure.Audit's columns; another log type's
//     columns all get dictionaries.
//
// # Standard columns
//
// After the data fields, every row carries Panther's standard p_ columns
// ([ColLogType] and the other Col constants). Field names starting with "p_"
// are therefore reserved.
//
// # Errors
//
// [Parse] rejects a schema that does not decode strictly (an unknown key is an
// error) or does not validate; the error wraps [ErrInvalidSchema] and names
// each offending field by its dotted path, for example
// "properties.targetResources: array without element". [Load] returns an
// error wrapping [ErrUnknownLogType], listing the known names, when no
// embedded log type has the requested name.
package schema
