package e2e

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"net/netip"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// reporter collects the mismatches of a lake check. It prints the first
// maxShown of them and counts the rest, so that a broken column does not
// bury the other failures.
type reporter struct {
	t      *testing.T
	errors int
}

const maxShown = 60

func (r *reporter) errorf(format string, args ...any) {
	r.t.Helper()
	r.errors++
	if r.errors <= maxShown {
		r.t.Errorf(format, args...)
	}
}

func (r *reporter) done() {
	r.t.Helper()
	if r.errors > maxShown {
		r.t.Errorf("... and %d more mismatches", r.errors-maxShown)
	}
}

// lakeStats is what checkLake measured.
type lakeStats struct {
	Rows, Quarantined int64
}

var (
	tableFileRe      = regexp.MustCompile(`^azure_audit/category=[^/]+/date=\d{4}-\d{2}-\d{2}/hour=\d{2}/[^/.][^/]*\.parquet$`)
	quarantineFileRe = regexp.MustCompile(`^azure_audit_quarantine/date=\d{4}-\d{2}-\d{2}/[^/.][^/]*\.parquet$`)
	// emptyFileRe matches the empty files writers keep beside each table
	// for DuckDB's views (schema.EmptyFiles): no row, a 1970-01-01 partition.
	emptyFileRe = regexp.MustCompile(`^(azure_audit/category=none/date=1970-01-01(/hour=00)?|azure_audit_quarantine/date=1970-01-01)/empty\.parquet$`)
)

