package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// queriesDoc holds the example queries, one ```sql block per ## heading.
const queriesDoc = "../docs/queries.md"

// docQueries reads the example queries of docs/queries.md by heading.
func docQueries(t *testing.T) map[string]string {
	t.Helper()
	data, err := os.ReadFile(queriesDoc)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	var heading string
	for _, block := range regexp.MustCompile("(?m)^## ").Split(string(data), -1)[1:] {
		heading, _, _ = strings.Cut(block, "\n")
		m := regexp.MustCompile("(?s)```sql\n(.*?)```").FindStringSubmatch(block)
		if m == nil {
			t.Fatalf("%s: section %q has no sql block", queriesDoc, heading)
		}
		out[strings.TrimSpace(heading)] = m[1]
	}
	return out
}

// oracleRow formats one expected row as the test formats a result row.
func oracleRow(vals ...any) string {
	parts := make([]string, len(vals))
	for i, v := range vals {
		parts[i] = cell(v)
	}
	return strings.Join(parts, " | ")
}

// cell formats a value of a result row or of the oracle.
func cell(v any) string {
	switch v := v.(type) {
	case nil:
		return "NULL"
	case time.Time:
		return v.UTC().Format(time.RFC3339Nano)
	case []byte:
		return string(v)
	case json.Number:
		return v.String()
	}
	return fmt.Sprintf("%v", v)
}

// str returns the text of a record value (a string, or a number as text)
// and whether there is one.
func str(v any) (string, bool) { return textValue(v) }

// strOrNil is a string value or nil.
func strOrNil(v any) any {
	if s, ok := str(v); ok {
		return s
	}
	return nil
}

func intOf(v any) (int64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	i, err := n.Int64()
	return i, err == nil
}

var signInCategories = []string{"SignInLogs", "NonInteractiveUserSignInLogs"}

// errorCode is properties.status.errorCode.
func errorCode(r *record) (int64, bool) {
	return intOf(lookupPath(r.Fields, "properties", "status", "errorCode"))
}

func actorOf(r *record) any {
	if s, ok := str(lookupPath(r.Fields, "properties", "initiatedBy", "user", "userPrincipalName")); ok {
		return s
	}
	return strOrNil(lookupPath(r.Fields, "properties", "initiatedBy", "app", "displayName"))
}

