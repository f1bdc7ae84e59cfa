package azurite

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"
)

// Fixtures: an Entra export laid out in Azurite as Azure writes it, for
// the tests of the Azure source and of the pipeline on it.

// Tenant and ResourcePrefix are the ids in the names of test blobs.
const (
	Tenant         = "5e0d7c3a-9b21-4f6e-8a4d-2c7b1e9f0a53"
	ResourcePrefix = "resourceId=/SUBSCRIPTIONS/B7A1C2D3-4E5F-4A6B-9C8D-7E6F5A4B3C2D/RESOURCEGROUPS/RG-ENTRA-DIAGNOSTICS/PROVIDERS/MICROSOFT.AADIAM/TENANTS/5E0D7C3A-9B21-4F6E-8A4D-2C7B1E9F0A53/"
)

// BlobName is the name Azure gives the export blob of an hour, in the
// tenantId= form or the resourceId= form.
func BlobName(h time.Time, resourceForm bool) string {
	p := "tenantId=" + Tenant + "/"
	if resourceForm {
		p = ResourcePrefix
	}
	return p + h.UTC().Format("y=2006/m=01/d=02/h=15/m=00/PT1H.json")
}

// Container returns a client of container name, created if missing.
func (s *Server) Container(t testing.TB, name string) *container.Client {
	t.Helper()
	svc, err := service.NewClientFromConnectionString(s.ConnectionString, nil)
	if err != nil {
		t.Fatal(err)
	}
	cc := svc.NewContainerClient(name)
	if _, err := cc.Create(t.Context(), nil); err != nil && !strings.Contains(err.Error(), "ContainerAlreadyExists") {
		t.Fatalf("create container %s: %v", name, err)
	}
	return cc
}

// AppendBlob creates an append blob and appends each chunk as one block,
// as Azure Monitor does with each batch of records.
func AppendBlob(t testing.TB, cc *container.Client, name string, chunks ...[]byte) {
	t.Helper()
	if err := CreateAppendBlob(context.WithoutCancel(t.Context()), cc, name, chunks...); err != nil {
		t.Fatal(err)
	}
}

// CreateAppendBlob is AppendBlob for other goroutines than the test's.
func CreateAppendBlob(ctx context.Context, cc *container.Client, name string, chunks ...[]byte) error {
	if _, err := cc.NewAppendBlobClient(name).Create(ctx, nil); err != nil {
		return fmt.Errorf("create append blob %s: %w", name, err)
	}
	return appendBlocks(ctx, cc, name, chunks...)
}

// AppendTo appends each chunk as one block to an existing append blob.
func AppendTo(t testing.TB, cc *container.Client, name string, chunks ...[]byte) {
	t.Helper()
	if err := appendBlocks(context.WithoutCancel(t.Context()), cc, name, chunks...); err != nil {
		t.Fatal(err)
	}
}

func appendBlocks(ctx context.Context, cc *container.Client, name string, chunks ...[]byte) error {
	ab := cc.NewAppendBlobClient(name)
	for _, c := range chunks {
		if len(c) == 0 {
			continue
		}
		if _, err := ab.AppendBlock(ctx, streaming.NopCloser(bytes.NewReader(c)), nil); err != nil {
			return fmt.Errorf("append to %s: %w", name, err)
		}
	}
	return nil
}

// Blob is a blob uploaded by a test, with its bytes.
type Blob struct {
	Container, Name string
	Data            []byte
}

// UploadTree uploads a local export folder (<container>/<blob path>) as
// append blobs, byte for byte, a block per two lines as Azure appends them.
func (s *Server) UploadTree(t testing.TB, root string) []Blob {
	t.Helper()
	var out []Blob
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".json") {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		cont, name, _ := strings.Cut(filepath.ToSlash(rel), "/")
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		AppendBlob(t, s.Container(t, cont), name, SplitLines(data, 2)...)
		out = append(out, Blob{cont, name, data})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// SplitLines cuts data after every n-th newline.
func SplitLines(data []byte, n int) [][]byte {
	var out [][]byte
	seen, start := 0, 0
	for i, c := range data {
		if c == '\n' {
			seen++
			if seen%n == 0 {
				out = append(out, data[start:i+1])
				start = i + 1
			}
		}
	}
	if start < len(data) {
		out = append(out, data[start:])
	}
	return out
}
