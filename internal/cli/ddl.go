package cli

import (
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/entralake/entralake/internal/ddl"
	"github.com/entralake/entralake/internal/location"
	"github.com/entralake/entralake/schema"
)

// DdlCmd prints the statements that register the lake in an engine.
type DdlCmd struct {
	LogTypeFlags  `embed:""`
	TableFlags    `embed:""`
	Engine        string `help:"Engine: duckdb, trino, athena, spark or snowflake." required:"" enum:"duckdb,trino,athena,spark,snowflake" placeholder:"ENGINE"`
	Lake          string `help:"Where the engine reads the lake: a folder or URL for duckdb, a URL for trino and spark (a folder becomes file:///...), s3:// for athena, @stage[/path] for snowflake. The writer's --lake URL works as it is: an s3:// or gs:// URL loses its query (?region=, ?endpoint=). With --table-format iceberg: the writers' --lake, whose tables ddl opens." default:"lake"`
	Partition     string `help:"The lake's folders, as the parsers' --partition: hour (category=/date=/hour=) or day (category=/date=)." default:"hour" enum:"hour,day"`
	SnapshotFiles bool   `help:"Iceberg mode, DuckDB: views over exactly the files of the current snapshots, read with read_parquet, for a DuckDB that cannot load its iceberg extension (offline). They do not see later commits: run ddl again."`
	Table         string `help:"Name of the main table, optionally schema.name or catalog.schema.name; the quarantine table gets the suffix _quarantine (default: the log type's table, azure_audit for Azure.Audit)." placeholder:"NAME"`
}

// Help is shown by `entralake ddl --help`.
func (*DdlCmd) Help() string {
	return `Prints the SQL that registers the lake's two tables (azure_audit and
azure_audit_quarantine) with their exact column types and hive partitions
(category, date, hour; no hour with --partition day) in one engine. Nothing
is run: pipe it to the engine.

Examples:
  entralake ddl --engine duckdb --lake ./lake | duckdb lake.db
  entralake ddl --engine trino --lake s3://bucket/entra/lake --table hive.logs.entra
  entralake ddl --engine athena --lake s3://bucket/entra/lake
  entralake ddl --engine athena --lake s3://bucket/entra/lake --partition day
  entralake ddl --engine spark --lake s3a://bucket/entra/lake
  entralake ddl --engine snowflake --lake @entra_stage

With --table-format iceberg, --lake is the lake as the writers' --lake (a
folder or an Azure URL, with --catalog as theirs): ddl opens its tables and
prints how each engine attaches them (DuckDB iceberg_scan or ATTACH, Trino's
Iceberg connector, a Spark catalog, Athena over Glue, Snowflake CREATE
ICEBERG TABLE), with the engine's catalog settings in comments:
  entralake ddl --table-format iceberg --engine duckdb --lake ./lake | duckdb
  entralake ddl --table-format iceberg --engine spark --lake ./lake`
}

// Run implements the command.
func (c *DdlCmd) Run(env *Env) error {
	lt, err := c.logType()
	if err != nil {
		return err
	}
	if c.iceberg() {
		return c.runIceberg(env, lt)
	}
	lake, err := ddlLake(ddl.Engine(c.Engine), c.Lake)
	if err != nil {
		return err
	}
	out, err := ddl.Generate(lt, ddl.Engine(c.Engine), ddl.Options{Lake: lake, Table: c.Table, Partitioning: schema.Partitioning(c.Partition)})
	if err != nil {
		return err
	}
	_, err = io.WriteString(env.Stdout, out)
	return err
}

// ddlLake turns a local folder into what the engine reads: an absolute path
// for DuckDB (the DDL may run elsewhere than here), a file:// URL for Spark
// and Trino. The writer's s3:// and gs:// lake URLs lose their query
// (region, endpoint: the writer's, not the engine's): s3://bucket/folder;
// gocloud's azblob:// becomes the Azure URL it names. Other URLs (any scheme: the engine reads the lake, with its own file
// systems) and stages are kept as they are.
func ddlLake(e ddl.Engine, lake string) (string, error) {
	if s := location.Scheme(lake); s == "s3" || s == "gs" || s == "azblob" {
		loc, err := location.Parse(location.Lake, lake)
		if err != nil {
			return "", &flagError{flag: "lake", problem: err.Error()}
		}
		return strings.TrimSuffix(loc.String(), "/"), nil
	}
	if location.Scheme(lake) != "" || strings.HasPrefix(lake, "@") {
		return lake, nil
	}
	switch e {
	case ddl.DuckDB, ddl.Spark, ddl.Trino:
		abs, err := filepath.Abs(lake)
		if err != nil {
			return "", fmt.Errorf("--lake: %w", err)
		}
		if e == ddl.DuckDB {
			return filepath.ToSlash(abs), nil
		}
		return (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}).String(), nil
	}
	return lake, nil
}

// runIceberg prints what attaches the lake's Iceberg tables.
func (c *DdlCmd) runIceberg(env *Env, lt *schema.LogType) error {
	l, err := openIceberg(env.Ctx, c.Lake, c.TableFlags, lt, 0, nil)
	if err != nil {
		return err
	}
	defer l.Close()
	opt, err := icebergDDL(env.Ctx, l, c.TableFlags, c.SnapshotFiles)
	if err != nil {
		return err
	}
	out, err := ddl.GenerateIceberg(ddl.Engine(c.Engine), opt)
	if err != nil {
		return err
	}
	_, err = io.WriteString(env.Stdout, out)
	return err
}
