package ddl

import (
	"fmt"
	"net/url"
	"path"
	"strings"
)

// IcebergTable is one Iceberg table of the lake as its catalog holds it.
type IcebergTable struct {
	// Name is the table's name in its namespace (azure_audit).
	Name string
	// Location is its folder as its metadata names it: an absolute path,
	// or a URL (abfss://<container>@<account>.dfs.core.windows.net/...,
	// s3://...).
	Location string
	// Metadata is the location of its current metadata file.
	Metadata string
	// Files are the data files of its current snapshot (for
	// IcebergOptions.SnapshotFiles).
	Files []string
}

// IcebergOptions say which Iceberg tables to attach and through which
// catalog.
type IcebergOptions struct {
	// Tables are the main table, then the quarantine table.
	Tables []IcebergTable
	// Catalog is entralake's --catalog: "" for the file catalog in the
	// lake, "sqlite:PATH", "postgres://...", or a REST catalog's URL.
	Catalog string
	// Namespace is the tables' namespace (the lake folder's name by
	// default); Warehouse the file catalog's warehouse (the lake's
	// parent folder) or a REST catalog's warehouse.
	Namespace, Warehouse string
	// SnapshotFiles makes DuckDB's views read exactly the current
	// snapshot's files (Tables[i].Files) with read_parquet, without the
	// iceberg extension: for a DuckDB that cannot load it (offline). They
	// do not see later commits.
	SnapshotFiles bool
}

// catalogKind is what kind of catalog IcebergOptions.Catalog names.
func (o IcebergOptions) catalogKind() string {
	switch c := o.Catalog; {
	case c == "" || c == "file":
		return "file"
	case strings.HasPrefix(c, "sqlite:"):
		return "sqlite"
	case strings.HasPrefix(c, "postgres://"), strings.HasPrefix(c, "postgresql://"):
		return "postgres"
	default:
		return "rest"
	}
}

// jdbcURL is the JDBC URL of an SQL catalog, without its credentials,
// and the user it names.
func (o IcebergOptions) jdbcURL() (jdbc, user string) {
	if o.catalogKind() == "sqlite" {
		return "jdbc:sqlite:" + strings.TrimPrefix(o.Catalog, "sqlite:"), ""
	}
	u, err := url.Parse(o.Catalog)
	if err != nil {
		return "jdbc:postgresql://<host>:5432/<database>", ""
	}
	user = u.User.Username()
	q := u.Query()
	q.Del("password")
	u.RawQuery = q.Encode()
	return "jdbc:postgresql://" + u.Host + u.Path + strings.TrimSuffix("?"+u.RawQuery, "?"), user
}

// restURL is a REST catalog's URL without query or credentials.
func (o IcebergOptions) restURL() string {
	u, err := url.Parse(o.Catalog)
	if err != nil {
		return o.Catalog
	}
	u.User, u.RawQuery = nil, ""
	return u.String()
}

// GenerateIceberg returns what attaches the lake's Iceberg tables in
// engine e: statements to run and, in comments, the engine's catalog
// settings.
func GenerateIceberg(e Engine, opt IcebergOptions) (string, error) {
	if len(opt.Tables) == 0 {
		return "", fmt.Errorf("ddl %s: %w: no tables", e, ErrInvalidOption)
	}
	gen, ok := icebergEngines[e]
	if !ok {
		return "", fmt.Errorf("ddl: %w %q", ErrUnknownEngine, e)
	}
	var b strings.Builder
	comment(&b, "entralake Iceberg tables for "+string(e)+", written by `entralake ddl --table-format iceberg`.",
		"Catalog: "+catalogTitle(opt))
	for _, t := range opt.Tables {
		comment(&b, fmt.Sprintf("%s: %s", t.Name, t.Location))
	}
	b.WriteString("\n")
	if err := gen(&b, opt); err != nil {
		return "", fmt.Errorf("ddl %s: %w", e, err)
	}
	return b.String(), nil
}

