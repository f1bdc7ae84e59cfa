package e2e

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestReadmeQueries runs every ```sql block of the README against a lake
// built from testdata, so the README's queries keep working. Each
// statement must run and return at least one row.
func TestReadmeQueries(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```sql\n(.*?)```").FindAllStringSubmatch(string(readme), -1)
	if len(blocks) == 0 {
		t.Fatal("README has no sql block")
	}
	dir := t.TempDir()
	lake := dir + "/lake"
	runOnce(t, absPath(t, "../testdata/export"), lake, dir+"/data")
	db := openDuckDB(t)
	n := 0
	for _, b := range blocks {
		for _, stmt := range strings.Split(b[1], ";") {
			var lines []string
			for _, l := range strings.Split(stmt, "\n") {
				if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "--") {
					lines = append(lines, l)
				}
			}
			if len(lines) == 0 {
				continue
			}
			q := strings.ReplaceAll(strings.Join(lines, "\n"), "'lake/", "'"+lake+"/")
			n++
			rows, err := db.Query(q)
			if err != nil {
				t.Errorf("README query failed: %v\n%s", err, q)
				continue
			}
			got := 0
			for rows.Next() {
				got++
			}
			if err := rows.Err(); err != nil {
				t.Errorf("README query failed: %v\n%s", err, q)
			}
			rows.Close()
			if got == 0 {
				t.Errorf("README query returned no rows on testdata:\n%s", q)
			}
		}
	}
	t.Logf("%d README queries ran", n)
}
