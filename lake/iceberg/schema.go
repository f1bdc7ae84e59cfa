package iceberg

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	ice "github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/table"

	"github.com/entralake/entralake/schema"
)

// tableDef is what Open creates a table with.
type tableDef struct {
	name string
	// arrow is our schema, without field ids.
	arrow *arrow.Schema
	// partition is the source column of the table's partitions (empty:
	// unpartitioned); identity is set for identity(category).
	identity string
	timeCol  string
	hourly   bool
	// sortCol is the sort order's column.
	sortCol string
}

// defs returns the two tables of cfg's log type.
func defs(cfg Config) []tableDef {
	return []tableDef{
		{name: cfg.LogType.Table(), arrow: cfg.LogType.ArrowSchema(), identity: "category", timeCol: schema.ColEventTime, hourly: cfg.Hourly, sortCol: schema.ColEventTime},
		// The quarantine table is unpartitioned: it has no category, its
		// only time is the parse time (which says nothing of the data's
		// day, and which one writer's file may span across midnight, so
		// that Iceberg would refuse the file), and it stays small.
		{name: cfg.LogType.QuarantineTable(), arrow: schema.QuarantineSchema(), sortCol: schema.ColParseTime},
	}
}

// properties are the table properties set at creation.
func (c Config) properties() ice.Properties {
	return ice.Properties{
		table.PropertyFormatVersion:               "2",
		"write.parquet.compression-codec":         "zstd",
		"write.parquet.compression-level":         strconv.Itoa(c.ZstdLevel),
		table.WriteTargetFileSizeBytesKey:         strconv.FormatInt(c.TargetFileSize, 10),
		table.ManifestMergeEnabledKey:             "true",
		table.MetadataDeleteAfterCommitEnabledKey: "true",
		table.MetadataPreviousVersionsMaxKey:      strconv.Itoa(c.MetadataVersions),
		table.CommitNumRetriesKey:                 "0", // commit retries are ours (see commit)
	}
}

// create creates d's table in o, or loads it when another process created
// it first.
func create(ctx context.Context, cfg Config, o *opened, st store, d tableDef) (*table.Table, error) {
	ident := append(slices.Clone(o.ns), d.name)
	sc, err := table.ArrowSchemaToIcebergWithFreshIDs(d.arrow, false)
	if err != nil {
		return nil, fmt.Errorf("table %s: convert schema: %w", d.name, err)
	}
	var fields []ice.PartitionOption
	if d.identity != "" {
		fields = append(fields, ice.AddPartitionFieldByName(d.identity, d.identity, ice.IdentityTransform{}, sc, nil))
	}
	if d.timeCol != "" {
		var tr ice.Transform = ice.DayTransform{}
		name := d.timeCol + "_day"
		if d.hourly {
			tr, name = ice.HourTransform{}, d.timeCol+"_hour"
		}
		fields = append(fields, ice.AddPartitionFieldByName(d.timeCol, name, tr, sc, nil))
	}
	spec, err := ice.NewPartitionSpecOpts(fields...)
	if err != nil {
		return nil, fmt.Errorf("table %s: partition spec: %w", d.name, err)
	}
	sortField, ok := sc.FindFieldByName(d.sortCol)
	if !ok {
		return nil, fmt.Errorf("table %s: no column %s to sort by", d.name, d.sortCol)
	}
	so, err := table.NewSortOrder(1, []table.SortField{{
		SourceIDs: []int{sortField.ID}, Transform: ice.IdentityTransform{},
		Direction: table.SortASC, NullOrder: table.NullsLast,
	}})
	if err != nil {
		return nil, fmt.Errorf("table %s: sort order: %w", d.name, err)
	}
	props := cfg.properties()
	// Readers of files without field ids (older writers, other tools)
	// need the name mapping from the first file on.
	mapping, err := json.Marshal(sc.NameMapping())
	if err != nil {
		return nil, err
	}
	props[table.DefaultNameMappingKey] = string(mapping)
	opts := []catalog.CreateTableOpt{catalog.WithPartitionSpec(&spec), catalog.WithSortOrder(so), catalog.WithProperties(props)}
	if !o.fixedLocation {
		opts = append(opts, catalog.WithLocation(st.location(d.name)))
	}
	tbl, err := o.cat.CreateTable(ctx, ident, sc, opts...)
	if errors.Is(err, catalog.ErrTableAlreadyExists) {
		return o.cat.LoadTable(ctx, ident)
	}
	return tbl, err
}

