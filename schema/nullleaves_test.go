package schema

import (
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// TestNullLeaves checks the leaf paths NullLeaves reports: those with no
// value in any record, through structs and lists, named as Parquet names
// them.
func TestNullLeaves(t *testing.T) {
	sch := arrow.NewSchema([]arrow.Field{
		{Name: "time", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "properties", Type: arrow.StructOf(
			arrow.Field{Name: "a", Type: arrow.BinaryTypes.String, Nullable: true},
			arrow.Field{Name: "b", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		), Nullable: true},
		{Name: "ips", Type: arrow.ListOf(arrow.BinaryTypes.String), Nullable: true},
		{Name: "ids", Type: arrow.ListOf(arrow.BinaryTypes.String), Nullable: true},
	}, nil)
	build := func(fill func(b *array.RecordBuilder)) arrow.RecordBatch {
		b := array.NewRecordBuilder(memory.DefaultAllocator, sch)
		defer b.Release()
		fill(b)
		return b.NewRecordBatch()
	}
	props := func(b *array.RecordBuilder, a *string) {
		st := b.Field(1).(*array.StructBuilder)
		st.Append(true)
		if a != nil {
			st.FieldBuilder(0).(*array.StringBuilder).Append(*a)
		} else {
			st.FieldBuilder(0).(*array.StringBuilder).AppendNull()
		}
		st.FieldBuilder(1).(*array.Int64Builder).AppendNull()
	}
	x := "x"
	first := build(func(b *array.RecordBuilder) {
		b.Field(0).(*array.StringBuilder).Append("2025-04-11T16:00:00Z")
		props(b, nil)
		b.Field(2).(*array.ListBuilder).Append(true) // an empty list: no element
		ids := b.Field(3).(*array.ListBuilder)
		ids.Append(true)
		ids.ValueBuilder().(*array.StringBuilder).Append("id-1")
	})
	defer first.Release()
	second := build(func(b *array.RecordBuilder) {
		b.Field(0).(*array.StringBuilder).AppendNull()
		props(b, &x)
		b.Field(2).(*array.ListBuilder).AppendNull()
		b.Field(3).(*array.ListBuilder).AppendNull()
	})
	defer second.Release()

	for _, c := range []struct {
		recs []arrow.RecordBatch
		want []string
	}{
		{[]arrow.RecordBatch{first}, []string{"properties.a", "properties.b", "ips.list.element"}},
		{[]arrow.RecordBatch{second}, []string{"time", "properties.b", "ips.list.element", "ids.list.element"}},
		{[]arrow.RecordBatch{first, second}, []string{"properties.b", "ips.list.element"}},
	} {
		if got := NullLeaves(c.recs); !slices.Equal(got, c.want) {
			t.Errorf("NullLeaves of %d records = %q, want %q", len(c.recs), got, c.want)
		}
	}
}