// checkLayout checks the files of the lake: parquet files only where the
// layout puts them, and no temporary file ('.' prefix) left behind.
func checkLayout(t *testing.T, lake string) {
	t.Helper()
	err := filepath.WalkDir(lake, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(lake, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if rel == "." {
			return nil
		}
		if strings.HasPrefix(d.Name(), ".") {
			t.Errorf("lake: %s left behind (temporary files start with '.'; none may remain after --once)", rel)
			return nil
		}
		if !d.Type().IsRegular() || !strings.HasSuffix(rel, ".parquet") {
			return nil
		}
		if table, rest, ok := strings.Cut(rel, ".empty/"); ok && emptyFileRe.MatchString(table+"/"+rest) {
			return nil
		}
		if !tableFileRe.MatchString(rel) && !quarantineFileRe.MatchString(rel) {
			t.Errorf("lake: %s is outside the layout %s/category=C/date=YYYY-MM-DD/hour=HH/*.parquet and %s/date=YYYY-MM-DD/*.parquet",
				rel, tableDir, quarantineDir)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk lake %s: %v", lake, err)
	}
}

// checkLake compares the lake written from an export with the oracle's
// reading of that export: counts, per-blob counts, p_row_id uniqueness,
// partitions, and every row's values against the decoded record.
func checkLake(t *testing.T, db *sql.DB, lake string, ex *export) lakeStats {
	t.Helper()
	checkLayout(t, lake)
	checkColumns(t, db, lake, ex)

	tbl := countTable(t, db, lake, tableDir)
	qua := countTable(t, db, lake, quarantineDir)
	st := lakeStats{Rows: tbl.Rows, Quarantined: qua.Rows}
	t.Logf("oracle: %d records, %d good, %d bad; lake: %d rows in %d files, %d quarantined in %d files",
		ex.Total, ex.Good, ex.Bad, tbl.Rows, tbl.Files, qua.Rows, qua.Files)

	if got, want := tbl.Rows, int64(ex.Good); got != want {
		t.Errorf("rows in %s = %d, want %d (records %d - quarantined %d)", tableDir, got, want, ex.Total, ex.Bad)
	}
	if got, want := qua.Rows, int64(ex.Bad); got != want {
		t.Errorf("rows in %s = %d, want %d", quarantineDir, got, want)
	}
	if got, want := tbl.Rows+qua.Rows, int64(ex.Total); got != want {
		t.Errorf("rows + quarantined = %d + %d = %d, want %d input records", tbl.Rows, qua.Rows, got, want)
	}
	if got, want := tbl.RowIDs, tbl.Rows; got != want {
		t.Errorf("distinct non-empty p_row_id in %s = %d, want %d (one per row)", tableDir, got, want)
	}
	if got, want := qua.RowIDs, qua.Rows; got != want {
		t.Errorf("distinct non-empty p_row_id in %s = %d, want %d (one per row)", quarantineDir, got, want)
	}
	if tbl.Present && qua.Present {
		q := fmt.Sprintf("SELECT count(DISTINCT id) FROM (SELECT p_row_id AS id FROM %s UNION ALL SELECT p_row_id FROM %s)",
			tbl.FromGlob, qua.FromGlob)
		if got, want := queryInt(t, db, q), tbl.Rows+qua.Rows; got != want {
			t.Errorf("distinct p_row_id over rows and quarantine = %d, want %d", got, want)
		}
	}

	rep := &reporter{t: t}
	defer rep.done()
	if tbl.Present {
		checkRows(t, rep, db, tbl.FromGlob, ex)
	}
	if qua.Present {
		checkQuarantine(t, rep, db, qua.FromGlob, ex)
	}
	return st
}

// column is one value read from the lake for every row.
type column struct {
	name string // label in messages
	expr string // SQL expression
}

// fieldKind is how a schema type converts a JSON value.
type fieldKind int

const (
	kindString fieldKind = iota
	kindBigint
	kindBoolean
	kindTimestamp
	kindJSON
)

// field is a schema field compared with the oracle's value for every row.
type field struct {
	expr string // SQL expression reading it
	kind fieldKind
	path []any // path in the decoded record
}

func (f field) name() string { return f.expr }

// fields are compared for every row in which the record has them. Each is
// in the spec's schema; together they cover every category of the corpus.
var fields = []field{
	{`"operationName"`, kindString, []any{"operationName"}},
	{`"resourceId"`, kindString, []any{"resourceId"}},
	{`"correlationId"`, kindString, []any{"correlationId"}},
	{`"resultType"`, kindString, []any{"resultType"}},
	{`"callerIpAddress"`, kindString, []any{"callerIpAddress"}},
	{`"Level"`, kindBigint, []any{"Level"}},
	{`"durationMs"`, kindBigint, []any{"durationMs"}},
	{`"locationDetails"`, kindJSON, []any{"locationDetails"}},
	{`properties.userPrincipalName`, kindString, []any{"properties", "userPrincipalName"}},
	{`properties.userDisplayName`, kindString, []any{"properties", "userDisplayName"}},
	{`properties.servicePrincipalName`, kindString, []any{"properties", "servicePrincipalName"}},
	{`properties.autonomousSystemNumber`, kindString, []any{"properties", "autonomousSystemNumber"}},
	{`properties.requestUri`, kindString, []any{"properties", "requestUri"}},
	{`properties.riskLevel`, kindString, []any{"properties", "riskLevel"}},
	{`properties.sourceSystem`, kindString, []any{"properties", "sourceSystem"}},
	{`properties.initiatedBy.app.displayName`, kindString, []any{"properties", "initiatedBy", "app", "displayName"}},
	{`properties.initiatedBy.user.userPrincipalName`, kindString, []any{"properties", "initiatedBy", "user", "userPrincipalName"}},
	{`properties.mfaDetail.authMethod`, kindString, []any{"properties", "mfaDetail", "authMethod"}},
	{`properties.processingTimeInMilliseconds`, kindBigint, []any{"properties", "processingTimeInMilliseconds"}},
	{`properties.responseStatusCode`, kindBigint, []any{"properties", "responseStatusCode"}},
	{`properties.isInteractive`, kindBoolean, []any{"properties", "isInteractive"}},
	{`properties.isDeleted`, kindBoolean, []any{"properties", "isDeleted"}},
	{`properties.createdDateTime`, kindTimestamp, []any{"properties", "createdDateTime"}},
	{`properties.activityDateTime`, kindTimestamp, []any{"properties", "activityDateTime"}},
	{`properties.status`, kindJSON, []any{"properties", "status"}},
	{`properties.deviceDetail`, kindJSON, []any{"properties", "deviceDetail"}},
	{`properties.location`, kindJSON, []any{"properties", "location"}},
	{`properties.appliedConditionalAccessPolicies`, kindJSON, []any{"properties", "appliedConditionalAccessPolicies"}},
	{`properties.authenticationDetails`, kindJSON, []any{"properties", "authenticationDetails"}},
	{`properties.authenticationProcessingDetails`, kindJSON, []any{"properties", "authenticationProcessingDetails"}},
	{`properties.initiatedBy.user.roles`, kindJSON, []any{"properties", "initiatedBy", "user", "roles"}},
	{`properties.targetResources[1].administrativeUnits`, kindJSON, []any{"properties", "targetResources", 0, "administrativeUnits"}},
}

// unknownKeys are keys outside the schema that the corpus or testdata carry.
// When a record has one (with a non-null value), p_extra must name it.
var unknownKeys = [][]any{
	{"environmentName"},
	{"properties", "tenantGeo"},
	{"properties", "jobId"},
	{"properties", "provisioningSteps"},
}

// Fields with the ip, username and trace_id indicators (spec).
var (
	ipPaths = [][]any{
		{"callerIpAddress"},
		{"properties", "ipAddress"},
		{"properties", "ipAddressFromResourceProvider"},
		{"properties", "initiatedBy", "user", "ipAddress"},
	}
	usernamePaths = [][]any{
		{"properties", "alternateSignInName"},
		{"properties", "initiatedBy", "user", "displayName"},
		{"properties", "userDisplayName"},
		{"properties", "userPrincipalName"},
	}
	traceIDPaths = [][]any{
		{"correlationId"},
	}
)

// rowColumns are the columns read for every row, before the fields.
var rowColumns = []column{
	{"blob", `p_source_file.blob`},
	{"offset", `p_source_file."offset"`},
	{"index", `p_source_file."index"`},
	{"p_row_id", `p_row_id`},
	{"p_log_type", `p_log_type`},
	{"category", `category`},
	{"date", `date`},
	{"hour", `hour`},
	{"event_date", `strftime(p_event_time, '%Y-%m-%d')`},
	{"event_hour", `strftime(p_event_time, '%H')`},
	{"time", `"time"`},
	{"p_event_time", `p_event_time`},
	{"p_parse_time", `p_parse_time`},
	{"p_extra", `CAST(p_extra AS VARCHAR)`},
	{"p_any_ip_addresses", `p_any_ip_addresses`},
	{"p_any_usernames", `p_any_usernames`},
	{"p_any_trace_ids", `p_any_trace_ids`},
	{"targetResources", `properties.targetResources`},
	{"targetResources[1].modifiedProperties", `properties.targetResources[1].modifiedProperties`},
}

// coverage counts the checks made per category.
type coverage struct {
	rows, targetResources, jsonValues, ips int
}

// checkRows reads every row and compares it with its record.
func checkRows(t *testing.T, rep *reporter, db *sql.DB, from string, ex *export) {
	t.Helper()
	cols := slices.Clone(rowColumns)
	for _, f := range fields {
		expr := f.expr
		if f.kind == kindJSON {
			cols = append(cols, column{f.name(), "CAST(" + expr + " AS VARCHAR)"}, column{f.name() + "#valid", "json_valid(" + expr + ")"})
			continue
		}
		cols = append(cols, column{f.name(), expr})
	}
	rows := queryRows(t, db, from, cols)

	want := map[recordKey]*record{}
	for i := range ex.Records {
		if r := &ex.Records[i]; r.Good {
			want[r.key()] = r
		}
	}
	seen := map[recordKey]bool{}
	cov := map[string]*coverage{}
	for _, row := range rows {
		k, err := rowKey(row, ex)
		if err != nil {
			rep.errorf("row %v: %v", row["p_row_id"], err)
			continue
		}
		rec, ok := want[k]
		if !ok {
			rep.errorf("row %s@%d[%d] (p_row_id %v): no good input record there", k.Blob, k.Offset, k.Index, row["p_row_id"])
			continue
		}
		if seen[k] {
			rep.errorf("%s: more than one row", rec)
			continue
		}
		seen[k] = true
		cat := rec.categoryOf()
		if cov[cat] == nil {
			cov[cat] = &coverage{}
		}
		checkRow(rep, rec, row, cov[cat])
	}
	for k, rec := range want {
		if !seen[k] {
			rep.errorf("%s (%s): good record has no row", rec, rec.categoryOf())
		}
	}

	cats := map[string]bool{}
	for _, r := range ex.Records {
		if r.Good {
			cats[r.categoryOf()] = true
		}
	}
	for _, cat := range slices.Sorted(maps.Keys(cats)) {
		c := cov[cat]
		if c == nil || c.rows == 0 {
			t.Errorf("category %q: no row checked", cat)
			continue
		}
		t.Logf("category %-36s rows %3d, targetResources %3d, json values %3d, ip lists %3d", cat, c.rows, c.targetResources, c.jsonValues, c.ips)
		if cat == "AuditLogs" && c.targetResources == 0 {
			t.Errorf("category AuditLogs: no targetResources compared")
		}
	}
}

// rowKey is where a row's record sits in the input, from p_source_file.
func rowKey(row map[string]any, ex *export) (recordKey, error) {
	blob, ok := row["blob"].(string)
	if !ok {
		return recordKey{}, fmt.Errorf("p_source_file.blob = %v, want a string", row["blob"])
	}
	off, ok1 := row["offset"].(int64)
	idx, ok2 := row["index"].(int64)
	if !ok1 || !ok2 {
		return recordKey{}, fmt.Errorf("p_source_file offset, index = %v, %v, want BIGINTs", row["offset"], row["index"])
	}
	if ex.Wrapped[blob] {
		off = -1 // a multi-line wrapper: matched by element index
	}
	return recordKey{blob, off, idx}, nil
}

// checkRow compares one row with its record.
func checkRow(rep *reporter, rec *record, row map[string]any, cov *coverage) {
	cov.rows++
	m := rec.Fields
	if got, want := row["p_log_type"], "Azure.Audit"; got != want {
		rep.errorf("%s: p_log_type = %s, want %q", rec, show(got), want)
	}
	if id, _ := row["p_row_id"].(string); id == "" {
		rep.errorf("%s: p_row_id = %v, want a non-empty string", rec, row["p_row_id"])
	}
	if _, ok := row["p_parse_time"].(time.Time); !ok {
		rep.errorf("%s: p_parse_time = %v, want a timestamp", rec, row["p_parse_time"])
	}

	// Event time and its partitions.
	for _, c := range []string{"time", "p_event_time"} {
		got, ok := row[c].(time.Time)
		if !ok || !got.Equal(rec.Time) {
			rep.errorf("%s: %s = %v, want %v (from %q)", rec, c, row[c], rec.Time.Format(time.RFC3339Nano), lookup(m, "time"))
		}
	}
	if got, want := row["date"], rec.Time.Format("2006-01-02"); got != want {
		rep.errorf("%s: partition date = %s, want %q", rec, show(got), want)
	}
	if got, want := row["hour"], rec.Time.Format("15"); got != want {
		rep.errorf("%s: partition hour = %s, want %q", rec, show(got), want)
	}
	if got, want := row["event_date"], row["date"]; got != want {
		rep.errorf("%s: date of p_event_time = %v, partition date = %v", rec, got, want)
	}
	if got, want := row["event_hour"], row["hour"]; got != want {
		rep.errorf("%s: hour of p_event_time = %v, partition hour = %v", rec, got, want)
	}
	if cat := rec.categoryOf(); cat != "" {
		if got := row["category"]; got != cat {
			rep.errorf("%s: partition category = %s, want %q", rec, show(got), cat)
		}
	} else if s, _ := row["category"].(string); s == "" {
		rep.errorf("%s: partition category = %v, want non-empty", rec, row["category"])
	}

	// p_extra: NULL or a JSON object.
	extra, _ := row["p_extra"].(string)
	if extra != "" {
		var obj map[string]any
		if err := json.Unmarshal([]byte(extra), &obj); err != nil {
			rep.errorf("%s: p_extra = %s, want a JSON object: %v", rec, extra, err)
		}
	}
	wantInExtra := func(key string, why string) {
		if !strings.Contains(strings.ToLower(extra), strings.ToLower(key)) {
			rep.errorf("%s: p_extra = %q, want it to keep %q (%s)", rec, extra, key, why)
		}
	}

	for _, f := range fields {
		checkField(rep, rec, f, row, cov, wantInExtra)
	}
	for _, p := range unknownKeys {
		if v := lookupPath(m, p...); v != nil {
			if _, ok := v.(notObject); !ok {
				wantInExtra(p[len(p)-1].(string), "a key the schema does not know")
			}
		}
	}

	// targetResources, whole and its first element's modifiedProperties.
	if tr, ok := lookupPath(m, "properties", "targetResources").([]any); ok {
		cov.targetResources++
		compareList(rep, rec, "properties.targetResources", row["targetResources"], tr, targetResourceFields)
		var mp any
		if len(tr) > 0 {
			mp = lookupPath(tr[0], "modifiedProperties")
		}
		if l, ok := mp.([]any); ok {
			compareList(rep, rec, "properties.targetResources[1].modifiedProperties", row["targetResources[1].modifiedProperties"], l, modifiedPropertyFields)
		}
	}

	// Indicator lists.
	if checkIPs(rep, rec, row["p_any_ip_addresses"]) > 0 {
		cov.ips++
	}
	checkIndicator(rep, rec, "p_any_usernames", row["p_any_usernames"], usernamePaths)
	checkIndicator(rep, rec, "p_any_trace_ids", row["p_any_trace_ids"], traceIDPaths)
}

// checkField compares one schema field of a row with the record's value,
// converted as the spec says. A value that does not convert must be NULL in
// its column and kept in p_extra; a case the spec leaves open is skipped.
func checkField(rep *reporter, rec *record, f field, row map[string]any, cov *coverage, wantInExtra func(key, why string)) {
	v := lookupPath(rec.Fields, f.path...)
	got := row[f.name()]
	if _, ok := v.(notObject); ok {
		return
	}
	key := f.path[len(f.path)-1].(string)
	unconvertible := func() {
		if got != nil {
			rep.errorf("%s: %s = %s, want NULL (%s does not convert)", rec, f.name(), show(got), jsonText(v))
		}
		wantInExtra(key, "value "+jsonText(v)+" does not convert")
	}
	switch f.kind {
	case kindString:
		switch v := v.(type) {
		case nil:
			if got != nil {
				rep.errorf("%s: %s = %s, want NULL", rec, f.name(), show(got))
			}
		case string:
			if got != v {
				rep.errorf("%s: %s = %s, want %q", rec, f.name(), show(got), v)
			}
		case json.Number:
			if strings.ContainsAny(v.String(), ".eE") {
				return // text of a non-integer number: open
			}
			if got != v.String() {
				rep.errorf("%s: %s = %s, want %q (the number's text)", rec, f.name(), show(got), v.String())
			}
		case map[string]any, []any:
			unconvertible()
		}
	case kindBigint:
		var want int64
		switch v := v.(type) {
		case nil:
			if got != nil {
				rep.errorf("%s: %s = %s, want NULL", rec, f.name(), show(got))
			}
			return
		case json.Number:
			n, err := strconv.ParseInt(v.String(), 10, 64)
			if err != nil {
				return // not an integer: open
			}
			want = n
		case string:
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				if _, ferr := strconv.ParseFloat(v, 64); ferr == nil {
					return // "4.0": open
				}
				unconvertible()
				return
			}
			want = n
		case bool:
			return
		default:
			unconvertible()
			return
		}
		if got != want {
			rep.errorf("%s: %s = %s, want %d (from %s)", rec, f.name(), show(got), want, jsonText(v))
		}
	case kindBoolean:
		var want bool
		switch v := v.(type) {
		case nil:
			if got != nil {
				rep.errorf("%s: %s = %s, want NULL", rec, f.name(), show(got))
			}
			return
		case bool:
			want = v
		case string:
			switch strings.ToLower(v) {
			case "true":
				want = true
			case "false":
				want = false
			default:
				return
			}
		default:
			return
		}
		if got != want {
			rep.errorf("%s: %s = %s, want %t (from %s)", rec, f.name(), show(got), want, jsonText(v))
		}
	case kindTimestamp:
		switch v := v.(type) {
		case nil:
			if got != nil {
				rep.errorf("%s: %s = %s, want NULL", rec, f.name(), show(got))
			}
		case string:
			if !rfc3339Re.MatchString(v) {
				return // the schema says rfc3339; other text is open
			}
			want, ok := parseEventTime(v)
			if !ok {
				return
			}
			if g, ok := got.(time.Time); !ok || !g.Equal(want) {
				rep.errorf("%s: %s = %s, want %v (from %q)", rec, f.name(), show(got), want.Format(time.RFC3339Nano), v)
			}
		}
	case kindJSON:
		valid := row[f.name()+"#valid"]
		if v == nil {
			if got != nil && got != "null" {
				rep.errorf("%s: %s = %s, want NULL", rec, f.name(), show(got))
			}
			return
		}
		cov.jsonValues++
		s, ok := got.(string)
		if !ok {
			rep.errorf("%s: %s = %s, want the JSON text of %s", rec, f.name(), show(got), jsonText(v))
			return
		}
		if valid != true {
			rep.errorf("%s: json_valid(%s) = %v, want true; value %s", rec, f.name(), valid, s)
		}
		if !sameJSON([]byte(s), []byte(jsonText(v))) {
			rep.errorf("%s: %s = %s, want JSON equal to %s", rec, f.name(), s, jsonText(v))
		}
	}
}

// Fields of the structs inside targetResources, all strings.
var (
	targetResourceFields   = []string{"displayName", "id", "type", "groupType", "userPrincipalName"}
	modifiedPropertyFields = []string{"oldValue", "displayName", "newValue"}
)

// compareList compares a list of structs read from the lake with the JSON
// list, element by element, on the given string fields; a targetResources
// element also has its modifiedProperties compared.
func compareList(rep *reporter, rec *record, name string, got any, want []any, strFields []string) {
	gl, ok := got.([]any)
	if !ok && got != nil {
		rep.errorf("%s: %s = %T %v, want a list", rec, name, got, got)
		return
	}
	if len(gl) != len(want) {
		rep.errorf("%s: len(%s) = %d, want %d", rec, name, len(gl), len(want))
		return
	}
	for i := range want {
		wm, ok := want[i].(map[string]any)
		if !ok {
			continue
		}
		gm, ok := gl[i].(map[string]any)
		if !ok {
			rep.errorf("%s: %s[%d] = %T %v, want a struct", rec, name, i+1, gl[i], gl[i])
			continue
		}
		for _, k := range strFields {
			var wv *string
			switch v := lookup(wm, k).(type) {
			case nil:
			case string:
				wv = &v
			case json.Number:
				s := v.String()
				wv = &s
			default:
				continue
			}
			gv := gm[k]
			switch {
			case wv == nil && gv != nil:
				rep.errorf("%s: %s[%d].%s = %s, want NULL", rec, name, i+1, k, show(gv))
			case wv != nil && gv != *wv:
				rep.errorf("%s: %s[%d].%s = %s, want %q", rec, name, i+1, k, show(gv), *wv)
			}
		}
		if mp, ok := lookup(wm, "modifiedProperties").([]any); ok && name == "properties.targetResources" {
			compareList(rep, rec, fmt.Sprintf("%s[%d].modifiedProperties", name, i+1), gm["modifiedProperties"], mp, modifiedPropertyFields)
		}
	}
}

// ipsOf returns the valid IP addresses in the ip-indicator fields of m,
// canonical, sorted and distinct.
func ipsOf(m map[string]any) []string {
	var out []string
	for _, p := range ipPaths {
		s, ok := lookupPath(m, p...).(string)
		if !ok {
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			continue // "", "<null>"
		}
		out = append(out, a.String())
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// checkIPs compares p_any_ip_addresses with the oracle's addresses: the same
// addresses (compared canonically), sorted and distinct. It returns how many
// addresses the record has.
func checkIPs(rep *reporter, rec *record, got any) int {
	want := ipsOf(rec.Fields)
	gl, ok := stringList(got)
	if !ok {
		rep.errorf("%s: p_any_ip_addresses = %v, want a list of strings %q", rec, got, want)
		return len(want)
	}
	if !slices.IsSorted(gl) || len(slices.Compact(slices.Clone(gl))) != len(gl) {
		rep.errorf("%s: p_any_ip_addresses = %q, want sorted and distinct", rec, gl)
	}
	var canon []string
	for _, s := range gl {
		a, err := netip.ParseAddr(s)
		if err != nil {
			rep.errorf("%s: p_any_ip_addresses holds %q, not an IP address", rec, s)
			continue
		}
		canon = append(canon, a.String())
	}
	slices.Sort(canon)
	if !slices.Equal(canon, want) {
		rep.errorf("%s: p_any_ip_addresses = %q, want %q", rec, gl, want)
	}
	return len(want)
}

// checkIndicator compares an indicator list with the sorted distinct
// non-empty strings of the indicator's fields.
func checkIndicator(rep *reporter, rec *record, name string, got any, paths [][]any) {
	var want []string
	for _, p := range paths {
		if s, ok := lookupPath(rec.Fields, p...).(string); ok && s != "" {
			want = append(want, s)
		}
	}
	slices.Sort(want)
	want = slices.Compact(want)
	gl, ok := stringList(got)
	if !ok || !slices.Equal(gl, want) {
		rep.errorf("%s: %s = %v, want %q", rec, name, got, want)
	}
}

// stringList converts a scanned VARCHAR[]; NULL is the empty list.
func stringList(v any) ([]string, bool) {
	if v == nil {
		return nil, true
	}
	l, ok := v.([]any)
	if !ok {
		return nil, false
	}
	out := make([]string, 0, len(l))
	for _, e := range l {
		s, ok := e.(string)
		if !ok {
			return nil, false
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, true
	}
	return out, true
}

// jsonText is the JSON encoding of a decoded value.
func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%v", v)
	}
	return string(b)
}

// sameJSON reports whether two JSON texts hold the same value (numbers
// compared as float64, object keys in any order).
func sameJSON(a, b []byte) bool {
	var va, vb any
	if json.Unmarshal(a, &va) != nil || json.Unmarshal(b, &vb) != nil {
		return false
	}
	return reflect.DeepEqual(va, vb)
}

// quarantineColumns are the columns read for every quarantined record.
var quarantineColumns = []column{
	{"blob", `p_source_file.blob`},
	{"offset", `p_source_file."offset"`},
	{"index", `p_source_file."index"`},
	{"p_row_id", `p_row_id`},
	{"p_log_type", `p_log_type`},
	{"p_parse_time", `p_parse_time`},
	{"p_source_id", `p_source_id`},
	{"p_source_label", `p_source_label`},
	{"reason", `reason`},
	{"raw", `raw`},
	{"raw_size", `raw_size`},
	{"date", `date`},
}

var dateRe = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)

// checkQuarantine compares the quarantine with the oracle's bad records.
func checkQuarantine(t *testing.T, rep *reporter, db *sql.DB, from string, ex *export) {
	t.Helper()
	rows := queryRows(t, db, from, quarantineColumns)
	want := map[recordKey]*record{}
	for i := range ex.Records {
		if r := &ex.Records[i]; !r.Good {
			want[r.key()] = r
		}
	}
	seen := map[recordKey]bool{}
	for _, row := range rows {
		k, err := rowKey(row, ex)
		if err != nil {
			rep.errorf("quarantine row %v: %v", row["p_row_id"], err)
			continue
		}
		rec, ok := want[k]
		if !ok {
			rep.errorf("quarantine row %s@%d[%d] (reason %v): the oracle finds a good record there, or none", k.Blob, k.Offset, k.Index, row["reason"])
			continue
		}
		if seen[k] {
			rep.errorf("%s: quarantined more than once", rec)
			continue
		}
		seen[k] = true
		t.Logf("quarantined %s: reason %q (oracle: %s)", rec, row["reason"], rec.Why)
		if reason, _ := row["reason"].(string); strings.TrimSpace(reason) == "" {
			rep.errorf("%s: quarantine reason = %q, want non-empty", rec, row["reason"])
		}
		if got, want := row["p_log_type"], "Azure.Audit"; got != want {
			rep.errorf("%s: quarantine p_log_type = %v, want %q", rec, got, want)
		}
		if id, _ := row["p_row_id"].(string); id == "" {
			rep.errorf("%s: quarantine p_row_id = %v, want non-empty", rec, row["p_row_id"])
		}
		if _, ok := row["p_parse_time"].(time.Time); !ok {
			rep.errorf("%s: quarantine p_parse_time = %v, want a timestamp", rec, row["p_parse_time"])
		}
		raw, _ := row["raw"].([]byte)
		if got, want := bytes.TrimSpace(raw), bytes.TrimSpace(rec.Raw); !bytes.Equal(got, want) {
			rep.errorf("%s: quarantine raw = %q, want %q", rec, got, want)
		}
		if got, want := row["raw_size"], int64(len(raw)); got != want {
			rep.errorf("%s: quarantine raw_size = %v, want %d (len(raw))", rec, got, want)
		}
		if d, _ := row["date"].(string); !dateRe.MatchString(d) {
			rep.errorf("%s: quarantine partition date = %v, want YYYY-MM-DD", rec, row["date"])
		}
	}
	for k, rec := range want {
		if !seen[k] {
			rep.errorf("%s (%s): bad record is not in quarantine", rec, rec.Why)
		}
	}
}

// queryRows reads cols from a table, one map per row keyed by column name.
func queryRows(t *testing.T, db *sql.DB, from string, cols []column) []map[string]any {
	t.Helper()
	exprs := make([]string, len(cols))
	for i, c := range cols {
		exprs[i] = c.expr
	}
	q := "SELECT " + strings.Join(exprs, ",\n  ") + "\nFROM " + from
	rs, err := db.QueryContext(t.Context(), q)
	if err != nil {
		t.Fatalf("query lake: %v\n%s", err, q)
	}
	defer rs.Close()
	var out []map[string]any
	for rs.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rs.Scan(ptrs...); err != nil {
			t.Fatalf("scan lake row: %v", err)
		}
		row := make(map[string]any, len(cols))
		for i, c := range cols {
			row[c.name] = vals[i]
		}
		out = append(out, row)
	}
	if err := rs.Err(); err != nil {
		t.Fatalf("read lake: %v\n%s", err, q)
	}
	return out
}

// show formats a value read from the lake for a message: NULL, a quoted
// string, or the value.
func show(v any) string {
	switch v := v.(type) {
	case nil:
		return "NULL"
	case string:
		return strconv.Quote(v)
	case []byte:
		return strconv.Quote(string(v))
	}
	return fmt.Sprintf("%v", v)
}
