package cli

import (
	"bytes"
	"context"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"
	"github.com/entralake/entralake/internal/azurite"
)

// TestAzureUnusableFailsAtStart checks that a source or lake in Azure that
// can never be used (a missing container, a rejected key) ends `run --once`
// at start with exit 1 and an error naming what failed. A lake with a
// rejected key used to be retried forever: creating the container was
// allowed to fail (a SAS may not create containers) and every file then
// failed.
func TestAzureUnusableFailsAtStart(t *testing.T) {
	az := azurite.Start(t)
	svc, err := service.NewClientFromConnectionString(az.ConnectionString, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateContainer(context.Background(), "insights-logs-signinlogs", nil); err != nil {
		t.Fatal(err)
	}
	wrongKey := strings.Replace(az.ConnectionString, azurite.Key, base64.StdEncoding.EncodeToString([]byte("not the account's key, 32 bytes!")), 1)
	for _, tc := range []struct {
		name, conn, source, lake string
		mention                  []string
	}{
		{"missing source container", az.ConnectionString, az.URL("insights-logs-missing"), t.TempDir(),
			[]string{"insights-logs-missing", "ContainerNotFound"}},
		{"source key rejected", wrongKey, az.URL("insights-logs-signinlogs"), t.TempDir(),
			[]string{"insights-logs-signinlogs", "403"}},
		{"lake key rejected", wrongKey, "../../testdata/export", az.URL("lake"),
			[]string{"lake", "403", "is not usable"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("AZURE_STORAGE_CONNECTION_STRING", tc.conn)
			var out, errb bytes.Buffer
			code := Main([]string{"run", "--source", tc.source, "--lake", tc.lake, "--data-dir", t.TempDir(), "--once", "--log-level", "error"}, &out, &errb)
			if code != ExitFailure {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, ExitFailure, errb.String())
			}
			line := strings.TrimSpace(errb.String())
			line = line[strings.LastIndexByte(line, '\n')+1:]
			for _, want := range tc.mention {
				if !strings.Contains(line, want) {
					t.Errorf("error %q does not mention %q", line, want)
				}
			}
		})
	}
}
