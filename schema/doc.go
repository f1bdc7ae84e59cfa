// Package schema is the shared vocabulary of entralake: the log types it
// ingests, their fields, and the Arrow schemas of the lake tables they fill.
//
// A log type is described by a YAML file in Panther's schema format, embedded
// from logtypes/*.yml; adding a log type means adding a file there. The only
// one today is Azure.Audit, Microsoft Entra ID (Azure AD) audit and sign-in
// logs exported by a diagnostic setting to Blob storage:
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
