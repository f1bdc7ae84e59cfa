package ddl

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/entralake/entralake/schema"
)

// Engine names an analytics engine.
type Engine string

// The engines Generate knows.
const (
	DuckDB    Engine = "duckdb"
	Trino     Engine = "trino"
	Athena    Engine = "athena"
	Spark     Engine = "spark"
	Snowflake Engine = "snowflake"
)

// Engines returns the engines Generate knows, in a fixed order.
func Engines() []Engine { return []Engine{DuckDB, Trino, Athena, Spark, Snowflake} }

// Partition columns of the lake layout.
const (
	// ColCategory is the category=<c> folder of the main table (a string).
	ColCategory = "category"
	// ColDate is the date=<YYYY-MM-DD> folder of both tables (a DATE).
	ColDate = "date"
	// ColHour is the hour=<HH> folder of the main table (an INTEGER 0-23).
	ColHour = "hour"
)

// Categories are the Entra ID diagnostic-setting log categories, the values
// Athena's partition projection enumerates for the category partition. A
// category missing here is invisible to Athena until it is added to the
// table's projection.category.values property.
var Categories = []string{
	"AuditLogs", "SignInLogs", "NonInteractiveUserSignInLogs", "ServicePrincipalSignInLogs",
	"ManagedIdentitySignInLogs", "MicrosoftServicePrincipalSignInLogs", "ProvisioningLogs",
	"ADFSSignInLogs", "RiskyUsers", "UserRiskEvents", "RiskyServicePrincipals",
	"ServicePrincipalRiskEvents", "NetworkAccessTrafficLogs", "EnrichedOffice365AuditLogs",
	"MicrosoftGraphActivityLogs", "RemoteNetworkHealthLogs", "NetworkAccessAlerts",
	"NetworkAccessConnectionEvents", "B2CRequestLogs",
}

// Options say where the lake is and how to name the tables.
type Options struct {
	// Lake is the location of the lake's root folder as the engine reads
	// it: a path or URL for DuckDB (a local folder, s3://, az://, https://),
	// a URL for Trino and Spark (s3://, abfss://, gs://, file:///...), an
	// s3:// URL for Athena, and a stage (@stage or @stage/path) for
	// Snowflake. Required.
	Lake string
	// Partitioning is the layout the parsers wrote (their --partition):
	// schema.PartitionHour (default) or schema.PartitionDay, which has no
	// hour folder and no hour column.
	Partitioning schema.Partitioning
	// Table names the main table, optionally qualified (catalog.schema.name);
	// the quarantine table is its last part plus "_quarantine". Default: the
	// log type's table name, e.g. azure_audit. It does not change the
	// folders read, which are always <Lake>/<LogType.Table()> and
	// <Lake>/<LogType.QuarantineTable()>.
	Table string
}

var (
	// ErrUnknownEngine is wrapped by the error of Generate for an engine it
	// does not know.
	ErrUnknownEngine = errors.New("unknown engine")
	// ErrInvalidOption is wrapped by the error of Generate for a lake or
	// table name the engine cannot use.
	ErrInvalidOption = errors.New("invalid ddl option")
)

// column is one column of a table: a data column or a partition column.
type column struct {
	name      string
	typ       arrow.DataType // nil for a partition column
	partition string         // partition column: ColCategory, ColDate or ColHour
}

// table is one table to register.
type table struct {
	name    []string // qualified name, one part per element
	dir     string   // folder under the lake
	columns []column
	parts   []string // partition columns, in folder order
}

