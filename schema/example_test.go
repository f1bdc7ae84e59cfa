package schema_test

import (
	"fmt"

	"github.com/entralake/entralake/schema"
)

func ExampleLoad() {
	lt, err := schema.Load("Azure.Audit")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(lt.Table(), lt.QuarantineTable(), lt.EventTimeField().Name)
	s := lt.ArrowSchema()
	fmt.Println(s.Field(0), s.Field(s.NumFields()-1))
	// Output:
	// azure_audit azure_audit_quarantine time
	// Level: type=int64, nullable p_extra: type=utf8, nullable
}
