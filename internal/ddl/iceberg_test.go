package ddl_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/entralake/entralake/internal/ddl"
)

// icebergLakes are the lakes the Iceberg golden files are written for:
// each kind of catalog, a local and an Azure lake, and an S3 one (for
// Athena).
var icebergLakes = []struct {
	name string
	opt  ddl.IcebergOptions
}{
	{"file catalog, local lake", icebergOpt("/srv/entra/lake", "", "/srv/entra")},
	{"file catalog, Azure lake", icebergOpt("abfss://lake@contosolake.dfs.core.windows.net/entra", "", "abfss://lake@contosolake.dfs.core.windows.net")},
	{"PostgreSQL catalog, Azure lake", icebergOpt("abfss://lake@contosolake.dfs.core.windows.net/entra", "postgres://entralake:pw-4711@db.example.com:5432/iceberg?sslmode=require", "")},
	{"REST catalog, S3 lake", icebergOpt("s3://example-bucket/entra", "https://polaris.example.com/api/catalog", "entra_catalog")},
}

// icebergOpt describes the tables of a lake at lakeLoc, as `entralake
// ddl` reads them from the catalog.
func icebergOpt(lakeLoc, catalog, warehouse string) ddl.IcebergOptions {
	o := ddl.IcebergOptions{Catalog: catalog, Namespace: "entra", Warehouse: warehouse}
	if strings.HasSuffix(lakeLoc, "/lake") {
		o.Namespace = "lake"
	}
	meta := "v7.metadata.json"
	if catalog != "" {
		meta = "00006-0b1e6a4e-5a0c-4d4e-9f51-3f1f0c5b8a10.metadata.json"
	}
	for _, n := range []string{"azure_audit", "azure_audit_quarantine"} {
		o.Tables = append(o.Tables, ddl.IcebergTable{Name: n, Location: lakeLoc + "/" + n, Metadata: lakeLoc + "/" + n + "/metadata/" + meta})
	}
	return o
}

// TestIcebergGolden compares, per engine, what attaches the tables of each
// lake of icebergLakes with testdata/iceberg-<engine>.golden (refresh with
// go test -update). The golden files were checked by hand against each
// engine's documentation; none of these engines runs here (DuckDB's
// iceberg extension cannot be downloaded offline: e2e runs the
// SnapshotFiles form instead).
func TestIcebergGolden(t *testing.T) {
	for _, e := range ddl.Engines() {
		t.Run(string(e), func(t *testing.T) {
			var b strings.Builder
			for _, l := range icebergLakes {
				b.WriteString("=== " + l.name + "\n")
				got, err := ddl.GenerateIceberg(e, l.opt)
				if err != nil {
					b.WriteString("error: " + err.Error() + "\n\n")
					continue
				}
				b.WriteString(got + "\n")
			}
			if e == ddl.DuckDB {
				o := icebergLakes[0].opt
				o.SnapshotFiles = true
				o.Tables[0].Files = []string{"/srv/entra/lake/azure_audit/data/category=SignInLogs/p_event_time_day=2025-04-11/part-a.parquet", "/srv/entra/lake/azure_audit/data/category=AuditLogs/p_event_time_day=2025-04-11/part-b.parquet"}
				got, err := ddl.GenerateIceberg(e, o)
				if err != nil {
					t.Fatal(err)
				}
				b.WriteString("=== snapshot files\n" + got)
			}
			path := filepath.Join("testdata", "iceberg-"+string(e)+".golden")
			if *update {
				if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if b.String() != string(want) {
				t.Errorf("iceberg ddl for %s differs from %s (run go test -update and review the diff):\n%s", e, path, firstDiff(b.String(), string(want)))
			}
			if strings.Contains(b.String(), "pw-4711") {
				t.Error("the catalog's password is in the output")
			}
		})
	}
}

// Engines that cannot read a lake where it is say so.
func TestIcebergRefused(t *testing.T) {
	local := icebergLakes[0].opt
	for _, e := range []ddl.Engine{ddl.Athena, ddl.Snowflake} {
		if _, err := ddl.GenerateIceberg(e, local); !errors.Is(err, ddl.ErrInvalidOption) || !strings.Contains(err.Error(), "/srv/entra/lake") {
			t.Errorf("%s on a local lake: %v, want ErrInvalidOption naming the lake", e, err)
		}
	}
	if _, err := ddl.GenerateIceberg(ddl.DuckDB, ddl.IcebergOptions{}); !errors.Is(err, ddl.ErrInvalidOption) {
		t.Errorf("no tables: %v", err)
	}
	if _, err := ddl.GenerateIceberg("bigquery", local); !errors.Is(err, ddl.ErrUnknownEngine) {
		t.Errorf("unknown engine: %v", err)
	}
}