func catalogTitle(o IcebergOptions) string {
	switch o.catalogKind() {
	case "file":
		return "the file (Hadoop) catalog in the lake, warehouse " + o.Warehouse + ", namespace " + o.Namespace
	case "rest":
		return "REST catalog " + o.restURL() + ", namespace " + o.Namespace
	}
	jdbc, _ := o.jdbcURL()
	return "SQL catalog " + jdbc + " (catalog_name entralake), namespace " + o.Namespace
}

var icebergEngines = map[Engine]func(*strings.Builder, IcebergOptions) error{
	DuckDB:    duckdbIceberg,
	Trino:     trinoIceberg,
	Spark:     sparkIceberg,
	Athena:    athenaIceberg,
	Snowflake: snowflakeIceberg,
}

func duckdbIceberg(b *strings.Builder, o IcebergOptions) error {
	q := dialects[DuckDB].quote
	if azure := strings.HasPrefix(o.Tables[0].Location, "abfs"); azure {
		comment(b, "An Azure lake: DuckDB's azure extension reads it, with a secret such as",
			"  CREATE SECRET (TYPE azure, PROVIDER credential_chain, ACCOUNT_NAME '<account>');")
	}
	if o.SnapshotFiles {
		comment(b, "Views over exactly the files of the tables' current snapshots, read with",
			"read_parquet (no iceberg extension needed). They do not see later commits:",
			"run `entralake ddl` again to move them to the new snapshot.")
		b.WriteString("\n")
		for _, t := range o.Tables {
			if len(t.Files) == 0 {
				// No data file yet: an empty view of the right name.
				fmt.Fprintf(b, "-- %s has no data file in its current snapshot.\n", t.Name)
				continue
			}
			files := make([]string, len(t.Files))
			for i, f := range t.Files {
				files[i] = sqlString(f)
			}
			fmt.Fprintf(b, "CREATE OR REPLACE VIEW %s AS SELECT * FROM read_parquet([\n  %s\n], hive_partitioning = false, union_by_name = true);\n",
				q(t.Name), strings.Join(files, ",\n  "))
		}
		return nil
	}
	b.WriteString("INSTALL iceberg;\nLOAD iceberg;\n")
	switch o.catalogKind() {
	case "rest":
		comment(b, "", "The REST catalog, attached with its credentials (a bearer token here; or",
			"CLIENT_ID, CLIENT_SECRET and OAUTH2_SERVER_URI for OAuth2 client credentials).")
		fmt.Fprintf(b, "CREATE OR REPLACE SECRET entralake_catalog (TYPE iceberg, TOKEN '<token>');\n")
		fmt.Fprintf(b, "ATTACH IF NOT EXISTS %s AS entralake (TYPE iceberg, ENDPOINT %s, SECRET entralake_catalog);\n",
			sqlString(o.Warehouse), sqlString(o.restURL()))
		for _, t := range o.Tables {
			fmt.Fprintf(b, "CREATE OR REPLACE VIEW %s AS SELECT * FROM entralake.%s.%s;\n", q(t.Name), q(o.Namespace), q(t.Name))
		}
	case "file":
		comment(b, "", "iceberg_scan reads the table folder's metadata/version-hint.text at each",
			"query, so the views always read the current snapshot.")
		for _, t := range o.Tables {
			fmt.Fprintf(b, "CREATE OR REPLACE VIEW %s AS SELECT * FROM iceberg_scan(%s);\n", q(t.Name), sqlString(t.Location))
		}
	default:
		comment(b, "", "An SQL catalog writes no version-hint.text, and DuckDB cannot read the",
			"catalog's database: the views read the metadata file current now. Run",
			"`entralake ddl` again to see later commits, or use a REST catalog.")
		for _, t := range o.Tables {
			fmt.Fprintf(b, "CREATE OR REPLACE VIEW %s AS SELECT * FROM iceberg_scan(%s);\n", q(t.Name), sqlString(t.Metadata))
		}
	}
	return nil
}

