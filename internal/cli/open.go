package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	azsource "github.com/entralake/entralake/source/azureblob"
	"github.com/entralake/entralake/source/local"
	"github.com/entralake/entralake/stages/lister"
	"github.com/entralake/entralake/stages/writer"
	azlake "github.com/entralake/entralake/stages/writer/azureblob"
)

// Source is what the lister lists and the parsers read.
type Source interface {
	lister.Source
	ReadRange(ctx context.Context, container, blob string, off, n int64) (io.ReadCloser, error)
}

// Azure credentials come from the environment only (see
// source/azureblob's package doc for the order): AZURE_STORAGE_CONNECTION_STRING,
// a SAS in the URL or AZURE_STORAGE_SAS_TOKEN, AZURE_STORAGE_KEY (limited to
// AZURE_STORAGE_ACCOUNT when set), else DefaultAzureCredential (AZURE_CLIENT_ID...,
// workload identity, managed identity, Azure CLI). There is no flag on purpose:
// a secret in argv shows in ps and /proc/<pid>/cmdline to every user of the
// machine, and in shell history.
func azureAuth() azsource.Auth { return azsource.AuthFromEnv() }

// openSource opens --source: a local export folder, or the URL of an Azure
// storage account (every insights-logs-* container) or of one container.
func openSource(ctx context.Context, f SourceFlags) (Source, error) {
	if azsource.IsURL(f.Source) {
		src, err := azsource.Open(azsource.Config{URL: f.Source, Auth: azureAuth(), Containers: f.Containers})
		if err != nil {
			return nil, fmt.Errorf("source: %w", err)
		}
		return src, nil
	}
	info, err := os.Stat(f.Source)
	if err != nil {
		return nil, fmt.Errorf("source: %w", err)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("source %s is not a folder", f.Source)
	}
	return local.Dir{Root: f.Source, Only: f.Containers}, nil
}

// openLake opens --lake: a local folder, or the URL of a container (and
// folder) in Azure Blob Storage or ADLS Gen2.
func openLake(ctx context.Context, f WriterFlags, log *slog.Logger) (lake, error) {
	if azsource.IsURL(f.Lake) {
		lake, err := azlake.Open(ctx, azlake.Config{URL: f.Lake, Auth: azureAuth()})
		if err != nil {
			return nil, fmt.Errorf("lake: %w", err)
		}
		if err := lake.Probe(ctx); err != nil {
			return nil, err
		}
		log.Info("lake in Azure Blob Storage", "url", lake.String(), "auth", lake.Account().Method())
		return lake, nil
	}
	lake := writer.DirLake{Root: f.Lake}
	if err := lake.Probe(ctx); err != nil {
		return nil, err
	}
	if n, err := lake.RemoveStaleTemp(time.Hour); err == nil && n > 0 {
		log.Info("removed temporary files of crashed writers", "files", n)
	}
	return lake, nil
}

// prober is a lake that can check it takes a file (writer.DirLake and
// the Azure lake do).
type prober interface {
	Probe(ctx context.Context) error
}

// probeLake checks that lake takes a file.
func probeLake(ctx context.Context, lake writer.Lake) error {
	if p, ok := lake.(prober); ok {
		return p.Probe(ctx)
	}
	return nil
}

// checkSource lists the top of every container of the source, so that a
// source that cannot be read (permission denied, a missing container,
// rejected credentials) fails at start, naming what failed.
func checkSource(ctx context.Context, src Source) error {
	cs, err := src.Containers(ctx)
	if err != nil {
		return fmt.Errorf("source: %w", err)
	}
	for _, c := range cs {
		if _, _, err := src.ListDir(ctx, c, ""); err != nil {
			return fmt.Errorf("source: list %s: %w", c, err)
		}
	}
	return nil
}

// azureSourceID returns the source id of an Azure URL: the URL without its
// query, which may be a SAS.
func azureSourceID(s string) (string, bool) {
	if !azsource.IsURL(s) {
		return "", false
	}
	loc, err := azsource.ParseURL(s)
	if err != nil {
		return "", false
	}
	return loc.String(), true
}

// safeLocation returns a --source or --lake value fit for logs: an Azure
// URL loses its query.
func safeLocation(s string) string {
	if id, ok := azureSourceID(s); ok {
		return id
	}
	if azsource.IsURL(s) {
		return "(unparsable URL)"
	}
	return s
}
