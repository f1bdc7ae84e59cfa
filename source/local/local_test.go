package local

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/entralake/entralake/stages/lister"
)

var _ lister.Source = Dir{}

func TestDir(t *testing.T) {
	root := t.TempDir()
	blob := "tenantId=t/y=2025/m=04/d=11/h=16/m=00/PT1H.json"
	p := filepath.Join(root, "insights-logs-signinlogs", filepath.FromSlash(blob))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("0123456789"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "README.md"), []byte("not a container"), 0o644); err != nil {
		t.Fatal(err)
	}
	d := Dir{Root: root}
	cs, err := d.Containers(t.Context())
	if err != nil || len(cs) != 1 || cs[0] != "insights-logs-signinlogs" {
		t.Fatalf("containers %v, %v", cs, err)
	}
	dirs, blobs, err := d.ListDir(t.Context(), cs[0], "tenantId=t/y=2025/m=04/d=11/h=16/m=00/")
	if err != nil || len(dirs) != 0 || len(blobs) != 1 || blobs[0].Name != blob || blobs[0].Size != 10 {
		t.Fatalf("ListDir: %v %+v %v", dirs, blobs, err)
	}
	rc, err := d.ReadRange(t.Context(), cs[0], blob, 3, 4)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if string(got) != "3456" {
		t.Fatalf("ReadRange(3, 4)=%q, want %q", got, "3456")
	}
	for _, bad := range []struct{ c, b string }{{"insights-logs-signinlogs", "../../etc/passwd"}, {"..", "x"}, {"a/b", "x"}, {"", "x"}} {
		if _, err := d.ReadRange(t.Context(), bad.c, bad.b, 0, -1); !errors.Is(err, ErrBadName) {
			t.Errorf("ReadRange(%q, %q) err=%v, want ErrBadName", bad.c, bad.b, err)
		}
	}
}