// fileURL spells a local absolute path as a file: URL, and keeps URLs.
func fileURL(loc string) string {
	if strings.HasPrefix(loc, "/") {
		return (&url.URL{Scheme: "file", Path: loc}).String()
	}
	return loc
}

func trinoIceberg(b *strings.Builder, o IcebergOptions) error {
	q := dialects[Trino].quote
	ns := q(o.Namespace)
	props := []string{"etc/catalog/entralake.properties:", "  connector.name=iceberg"}
	switch o.catalogKind() {
	case "file":
		props = append(props, "  iceberg.catalog.type=hive_metastore   # or glue: any metastore Trino writes to",
			"  hive.metastore.uri=thrift://<metastore>:9083",
			"  iceberg.register-table-procedure.enabled=true")
	case "rest":
		props = append(props, "  iceberg.catalog.type=rest", "  iceberg.rest-catalog.uri="+o.restURL(),
			"  iceberg.rest-catalog.warehouse="+o.Warehouse,
			"  iceberg.rest-catalog.security=OAUTH2",
			"  iceberg.rest-catalog.oauth2.token=<token>   # or oauth2.credential=<client_id>:<client_secret>")
	default:
		jdbc, user := o.jdbcURL()
		driver := "org.postgresql.Driver"
		if o.catalogKind() == "sqlite" {
			driver = "org.sqlite.JDBC"
		}
		props = append(props, "  iceberg.catalog.type=jdbc", "  iceberg.jdbc-catalog.catalog-name=entralake",
			"  iceberg.jdbc-catalog.driver-class="+driver,
			"  iceberg.jdbc-catalog.connection-url="+jdbc,
			"  iceberg.jdbc-catalog.connection-user="+user,
			"  iceberg.jdbc-catalog.connection-password=<password>",
			"  iceberg.jdbc-catalog.default-warehouse-dir="+fileURL(path.Dir(o.Tables[0].Location)))
	}
	if strings.HasPrefix(o.Tables[0].Location, "abfs") {
		props = append(props, "  fs.native-azure.enabled=true", "  azure.auth-type=OAUTH   # or ACCESS_KEY")
	} else if strings.HasPrefix(o.Tables[0].Location, "/") {
		props = append(props, "  fs.native-local.enabled=true", "  local.location=/")
	}
	comment(b, props...)
	b.WriteString("\n")
	if o.catalogKind() != "file" {
		comment(b, "The catalog is shared: Trino sees every commit. The tables are:")
		for _, t := range o.Tables {
			fmt.Fprintf(b, "SELECT count(*) FROM entralake.%s.%s;\n", ns, q(t.Name))
		}
		return nil
	}
	comment(b, "The file catalog is not a metastore Trino reads: register each table in",
		"Trino's own. A registered table reads the metadata file it was registered",
		"with; to see later commits, unregister and register it again (e.g. after",
		"each compaction, or hourly), or use a shared catalog (--catalog).")
	fmt.Fprintf(b, "CREATE SCHEMA IF NOT EXISTS entralake.%s;\n", ns)
	for _, t := range o.Tables {
		fmt.Fprintf(b, "-- registered before: CALL entralake.system.unregister_table(schema_name => %s, table_name => %s);\n", sqlString(o.Namespace), sqlString(t.Name))
		fmt.Fprintf(b, "CALL entralake.system.register_table(schema_name => %s, table_name => %s, table_location => %s, metadata_file_name => %s);\n",
			sqlString(o.Namespace), sqlString(t.Name), sqlString(fileURL(t.Location)), sqlString(path.Base(t.Metadata)))
	}
	return nil
}

