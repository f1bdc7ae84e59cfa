package iceberg

import (
	"fmt"
	"path"
	"time"

	ice "github.com/apache/iceberg-go"
)

// PartitionPath returns the Iceberg partition path of a row whose
// partition source columns have the given values, e.g.
// "category=SignInLogs/p_event_time_day=2025-04-11" for
// {"category": "SignInLogs", "p_event_time": t} (a string for a string
// column, a time.Time for a timestamp column), or "" for an unpartitioned
// table. Files whose rows have one PartitionPath belong to one partition:
// it is what the writer groups rows by.
func (t *Table) PartitionPath(values map[string]any) (string, error) {
	tbl := t.Iceberg()
	spec, sc := tbl.Spec(), tbl.Schema()
	rec := partitionRecord(make([]any, spec.NumFields()))
	for i := range spec.NumFields() {
		pf := spec.Field(i)
		src, ok := sc.FindFieldByID(pf.SourceIDs[0])
		if !ok {
			return "", fmt.Errorf("table %s: partition field %s: no source column %d", t.name, pf.Name, pf.SourceIDs[0])
		}
		v, ok := values[src.Name]
		if !ok || v == nil {
			return "", fmt.Errorf("table %s: partition field %s needs a value of %s", t.name, pf.Name, src.Name)
		}
		lit, err := literal(src.Type, v)
		if err != nil {
			return "", fmt.Errorf("table %s: partition field %s: %w", t.name, pf.Name, err)
		}
		out := pf.Transform.Apply(ice.Optional[ice.Literal]{Valid: true, Val: lit})
		if !out.Valid {
			return "", fmt.Errorf("table %s: partition field %s: no value for %v", t.name, pf.Name, v)
		}
		rec[i] = out.Val.Any()
	}
	return spec.PartitionToPath(rec, sc), nil
}

// DataFileRel returns where to write a new data file named name in the
// partition partitionPath (from PartitionPath): its path relative to the
// lake, <table>/data/<partition path>/<name>. Commit takes it back.
func (t *Table) DataFileRel(partitionPath, name string) string {
	return path.Join(t.rel, "data", partitionPath, name)
}

// literal makes an Iceberg literal of type typ from a Go value.
func literal(typ ice.Type, v any) (ice.Literal, error) {
	switch typ.(type) {
	case ice.StringType:
		if s, ok := v.(string); ok {
			return ice.NewLiteral(s), nil
		}
	case ice.TimestampTzType, ice.TimestampType:
		if tm, ok := v.(time.Time); ok {
			return ice.NewLiteral(ice.Timestamp(tm.UnixMicro())), nil
		}
	case ice.Int64Type:
		if n, ok := v.(int64); ok {
			return ice.NewLiteral(n), nil
		}
	}
	return nil, fmt.Errorf("a %T cannot be a %s value", v, typ)
}

// partitionRecord is a partition's values in spec order (iceberg-go's
// StructLike).
type partitionRecord []any

func (r partitionRecord) Size() int        { return len(r) }
func (r partitionRecord) Get(i int) any    { return r[i] }
func (r partitionRecord) Set(i int, v any) { r[i] = v }
