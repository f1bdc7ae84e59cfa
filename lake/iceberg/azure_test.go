package iceberg

import (
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"

	"github.com/entralake/entralake/internal/azurite"
)

// azureLake starts Azurite, creates container, and returns the lake URL
// <container>/lake and the server.
func azureLake(t *testing.T, container string) (string, *azurite.Server) {
	t.Helper()
	srv := azurite.Start(t)
	cl, err := azblob.NewClientFromConnectionString(srv.ConnectionString, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.CreateContainer(t.Context(), container, nil); err != nil {
		t.Fatal(err)
	}
	return srv.URL(container + "/lake"), srv
}

// The tables on Azure Blob Storage (Azurite), with each kind of secret of
// our credential chain: created, committed to, read back through a new
// catalog instance; then the maintenance primitives.
func TestAzureLake(t *testing.T) {
	lake, srv := azureLake(t, "lakes")
	cl, _ := azblob.NewClientFromConnectionString(srv.ConnectionString, nil)
	sasURL, err := cl.ServiceClient().NewContainerClient("lakes").GetSASURL(
		sas.ContainerPermissions{Read: true, Add: true, Create: true, Write: true, Delete: true, List: true},
		time.Now().Add(time.Hour), nil)
	if err != nil {
		t.Fatal(err)
	}
	su, _ := url.Parse(sasURL)
	auths := []struct {
		name string
		auth AzureAuth
		lake string
	}{
		{"connection string", AzureAuth{ConnectionString: srv.ConnectionString}, lake},
		{"account key", AzureAuth{AccountKey: azurite.Key}, lake},
		{"SAS in the URL", AzureAuth{}, lake + "?" + su.RawQuery},
		{"SAS token", AzureAuth{SASToken: su.RawQuery}, lake},
	}
	ctx := t.Context()
	for i, a := range auths {
		t.Run(a.name, func(t *testing.T) {
			l := openLake(t, Config{Lake: a.lake, Azure: &a.auth})
			if got, want := l.Main.Location(), "abfs://lakes@devstoreaccount1.dfs.core.windows.net/lake/azure_audit"; got != want {
				t.Errorf("location %s, want %s", got, want)
			}
			if !l.Main.NeedsLocker() {
				t.Error("the file catalog on Azure does not ask for a locker")
			}
			name := strings.ReplaceAll(a.name, " ", "-")
			rows := auditRows("SignInLogs", dayOf(11), 3, name)
			f := File{Rel: relFor(t, l.Main, "SignInLogs", dayOf(11), "part-"+name+".parquet"), Batches: []string{batchID(name)}}
			writeFile(t, l.Main, f.Rel, rows, f.Batches...)
			if _, err := l.Main.Commit(ctx, []File{f}); err != nil {
				t.Fatal(err)
			}
			r := openLake(t, Config{Lake: a.lake, Azure: &a.auth})
			if got := scanRowsOnly(t, r.Main); len(got) != 3*(i+1) {
				t.Errorf("read back %d rows, want %d", len(got), 3*(i+1))
			}
			if got, err := r.Main.Committed(ctx, []string{batchID(name)}); err != nil || len(got) != 1 {
				t.Errorf("committed %v, %v", got, err)
			}
		})
	}
}

func TestAzureMaintenance(t *testing.T) {
	lake, srv := azureLake(t, "compact")
	l := openLake(t, Config{Lake: lake, Azure: &AzureAuth{ConnectionString: srv.ConnectionString}})
	// Blob times cannot be set back: every file no snapshot names is an
	// orphan at age 0 (what RemoveOrphans refuses to do outside tests).
	maintenance(t, l, func(tab *Table) ([]string, error) {
		return tab.removeOrphans(t.Context(), 0)
	}, func(string) {}, false)
}

// The file catalog on object storage is not atomic: with a Locker two
// catalog instances commit to one table exactly once each.
func TestAzureConcurrentCommitsWithLocker(t *testing.T) {
	lake, srv := azureLake(t, "locked")
	var lk memLocker
	concurrentCommits(t, Config{Lake: lake, Azure: &AzureAuth{ConnectionString: srv.ConnectionString}, Locker: &lk}, 2, 5)
	if lk.calls < 10 {
		t.Errorf("the locker was asked %d times for 10 commits", lk.calls)
	}
}

// An SQL catalog with an Azure lake: the tables are located in the lake.
func TestAzureSQLCatalog(t *testing.T) {
	lake, srv := azureLake(t, "sqlcat")
	l := openLake(t, Config{Lake: lake, Catalog: "sqlite:" + t.TempDir() + "/c.db", Azure: &AzureAuth{ConnectionString: srv.ConnectionString}})
	if l.Main.NeedsLocker() {
		t.Error("an SQL catalog asks for a locker")
	}
	if got, want := l.Main.Iceberg().Location(), "abfs://sqlcat@devstoreaccount1.dfs.core.windows.net/lake/azure_audit"; got != want {
		t.Errorf("location %s, want %s", got, want)
	}
	f := File{Rel: relFor(t, l.Main, "AuditLogs", dayOf(11), "part-a.parquet"), Batches: []string{batchID("a")}}
	rows := auditRows("AuditLogs", dayOf(11), 4, "a")
	writeFile(t, l.Main, f.Rel, rows, f.Batches...)
	if _, err := l.Main.Commit(t.Context(), []File{f}); err != nil {
		t.Fatal(err)
	}
	if got := scanRowsOnly(t, l.Main); !slices.Equal(got, wantRows(t, l.Main.ours, rows)) {
		t.Errorf("read back %d rows", len(got))
	}
}

// Azure lakes the file catalog cannot hold, and secrets kept out of
// errors.
func TestAzureBadLakes(t *testing.T) {
	lake, srv := azureLake(t, "exists")
	const sig = "U2VjcmV0U2lnbmF0dXJl"
	for _, c := range []struct {
		name, lake string
		auth       AzureAuth
		want       error
	}{
		{"container root", srv.URL("exists"), AzureAuth{ConnectionString: srv.ConnectionString}, ErrConfig},
		{"no container", srv.Endpoint, AzureAuth{ConnectionString: srv.ConnectionString}, ErrConfig},
		{"path-style host not on loopback", strings.Replace(lake, "127.0.0.1", "azurite", 1), AzureAuth{AccountKey: azurite.Key}, ErrConfig},
		{"missing container, bad SAS", srv.URL("missing/lake") + "?sv=2024-11-04&sp=rl&sig=" + sig, AzureAuth{}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Open(t.Context(), Config{Lake: c.lake, Azure: &c.auth, LogType: auditType(t)})
			if err == nil {
				t.Fatal("opened")
			}
			if c.want != nil && !errors.Is(err, c.want) {
				t.Errorf("%v, want %v", err, c.want)
			}
			if strings.Contains(err.Error(), sig) {
				t.Errorf("error shows the SAS: %v", err)
			}
			t.Log(err)
		})
	}
}
