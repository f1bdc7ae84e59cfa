package cli

import (
	"context"
	"path"
	"strings"

	"github.com/entralake/entralake/internal/ddl"
	"github.com/entralake/entralake/lake/iceberg"
	"github.com/entralake/entralake/schema"
)

// openIceberg opens (creating them if missing) the Iceberg tables of the
// lake, for compact, ddl and status. zstd is the compression level of
// new tables (0: the default); lock, if not nil, the writers' commit lock.
func openIceberg(ctx context.Context, lake string, f TableFlags, lt *schema.LogType, zstd int, lock iceberg.Locker) (*iceberg.Lake, error) {
	return iceberg.Open(ctx, iceberg.Config{Lake: lake, Catalog: f.Catalog, REST: iceberg.RESTFromEnv(), LogType: lt, ZstdLevel: zstd, Locker: lock})
}

// icebergDDL describes the lake's tables for ddl.GenerateIceberg.
func icebergDDL(ctx context.Context, l *iceberg.Lake, f TableFlags, snapshotFiles bool) (ddl.IcebergOptions, error) {
	o := ddl.IcebergOptions{Catalog: f.Catalog, SnapshotFiles: snapshotFiles}
	for _, t := range []*iceberg.Table{l.Main, l.Quarantine} {
		tbl, err := t.Refresh(ctx)
		if err != nil {
			return o, err
		}
		it := ddl.IcebergTable{Name: t.Rel(), Location: t.Location(), Metadata: tbl.MetadataLocation()}
		if snapshotFiles {
			files, err := t.Files(ctx)
			if err != nil {
				return o, err
			}
			for _, fi := range files {
				it.Files = append(it.Files, fi.Location)
			}
		}
		o.Tables = append(o.Tables, it)
	}
	o.Namespace = strings.TrimSuffix(l.Main.Name(), "."+l.Main.Rel())
	o.Warehouse = iceberg.RESTFromEnv().Warehouse
	if f.Catalog == "" {
		o.Warehouse = parentLocation(parentLocation(l.Main.Location()))
	}
	return o, nil
}

// parentLocation is the folder holding loc, a path or URL.
func parentLocation(loc string) string {
	if i := strings.Index(loc, "://"); i > 0 {
		return loc[:i+3] + path.Dir(loc[i+3:])
	}
	return path.Dir(loc)
}
