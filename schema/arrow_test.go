package schema

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
)

func TestArrowSchema(t *testing.T) {
	lt, err := Load("Azure.Audit")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	s := lt.ArrowSchema()

	utf8 := arrow.BinaryTypes.String
	list := func(t arrow.DataType) arrow.DataType {
		return arrow.ListOfField(arrow.Field{Name: "element", Type: t, Nullable: true})
	}
	str := func(name string) arrow.Field { return arrow.Field{Name: name, Type: utf8, Nullable: true} }
	targetResources := list(arrow.StructOf(
		str("displayName"),
		str("id"),
		arrow.Field{Name: "modifiedProperties", Nullable: true, Type: list(arrow.StructOf(
			str("oldValue"), str("displayName"), str("newValue"),
		))},
		str("type"),
		str("administrativeUnits"),
		str("groupType"),
		str("userPrincipalName"),
	))
	ts := &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}

	props := mustField(t, s, "properties").Type.(*arrow.StructType)
	propField := func(name string) arrow.DataType {
		f, ok := props.FieldByName(name)
		if !ok {
			t.Fatalf("properties has no field %s", name)
		}
		return f.Type
	}
	tests := []struct {
		name string
		got  arrow.DataType
		want arrow.DataType
	}{
		{"Level", mustField(t, s, "Level").Type, arrow.PrimitiveTypes.Int64},
		{"time", mustField(t, s, "time").Type, ts},
		{"locationDetails", mustField(t, s, "locationDetails").Type, utf8},
		{"properties._billedSize", propField("_billedSize"), arrow.PrimitiveTypes.Float64},
		{"properties.flaggedForReview", propField("flaggedForReview"), arrow.FixedWidthTypes.Boolean},
		{"properties.__UDI_RequiredFields_EventTime", propField("__UDI_RequiredFields_EventTime"), ts},
		{"properties.targetResources", propField("targetResources"), targetResources},
		{"properties.additionalDetails", propField("additionalDetails"), list(arrow.StructOf(str("key"), str("value")))},
		{"properties.mfaDetail", propField("mfaDetail"), arrow.StructOf(str("authDetail"), str("authMethod"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !arrow.TypeEqual(tt.got, tt.want) {
				t.Errorf("type=%s, want %s", tt.got, tt.want)
			}
		})
	}

	// The list child is named "element" (three-level Parquet LIST).
	lt2 := propField("targetResources").(*arrow.ListType)
	if got, want := lt2.ElemField().Name, "element"; got != want {
		t.Errorf("targetResources child=%q, want %q", got, want)
	}

	// Data fields in schema order, then the p_ columns.
	wantNames := make([]string, 0, len(lt.Fields)+11)
	for _, f := range lt.Fields {
		wantNames = append(wantNames, f.Name)
	}
	wantNames = append(wantNames, ColLogType, ColEventTime, ColParseTime, ColRowID, ColSourceID,
		ColSourceLabel, ColSourceFile, ColAnyIPAddresses, ColAnyUsernames, ColAnyTraceIDs, ColExtra)
	assertNames(t, s, wantNames)
	for _, f := range s.Fields() {
		if !f.Nullable {
			t.Errorf("column %s is not nullable", f.Name)
		}
	}

	pcols := []struct {
		name string
		want arrow.DataType
	}{
		{ColLogType, utf8},
		{ColEventTime, ts},
		{ColParseTime, ts},
		{ColRowID, utf8},
		{ColSourceID, utf8},
		{ColSourceLabel, utf8},
		{ColSourceFile, arrow.StructOf(
			str("blob"),
			arrow.Field{Name: "offset", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
			arrow.Field{Name: "index", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		)},
		{ColAnyIPAddresses, list(utf8)},
		{ColAnyUsernames, list(utf8)},
		{ColAnyTraceIDs, list(utf8)},
		{ColExtra, utf8},
	}
	for _, c := range pcols {
		if got := mustField(t, s, c.name).Type; !arrow.TypeEqual(got, c.want) {
			t.Errorf("%s type=%s, want %s", c.name, got, c.want)
		}
	}
}

func TestQuarantineSchema(t *testing.T) {
	s := QuarantineSchema()
	assertNames(t, s, []string{ColLogType, ColRowID, ColParseTime, ColSourceID, ColSourceLabel,
		ColSourceFile, ColReason, ColRaw, ColRawSize})
	tests := []struct {
		name string
		want arrow.DataType
	}{
		{ColParseTime, &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}},
		{ColSourceFile, SourceFileType},
		{ColReason, arrow.BinaryTypes.String},
		{ColRaw, arrow.BinaryTypes.Binary},
		{ColRawSize, arrow.PrimitiveTypes.Int64},
	}
	for _, tt := range tests {
		if got := mustField(t, s, tt.name).Type; !arrow.TypeEqual(got, tt.want) {
			t.Errorf("%s type=%s, want %s", tt.name, got, tt.want)
		}
	}
}

func mustField(t *testing.T, s *arrow.Schema, name string) arrow.Field {
	t.Helper()
	fs, ok := s.FieldsByName(name)
	if !ok || len(fs) != 1 {
		t.Fatalf("schema has %d columns named %s, want 1", len(fs), name)
	}
	return fs[0]
}

func assertNames(t *testing.T, s *arrow.Schema, want []string) {
	t.Helper()
	if got := s.NumFields(); got != len(want) {
		t.Fatalf("columns=%d, want %d", got, len(want))
	}
	for i, f := range s.Fields() {
		if got, want := f.Name, want[i]; got != want {
			t.Errorf("column %d=%q, want %q", i, got, want)
		}
	}
}
