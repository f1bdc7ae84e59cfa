package schema

import "github.com/apache/arrow-go/v18/arrow"

// EmptySuffix ends the name of the folder beside each table that holds
// the table's empty files: Parquet files with the table's columns and no
// row, one per partition layout, in a partition that holds no data
// (1970-01-01). DuckDB refuses a glob that matches no file, so a view over
// a table without files (the quarantine table of a clean lake, or both
// tables of a lake without rows) could not be created; its views read
// <table>*/... instead, which always matches an empty file. Engines that
// read a table's own folder (Trino, Spark, Athena, Snowflake) never see
// them, nor do status and compact.
const EmptySuffix = ".empty"

// EmptyFile is one empty file of a table: where it lies in the lake and
// its columns.
type EmptyFile struct {
	Rel    string // slash-separated path inside the lake
	Schema *arrow.Schema
}

// EmptyFiles returns the empty files of lt's two tables: the main table's
// for both partitionings (hour and day), and the quarantine table's.
func EmptyFiles(lt *LogType) []EmptyFile {
	main, q := lt.Table()+EmptySuffix, lt.QuarantineTable()+EmptySuffix
	const part = "category=none/date=1970-01-01"
	return []EmptyFile{
		{Rel: main + "/" + part + "/hour=00/empty.parquet", Schema: lt.ArrowSchema()},
		{Rel: main + "/" + part + "/empty.parquet", Schema: lt.ArrowSchema()},
		{Rel: q + "/date=1970-01-01/empty.parquet", Schema: QuarantineSchema()},
	}
}