// Generate returns the statements that register the log type's table and
// its quarantine table in engine e.
func Generate(lt *schema.LogType, e Engine, opt Options) (string, error) {
	d, ok := dialects[e]
	if !ok {
		names := make([]string, 0, len(dialects))
		for _, e := range Engines() {
			names = append(names, string(e))
		}
		return "", fmt.Errorf("ddl: %w %q (known: %s)", ErrUnknownEngine, e, strings.Join(names, ", "))
	}
	if opt.Lake == "" {
		return "", fmt.Errorf("ddl: %w: no lake location", ErrInvalidOption)
	}
	if err := d.checkLake(opt.Lake); err != nil {
		return "", fmt.Errorf("ddl %s: %w: lake %q: %w", e, ErrInvalidOption, opt.Lake, err)
	}
	name := opt.Table
	if name == "" {
		name = lt.Table()
	}
	parts := strings.Split(name, ".")
	if len(parts) > 3 || slices.Contains(parts, "") {
		return "", fmt.Errorf("ddl %s: %w: table name %q: want name, schema.name or catalog.schema.name", e, ErrInvalidOption, name)
	}
	qparts := slices.Clone(parts)
	qparts[len(qparts)-1] += "_quarantine"

	main := table{name: parts, dir: lt.Table(), parts: []string{ColCategory, ColDate, ColHour}}
	switch opt.Partitioning {
	case "", schema.PartitionHour:
	case schema.PartitionDay:
		main.parts = main.parts[:2]
	default:
		return "", fmt.Errorf("ddl %s: %w: partitioning %q: want %q or %q", e, ErrInvalidOption, opt.Partitioning, schema.PartitionHour, schema.PartitionDay)
	}
	for _, f := range lt.ArrowSchema().Fields() {
		if f.Name == ColCategory {
			continue // the partition column holds it
		}
		main.columns = append(main.columns, column{name: f.Name, typ: f.Type})
	}
	quarantine := table{name: qparts, dir: lt.QuarantineTable(), parts: []string{ColDate}}
	for _, f := range schema.QuarantineSchema().Fields() {
		quarantine.columns = append(quarantine.columns, column{name: f.Name, typ: f.Type})
	}
	for _, t := range []*table{&main, &quarantine} {
		for _, p := range t.parts {
			t.columns = append(t.columns, column{name: p, partition: p})
		}
	}

	var b strings.Builder
	d.header(&b, lt, opt)
	for i, t := range []table{main, quarantine} {
		if i > 0 {
			b.WriteString("\n")
		}
		if err := d.table(&b, t, strings.TrimSuffix(opt.Lake, "/")); err != nil {
			return "", fmt.Errorf("ddl %s: %w", e, err)
		}
	}
	return b.String(), nil
}

// dialect is how one engine spells identifiers, types and tables.
type dialect struct {
	// quote quotes an identifier when the engine needs it.
	quote func(string) string
	// partType spells a partition column's type.
	partType map[string]string
	// checkLake rejects a lake location the engine cannot read.
	checkLake func(string) error
	header    func(*strings.Builder, *schema.LogType, Options)
	table     func(*strings.Builder, table, string) error
}

var dialects = map[Engine]*dialect{}

func register(e Engine, d *dialect) { dialects[e] = d }

// qualified quotes each part of a name and joins them with dots.
func qualified(quote func(string) string, parts []string) string {
	q := make([]string, len(parts))
	for i, p := range parts {
		q[i] = quote(p)
	}
	return strings.Join(q, ".")
}

// lowerPlain matches a name no engine needs to quote, keywords aside.
var lowerPlain = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// keywords builds a set from a comma- or space-separated list.
func keywords(list string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.FieldsFunc(list, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' }) {
		m[strings.ToLower(w)] = true
	}
	return m
}

// quoter returns a function quoting a name with q...q (doubling q inside)
// when it is not a plain lower-case identifier or is a keyword.
func quoter(q string, kw map[string]bool) func(string) string {
	return func(name string) string {
		if lowerPlain.MatchString(name) && !kw[name] {
			return name
		}
		return q + strings.ReplaceAll(name, q, q+q) + q
	}
}

// sqlString quotes s as a single-quoted SQL string literal.
func sqlString(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// errType reports an Arrow type the lake does not use.
func errType(t arrow.DataType) error {
	return fmt.Errorf("no mapping for arrow type %s", t)
}

// scalarName spells the Arrow types of the lake's leaf columns.
func scalarName(t arrow.DataType, str, bin, i64, f64, boolean, ts string) (string, bool) {
	switch t := t.(type) {
	case *arrow.StringType:
		return str, true
	case *arrow.BinaryType:
		return bin, true
	case *arrow.Int64Type:
		return i64, true
	case *arrow.Float64Type:
		return f64, true
	case *arrow.BooleanType:
		return boolean, true
	case *arrow.TimestampType:
		if t.Unit == arrow.Microsecond && t.TimeZone == "UTC" {
			return ts, true
		}
	}
	return "", false
}

// writeColumns writes one "  name type," line per column, the last without
// the comma.
func writeColumns(b *strings.Builder, lines []string) {
	for i, l := range lines {
		b.WriteString("  ")
		b.WriteString(l)
		if i < len(lines)-1 {
			b.WriteString(",")
		}
		b.WriteString("\n")
	}
}

// comment writes text as "-- " lines.
func comment(b *strings.Builder, lines ...string) {
	for _, l := range lines {
		if l == "" {
			b.WriteString("--\n")
			continue
		}
		b.WriteString("-- " + l + "\n")
	}
}

// hasScheme reports whether loc is a URL with a scheme (s3://, file:///).
func hasScheme(loc string) bool {
	i := strings.Index(loc, "://")
	return i > 0 && schemeRE.MatchString(loc[:i])
}

var schemeRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*$`)

// snowflakePlain matches a name Snowflake takes unquoted (and upper-cases).
var snowflakePlain = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_$]*$`)
