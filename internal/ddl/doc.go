// Package ddl prints the statements that register an entralake lake as
// tables in an analytics engine: DuckDB, Trino (Hive connector), Amazon
// Athena, Apache Spark and Snowflake. It is pure: from a [schema.LogType]
// and [Options] it returns text, and it never touches the lake.
//
// Every engine gets two tables, the log type's table (e.g. azure_audit) and
// its quarantine table (azure_audit_quarantine), with the exact column types
// of the Parquet files the writer produces, nested types included, and the
// hive partition columns of the lake layout:
//
//	<lake>/azure_audit/category=<c>/date=<YYYY-MM-DD>/hour=<HH>/part-*.parquet
//	<lake>/azure_audit_quarantine/date=<YYYY-MM-DD>/part-*.parquet
//
// or, for a lake partitioned by day (Options.Partitioning), without the
// hour=<HH> folder and the hour column.
//
// # Partition columns
//
// category is VARCHAR, date is DATE and hour is INTEGER in every engine. A
// typed date lets range predicates (date BETWEEN DATE '2025-04-01' AND DATE
// '2025-04-30') prune partitions in each engine, and the folder text
// (2025-04-11, 06) parses as DATE and INTEGER in all five. The Parquet files
// hold a column named category as well; a table cannot have a data column
// and a partition column of one name, so the tables expose the partition's
// value, which is the record's category (or the container's when the record
// has none).
//
// # Identifiers
//
// A name is quoted when the engine needs it: when it is not a plain
// lower-case identifier (Level, _billedSize, __UDI_RequiredFields_EventTime)
// or when it is one of the engine's keywords (time, type, location, result,
// user, date, hour ...). Athena's DDL quotes every name with backticks, as
// its Hive grammar reserves many words. Snowflake keeps the names unquoted
// where it may, so that they stay case-insensitive as in the other engines.
//
// # Iceberg tables
//
// [GenerateIceberg] prints what attaches a lake's Iceberg tables (which
// internal/cli reads from their catalog: locations, current metadata
// files) in each engine, per kind of catalog: the file catalog in the
// lake, an SQL catalog, a REST catalog. It refuses an engine that cannot
// read the lake where it is (Athena: S3 only; Snowflake: cloud storage).
//
// # Errors
//
// [Generate] returns an error wrapping [ErrUnknownEngine] for an engine it
// does not know, and one wrapping [ErrInvalidOption] for a lake location or
// table name the engine cannot use.
package ddl