// queryOracles compute each query's rows from the input records.
var queryOracles = map[string]func(ex *export) []string{
	"Failed sign-ins by IP and country": func(ex *export) []string {
		counts := map[[2]any]int{}
		for _, r := range goodRecords(ex, signInCategories...) {
			if code, ok := errorCode(r); !ok || code == 0 {
				continue
			}
			country := strOrNil(lookupPath(r.Fields, "properties", "location", "countryOrRegion"))
			if country == nil {
				country = strOrNil(lookupPath(r.Fields, "locationDetails", "countryOrRegion"))
			}
			counts[[2]any{strOrNil(lookup(r.Fields, "callerIpAddress")), country}]++
		}
		var out []string
		for k, n := range counts {
			out = append(out, oracleRow(k[0], k[1], n))
		}
		return out
	},
	"Sign-ins from new countries per user": func(ex *export) []string {
		type key struct{ upn, country string }
		first := map[key]time.Time{}
		for _, r := range goodRecords(ex, signInCategories...) {
			upn, ok1 := str(lookupPath(r.Fields, "properties", "userPrincipalName"))
			country, ok2 := str(lookupPath(r.Fields, "properties", "location", "countryOrRegion"))
			if !ok1 || !ok2 {
				continue
			}
			k := key{upn, country}
			if t, ok := first[k]; !ok || r.Time.Before(t) {
				first[k] = r.Time
			}
		}
		byUser := map[string][]key{}
		for k := range first {
			byUser[k.upn] = append(byUser[k.upn], k)
		}
		var out []string
		for _, ks := range byUser {
			slices.SortFunc(ks, func(a, b key) int {
				if c := first[a].Compare(first[b]); c != 0 {
					return c
				}
				return strings.Compare(a.country, b.country)
			})
			for _, k := range ks[1:] {
				out = append(out, oracleRow(k.upn, k.country, first[k]))
			}
		}
		return out
	},
	"Risky sign-ins": func(ex *export) []string {
		risky := func(v any) bool {
			s, _ := str(v)
			return s == "low" || s == "medium" || s == "high"
		}
		var out []string
		for _, r := range goodRecords(ex, signInCategories...) {
			p := func(k string) any { return lookupPath(r.Fields, "properties", k) }
			if risky(p("riskLevelDuringSignIn")) || risky(p("riskLevelAggregated")) {
				out = append(out, oracleRow(r.Time, strOrNil(p("userPrincipalName")), strOrNil(p("riskLevelDuringSignIn")),
					strOrNil(p("riskLevelAggregated")), strOrNil(p("riskState"))))
			}
		}
		return out
	},
	"MFA failures": func(ex *export) []string {
		var out []string
		for _, r := range goodRecords(ex, signInCategories...) {
			code, ok := errorCode(r)
			if !ok || !slices.Contains([]int64{50074, 50076, 50079, 50158, 500121}, code) {
				continue
			}
			out = append(out, oracleRow(r.Time, strOrNil(lookupPath(r.Fields, "properties", "userPrincipalName")), code,
				strOrNil(lookupPath(r.Fields, "properties", "status", "failureReason"))))
		}
		return out
	},
	"Admin role assignments": func(ex *export) []string {
		var out []string
		for _, r := range goodRecords(ex, "AuditLogs") {
			if s, _ := str(lookupPath(r.Fields, "properties", "activityDisplayName")); s != "Add member to role" {
				continue
			}
			targets, _ := lookupPath(r.Fields, "properties", "targetResources").([]any)
			for _, tr := range targets {
				member := strOrNil(lookupPath(tr, "userPrincipalName"))
				if member == nil {
					member = strOrNil(lookupPath(tr, "displayName"))
				}
				props, _ := lookupPath(tr, "modifiedProperties").([]any)
				for _, mp := range props {
					if s, _ := str(lookupPath(mp, "displayName")); s != "Role.DisplayName" {
						continue
					}
					var role any
					if s, ok := str(lookupPath(mp, "newValue")); ok {
						role = strings.Trim(s, `"`)
					}
					out = append(out, oracleRow(r.Time, actorOf(r), member, role))
				}
			}
		}
		return out
	},
	"Service principal credential changes": func(ex *export) []string {
		var out []string
		for _, r := range goodRecords(ex, "AuditLogs") {
			act, _ := str(lookupPath(r.Fields, "properties", "activityDisplayName"))
			l := strings.ToLower(act)
			if !strings.Contains(l, "service principal credentials") && !strings.Contains(l, "certificates and secrets management") {
				continue
			}
			out = append(out, oracleRow(r.Time, act, actorOf(r), strOrNil(lookupPath(r.Fields, "properties", "targetResources", 0, "displayName"))))
		}
		return out
	},
	"Graph API calls by app": func(ex *export) []string {
		calls, errs := map[[2]any]int{}, map[[2]any]int{}
		for _, r := range goodRecords(ex, "MicrosoftGraphActivityLogs") {
			k := [2]any{strOrNil(lookupPath(r.Fields, "properties", "appId")), strOrNil(lookupPath(r.Fields, "properties", "requestMethod"))}
			calls[k]++
			if code, ok := intOf(lookupPath(r.Fields, "properties", "responseStatusCode")); ok && code >= 400 {
				errs[k]++
			}
		}
		var out []string
		for k, n := range calls {
			out = append(out, oracleRow(k[0], k[1], n, errs[k]))
		}
		return out
	},
}

// goodRecords are the records that became rows, of the given categories.
func goodRecords(ex *export, categories ...string) []*record {
	var out []*record
	for i := range ex.Records {
		r := &ex.Records[i]
		if r.Good && slices.Contains(categories, r.categoryOf()) {
			out = append(out, r)
		}
	}
	return out
}