// conflicts lists the columns whose type in the table differs from ours,
// as "path: table T, ours U", and the table's required columns that ours
// lacks or has optional (we write nulls there).
func conflicts(tbl *ice.Schema, ours *ice.Schema) []string {
	var out []string
	var walk func(path string, t, o *ice.StructType)
	walk = func(path string, t, o *ice.StructType) {
		byName := map[string]ice.NestedField{}
		for _, f := range o.FieldList {
			byName[f.Name] = f
		}
		for _, tf := range t.FieldList {
			p := tf.Name
			if path != "" {
				p = path + "." + tf.Name
			}
			of, ok := byName[tf.Name]
			switch {
			case !ok:
				if tf.Required {
					out = append(out, p+": required in the table, missing from ours")
				}
			case tf.Required && !of.Required:
				out = append(out, p+": required in the table, optional in ours")
			default:
				compare(p, tf.Type, of.Type, &out, walk)
			}
		}
	}
	ts, us := tbl.AsStruct(), ours.AsStruct()
	walk("", &ts, &us)
	return out
}

// compare compares the types of one column, going into structs and lists.
func compare(path string, t, o ice.Type, out *[]string, walk func(string, *ice.StructType, *ice.StructType)) {
	switch tt := t.(type) {
	case *ice.StructType:
		if ot, ok := o.(*ice.StructType); ok {
			walk(path, tt, ot)
			return
		}
	case *ice.ListType:
		if ot, ok := o.(*ice.ListType); ok {
			compare(path+".element", tt.Element, ot.Element, out, walk)
			return
		}
	case *ice.MapType:
		if ot, ok := o.(*ice.MapType); ok {
			compare(path+".key", tt.KeyType, ot.KeyType, out, walk)
			compare(path+".value", tt.ValueType, ot.ValueType, out, walk)
			return
		}
	default:
		if t.Equals(o) {
			return
		}
	}
	*out = append(*out, fmt.Sprintf("%s: table %s, ours %s", path, t, o))
}

// evolveTx returns a transaction that adds to tbl the columns of ours
// that it lacks (matched by name; new columns get new ids) and keeps the
// name mapping property current, or nil when the table already matches.
// A column whose type differs from ours is an ErrSchemaConflict naming it.
func evolveTx(tbl *table.Table, name string, ours *arrow.Schema) (*table.Transaction, error) {
	oursIce, err := table.ArrowSchemaToIcebergWithFreshIDs(ours, false)
	if err != nil {
		return nil, fmt.Errorf("table %s: convert schema: %w", name, err)
	}
	if c := conflicts(tbl.Schema(), oursIce); len(c) > 0 {
		return nil, fmt.Errorf("%w: table %s: %s", ErrSchemaConflict, name, strings.Join(c, "; "))
	}
	tx := tbl.NewTransaction()
	if err := tx.UpdateSchema(true, false, table.WithNameMapping(tbl.NameMapping())).UnionByNameWith(oursIce).Commit(); err != nil {
		return nil, fmt.Errorf("table %s: evolve schema: %w", name, err)
	}
	staged, err := tx.StagedTable()
	if err != nil {
		return nil, err
	}
	want, err := json.Marshal(staged.Schema().NameMapping())
	if err != nil {
		return nil, err
	}
	if !sameMapping(staged.Properties()[table.DefaultNameMappingKey], want) {
		if err := tx.SetProperties(ice.Properties{table.DefaultNameMappingKey: string(want)}); err != nil {
			return nil, err
		}
	}
	if staged.Schema().ID == tbl.Schema().ID && sameMapping(tbl.Properties()[table.DefaultNameMappingKey], want) {
		return nil, nil
	}
	return tx, nil
}

// sameMapping reports whether the stored name mapping (JSON) equals want.
func sameMapping(stored string, want []byte) bool {
	if stored == string(want) {
		return true
	}
	var a, b any
	if json.Unmarshal([]byte(stored), &a) != nil || json.Unmarshal(want, &b) != nil {
		return false
	}
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// idSchema returns ours with the table's field ids (PARQUET:field_id on
// every field, nested ones too): our column order and types, the table's
// ids, matched by name. A file written with it carries the ids, so
// engines read it by id, whatever its column names.
func idSchema(tbl *table.Table, ours *arrow.Schema) (*arrow.Schema, error) {
	sc, err := table.ArrowSchemaToIceberg(ours, false, tbl.Schema().NameMapping())
	if err != nil {
		return nil, err
	}
	withIDs, err := table.SchemaToArrowSchema(sc, nil, true, false)
	if err != nil {
		return nil, err
	}
	if withIDs.NumFields() != ours.NumFields() {
		return nil, fmt.Errorf("schema with field ids has %d columns, ours %d", withIDs.NumFields(), ours.NumFields())
	}
	for i, f := range ours.Fields() {
		g := withIDs.Field(i)
		if f.Name != g.Name || !arrow.TypeEqual(f.Type, g.Type) || f.Nullable != g.Nullable {
			return nil, fmt.Errorf("column %s: with field ids it is %s %s, ours %s %s", f.Name, g.Name, g.Type, f.Name, f.Type)
		}
	}
	return withIDs, nil
}
