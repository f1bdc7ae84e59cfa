package iceberg

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/entralake/entralake/schema"
)

// laterRelease returns the Azure.Audit log type with edit applied to its
// YAML: the schema of a later release.
func laterRelease(t *testing.T, edit func(string) string) *schema.LogType {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "schema", "logtypes", "azure_audit.yml"))
	if err != nil {
		t.Fatal(err)
	}
	y := edit(string(b))
	if y == string(b) {
		t.Fatal("the edit changed nothing")
	}
	lt, err := schema.Parse([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	return lt
}

// A field added to schema/ in a later release is added to the existing
// table at Open (a top-level one and one nested in properties), with new
// ids, the old ones unchanged, the name mapping kept current; files
// written before read NULL there, files written after carry the values.
func TestSchemaEvolutionAddsFields(t *testing.T) {
	ctx := t.Context()
	lake := filepath.Join(t.TempDir(), "lake")
	old := openLake(t, Config{Lake: lake})
	oldRows := auditRows("SignInLogs", dayOf(11), 3, "old")
	a := File{Rel: relFor(t, old.Main, "SignInLogs", dayOf(11), "part-old.parquet"), Batches: []string{batchID("old")}}
	writeFile(t, old.Main, a.Rel, oldRows, a.Batches...)
	if _, err := old.Main.Commit(ctx, []File{a}); err != nil {
		t.Fatal(err)
	}
	before := old.Main.Iceberg().Schema()
	lastID := old.Main.Iceberg().Metadata().LastColumnID()

	later := laterRelease(t, func(y string) string {
		y = strings.Replace(y, "  - name: properties\n", "  - name: riskLevelNew\n    type: string\n  - name: properties\n", 1)
		return strings.Replace(y, "    fields:\n      - name: aadTenantId\n", "    fields:\n      - name: riskNew\n        type: string\n      - name: aadTenantId\n", 1)
	})
	l := openLake(t, Config{Lake: lake, LogType: later})
	after := l.Main.Iceberg().Schema()
	for _, name := range []string{"riskLevelNew", "properties.riskNew"} {
		f, ok := after.FindFieldByName(name)
		if !ok {
			t.Fatalf("%s not added", name)
		}
		if f.ID <= lastID {
			t.Errorf("%s got id %d, not a new one (last was %d)", name, f.ID, lastID)
		}
	}
	for _, f := range before.Fields() {
		g, ok := after.FindFieldByName(f.Name)
		if !ok || g.ID != f.ID {
			t.Errorf("%s: id %d before, %d after", f.Name, f.ID, g.ID)
		}
	}
	mapping := l.Main.Iceberg().Properties()["schema.name-mapping.default"]
	if !strings.Contains(mapping, `"riskLevelNew"`) || !strings.Contains(mapping, `"riskNew"`) {
		t.Errorf("name mapping lacks the new fields")
	}
	// Opening the later release again changes nothing.
	loc := l.Main.Iceberg().MetadataLocation()
	if again := openLake(t, Config{Lake: lake, LogType: later}); again.Main.Iceberg().MetadataLocation() != loc {
		t.Errorf("opening the same schema again wrote a new metadata version")
	}

	// A file of the later release: the new fields set.
	newRows := strings.ReplaceAll(auditRows("SignInLogs", dayOf(11), 2, "new"), `"properties":{`, `"riskLevelNew":"high","properties":{"riskNew":"r",`)
	b := File{Rel: relFor(t, l.Main, "SignInLogs", dayOf(11), "part-new.parquet"), Batches: []string{batchID("new")}}
	writeFile(t, l.Main, b.Rel, newRows, b.Batches...)
	if _, err := l.Main.Commit(ctx, []File{b}); err != nil {
		t.Fatal(err)
	}
	tbl, err := l.Main.Refresh(ctx)
	if err != nil {
		t.Fatal(err)
	}
	at, err := tbl.Scan().ToArrowTable(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer at.Release()
	var set, null int
	tr := array.NewTableReader(at, 1024)
	defer tr.Release()
	for tr.Next() {
		rec := tr.RecordBatch()
		col := rec.Column(int(rec.Schema().FieldIndices("riskLevelNew")[0])).(*array.String)
		for i := range col.Len() {
			if col.IsNull(i) {
				null++
			} else if col.Value(i) == "high" {
				set++
			}
		}
	}
	if set != 2 || null != 3 {
		t.Errorf("riskLevelNew: %d set, %d null; want 2 and 3", set, null)
	}
	got := scanRowsOnly(t, l.Main)
	if n := len(got); n != 5 || !slices.ContainsFunc(got, func(s string) bool { return strings.Contains(s, `"riskNew":"r"`) }) {
		t.Errorf("%d rows, properties.riskNew not read back: %s", n, first(got))
	}
}

// An existing column whose type differs from ours is refused at Open,
// naming it, before anything is written.
func TestSchemaConflictRefused(t *testing.T) {
	lake := filepath.Join(t.TempDir(), "lake")
	old := openLake(t, Config{Lake: lake})
	loc := old.Main.Iceberg().MetadataLocation()
	later := laterRelease(t, func(y string) string {
		y = strings.Replace(y, "  - name: Level\n    description: Severity level or type of the event (e.g., Informational, Error).\n    type: bigint\n",
			"  - name: Level\n    type: string\n", 1)
		return strings.Replace(y, "      - name: aadTenantId\n        type: string\n", "      - name: aadTenantId\n        type: bigint\n", 1)
	})
	_, err := Open(t.Context(), Config{Lake: lake, LogType: later})
	if !errors.Is(err, ErrSchemaConflict) {
		t.Fatalf("open: %v, want ErrSchemaConflict", err)
	}
	for _, want := range []string{"Level: table long, ours string", "properties.aadTenantId: table string, ours long"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	again := openLake(t, Config{Lake: lake})
	if got := again.Main.Iceberg().MetadataLocation(); got != loc {
		t.Errorf("a refused open wrote %s (was %s)", got, loc)
	}
}