// TestDocQueries runs every query of docs/queries.md on lakes built from
// testdata/export and from the real corpus, and compares the rows (as a
// multiset) with what the oracle computes from the input JSON.
func TestDocQueries(t *testing.T) {
	queries := docQueries(t)
	for name := range queryOracles {
		if _, ok := queries[name]; !ok {
			t.Errorf("%s has no section %q", queriesDoc, name)
		}
	}
	for name := range queries {
		if _, ok := queryOracles[name]; !ok {
			t.Errorf("section %q of %s has no oracle in this test", name, queriesDoc)
		}
	}
	// The Iceberg lake's table is read through the views `entralake ddl
	// --table-format iceberg --engine duckdb --snapshot-files` prints
	// (DuckDB's iceberg extension cannot be downloaded here), over exactly
	// the files of the current snapshot, which the test checks.
	const fromFolders = "read_parquet('<lake>/azure_audit/**/*.parquet', hive_partitioning = true)"
	inputs := []struct{ name, src string }{{"testdata", ""}, {"corpus", ""}, {"testdata-iceberg", ""}}
	for _, in := range inputs {
		t.Run(in.name, func(t *testing.T) {
			src := absPath(t, testdataExport)
			if in.name == "corpus" {
				src = corpusExport(t)
			}
			ex := mustReadExport(t, src)
			lake := filepath.Join(t.TempDir(), "lake")
			db := openDuckDB(t)
			iceberg := strings.HasSuffix(in.name, "-iceberg")
			if iceberg {
				runEntralake(t, "run", "--source", src, "--lake", lake, "--data-dir", t.TempDir(), "--once", "--table-format", "iceberg")
				views, _ := runEntralake(t, "ddl", "--table-format", "iceberg", "--engine", "duckdb", "--snapshot-files", "--lake", lake)
				for _, f := range snapshotFiles(t, lake, "azure_audit") {
					if !strings.Contains(views, sqlString(f)) {
						t.Errorf("the ddl's view does not read %s, a file of the current snapshot", f)
					}
				}
				if got, want := strings.Count(views, ".parquet'"), len(snapshotFiles(t, lake, "azure_audit"))+len(snapshotFiles(t, lake, "azure_audit_quarantine")); got != want {
					t.Errorf("the ddl's views read %d files, the current snapshots have %d", got, want)
				}
				if _, err := db.ExecContext(t.Context(), views); err != nil {
					t.Fatalf("ddl: %v\n%s", err, views)
				}
			} else {
				runOnce(t, src, lake, t.TempDir())
			}
			nonEmpty := 0
			for name, oracle := range queryOracles {
				q := strings.ReplaceAll(queries[name], "<lake>", filepath.ToSlash(lake))
				if iceberg {
					if !strings.Contains(queries[name], fromFolders) {
						t.Fatalf("%s: no %s to read the Iceberg table instead", name, fromFolders)
					}
					q = strings.ReplaceAll(queries[name], fromFolders, "azure_audit")
				}
				rs, err := db.QueryContext(t.Context(), q)
				if err != nil {
					t.Errorf("%s: %v\n%s", name, err, q)
					continue
				}
				cols, _ := rs.Columns()
				var got []string
				for rs.Next() {
					vals := make([]any, len(cols))
					ptrs := make([]any, len(cols))
					for i := range vals {
						ptrs[i] = &vals[i]
					}
					if err := rs.Scan(ptrs...); err != nil {
						t.Fatalf("%s: scan: %v", name, err)
					}
					got = append(got, oracleRow(vals...))
				}
				if err := rs.Err(); err != nil {
					t.Errorf("%s: %v", name, err)
				}
				rs.Close()
				want := oracle(ex)
				slices.Sort(got)
				slices.Sort(want)
				if !slices.Equal(got, want) {
					t.Errorf("%s: rows differ\n got: %q\nwant: %q", name, got, want)
				}
				if len(got) > 0 {
					nonEmpty++
				}
				t.Logf("%s: %d rows", name, len(got))
			}
			// testdata/export holds records for every query; the real corpus
			// has no failed or risky sign-ins and no role changes.
			if in.name != "corpus" && nonEmpty != len(queryOracles) {
				t.Errorf("%d of %d queries returned rows on testdata/export, want all", nonEmpty, len(queryOracles))
			}
		})
	}
}
