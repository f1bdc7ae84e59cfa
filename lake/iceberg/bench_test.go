package iceberg

import (
	"fmt"
	"path/filepath"
	"testing"
)

// BenchmarkCommit measures one append of 4 files (one writer roll) on a
// local lake with the file catalog, the table growing by one snapshot an
// iteration. go test -run '^$' -bench Commit ./lake/iceberg
func BenchmarkCommit(b *testing.B) {
	l := openLake(b, Config{Lake: filepath.Join(b.TempDir(), "lake")})
	ctx := b.Context()
	cats := []string{"SignInLogs", "AuditLogs", "NonInteractiveUserSignInLogs", "MicrosoftGraphActivityLogs"}
	i := 0
	for b.Loop() {
		b.StopTimer()
		var files []File
		for _, cat := range cats {
			name := fmt.Sprintf("%s-%d", cat, i)
			f := File{Rel: relFor(b, l.Main, cat, dayOf(11), "part-"+name+".parquet"), Batches: []string{batchID(name)}}
			writeFile(b, l.Main, f.Rel, auditRows(cat, dayOf(11), 20, name), f.Batches...)
			files = append(files, f)
		}
		i++
		b.StartTimer()
		if _, err := l.Main.Commit(ctx, files); err != nil {
			b.Fatal(err)
		}
	}
}