func sparkIceberg(b *strings.Builder, o IcebergOptions) error {
	q := dialects[Spark].quote
	conf := []string{"Spark settings (spark-defaults.conf, or --conf), with the iceberg-spark-runtime",
		"package on the classpath (and hadoop-azure for an Azure lake):",
		"  spark.sql.extensions=org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions",
		"  spark.sql.catalog.entralake=org.apache.iceberg.spark.SparkCatalog"}
	switch o.catalogKind() {
	case "file":
		conf = append(conf, "  spark.sql.catalog.entralake.type=hadoop", "  spark.sql.catalog.entralake.warehouse="+fileURL(o.Warehouse))
	case "rest":
		conf = append(conf, "  spark.sql.catalog.entralake.type=rest", "  spark.sql.catalog.entralake.uri="+o.restURL(),
			"  spark.sql.catalog.entralake.warehouse="+o.Warehouse,
			"  spark.sql.catalog.entralake.token=<token>   # or .credential=<client_id>:<client_secret>")
	default:
		jdbc, user := o.jdbcURL()
		conf = append(conf, "  spark.sql.catalog.entralake.type=jdbc", "  spark.sql.catalog.entralake.uri="+jdbc,
			"  spark.sql.catalog.entralake.jdbc.user="+user, "  spark.sql.catalog.entralake.jdbc.password=<password>",
			"  spark.sql.catalog.entralake.warehouse="+fileURL(path.Dir(o.Tables[0].Location)),
			"(the Spark catalog's name, entralake, is the catalog_name entralake writes)")
	}
	comment(b, conf...)
	b.WriteString("\n")
	comment(b, "The catalog is read at each query: the views see every commit.")
	for _, t := range o.Tables {
		fmt.Fprintf(b, "CREATE OR REPLACE TEMPORARY VIEW %s AS SELECT * FROM entralake.%s.%s;\n", q(t.Name), q(o.Namespace), q(t.Name))
	}
	return nil
}

func athenaIceberg(b *strings.Builder, o IcebergOptions) error {
	for _, t := range o.Tables {
		if !strings.HasPrefix(t.Location, "s3://") {
			return fmt.Errorf("%w: Athena reads Iceberg tables on Amazon S3 only; table %s is at %s", ErrInvalidOption, t.Name, t.Location)
		}
	}
	comment(b, "Athena reads Iceberg tables registered in the AWS Glue Data Catalog. Register",
		"each table once with the AWS CLI, pointing Glue at its current metadata file:", "")
	for _, t := range o.Tables {
		comment(b, fmt.Sprintf("  aws glue create-table --database-name %s --table-input '%s'", o.Namespace, glueInput(t)))
	}
	comment(b, "", "Glue then holds that metadata file: after later commits run the same with",
		"`aws glue update-table` (the same --table-input) to move it, or commit through",
		"Glue's Iceberg REST endpoint as the catalog. Then, in Athena:")
	b.WriteString("\n")
	q := dialects[Athena].quote
	for _, t := range o.Tables {
		fmt.Fprintf(b, "SELECT count(*) FROM %s.%s;\n", q(o.Namespace), q(t.Name))
	}
	return nil
}

// glueInput is the TableInput that registers t in Glue.
func glueInput(t IcebergTable) string {
	return fmt.Sprintf(`{"Name":%q,"TableType":"EXTERNAL_TABLE","Parameters":{"table_type":"ICEBERG","metadata_location":%q},"StorageDescriptor":{"Location":%q}}`,
		t.Name, t.Metadata, t.Location)
}

// snowflakeVolume returns the external volume's storage location of an
// Iceberg location: provider, base URL (the lake folder) and the
// settings it needs.
func snowflakeVolume(lakeLoc string) (provider, base, extra string, err error) {
	switch {
	case strings.HasPrefix(lakeLoc, "abfss://"), strings.HasPrefix(lakeLoc, "abfs://"):
		// abfss://<container>@<account>.dfs.core.windows.net/<folder>
		rest := lakeLoc[strings.Index(lakeLoc, "://")+3:]
		ca, folder, _ := strings.Cut(rest, "/")
		container, host, _ := strings.Cut(ca, "@")
		account, _, _ := strings.Cut(host, ".")
		return "AZURE", "azure://" + account + ".blob.core.windows.net/" + container + "/" + folder + "/", "AZURE_TENANT_ID = '<tenant id>'", nil
	case strings.HasPrefix(lakeLoc, "s3://"):
		return "S3", lakeLoc + "/", "STORAGE_AWS_ROLE_ARN = '<role arn>'", nil
	case strings.HasPrefix(lakeLoc, "gs://"):
		return "GCS", "gcs://" + strings.TrimPrefix(lakeLoc, "gs://") + "/", "", nil
	}
	return "", "", "", fmt.Errorf("%w: Snowflake reads Iceberg tables from S3, GCS or Azure storage; this lake is at %s", ErrInvalidOption, lakeLoc)
}

