package workers

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestStartServerStoreIsFile checks that a server whose store is a file
// fails with the reason, not after a 30-second wait for readiness.
func TestStartServerStoreIsFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "state")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := StartServer(ServerConfig{Dir: filepath.Join(file, "jetstream"), Port: -1})
	if err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Fatalf("err=%v, want one that says the store is not a directory", err)
	}
}