func snowflakeIceberg(b *strings.Builder, o IcebergOptions) error {
	q := dialects[Snowflake].quote
	lakeLoc := path.Dir(o.Tables[0].Location)
	if i := strings.Index(o.Tables[0].Location, "://"); i > 0 {
		lakeLoc = o.Tables[0].Location[:i+3] + path.Dir(o.Tables[0].Location[i+3:])
	}
	provider, base, extra, err := snowflakeVolume(lakeLoc)
	if err != nil {
		return err
	}
	comment(b, "An external volume on the lake folder (read only), created once by an administrator;",
		"grant Snowflake's service principal (or role) read access to the storage.")
	fmt.Fprintf(b, "CREATE EXTERNAL VOLUME IF NOT EXISTS entralake_volume\n  STORAGE_LOCATIONS = ((NAME = 'entralake' STORAGE_PROVIDER = '%s'\n    STORAGE_BASE_URL = %s", provider, sqlString(base))
	if extra != "" {
		b.WriteString("\n    " + extra)
	}
	b.WriteString("))\n  ALLOW_WRITES = FALSE;\n\n")
	if o.catalogKind() == "rest" {
		fmt.Fprintf(b, "CREATE CATALOG INTEGRATION IF NOT EXISTS entralake_catalog\n  CATALOG_SOURCE = ICEBERG_REST TABLE_FORMAT = ICEBERG\n  CATALOG_NAMESPACE = %s\n  REST_CONFIG = (CATALOG_URI = %s WAREHOUSE = %s)\n  REST_AUTHENTICATION = (TYPE = OAUTH OAUTH_CLIENT_ID = '<client id>' OAUTH_CLIENT_SECRET = '<client secret>' OAUTH_ALLOWED_SCOPES = ('PRINCIPAL_ROLE:ALL'))\n  ENABLED = TRUE;\n\n",
			sqlString(o.Namespace), sqlString(o.restURL()), sqlString(o.Warehouse))
		for _, t := range o.Tables {
			fmt.Fprintf(b, "CREATE ICEBERG TABLE IF NOT EXISTS %s\n  EXTERNAL_VOLUME = 'entralake_volume' CATALOG = 'entralake_catalog'\n  CATALOG_TABLE_NAME = %s AUTO_REFRESH = TRUE;\n", q(t.Name), sqlString(t.Name))
		}
		return nil
	}
	b.WriteString("CREATE CATALOG INTEGRATION IF NOT EXISTS entralake_files\n  CATALOG_SOURCE = OBJECT_STORE TABLE_FORMAT = ICEBERG ENABLED = TRUE;\n\n")
	comment(b, "Each table from its current metadata file. After later commits, move it with",
		"  ALTER ICEBERG TABLE <table> REFRESH '<table>/metadata/<newer metadata file>';",
		"(`entralake ddl` prints the current one).")
	for _, t := range o.Tables {
		rel := strings.TrimPrefix(t.Metadata, lakeLocPrefix(t))
		fmt.Fprintf(b, "CREATE OR REPLACE ICEBERG TABLE %s\n  EXTERNAL_VOLUME = 'entralake_volume' CATALOG = 'entralake_files'\n  METADATA_FILE_PATH = %s;\n", q(t.Name), sqlString(rel))
	}
	return nil
}

// lakeLocPrefix is the lake folder of t's location, with a trailing /.
func lakeLocPrefix(t IcebergTable) string {
	return strings.TrimSuffix(t.Location, t.Name)
}
