package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/entralake/entralake/internal/azstorage"
	"github.com/entralake/entralake/internal/location"
	"github.com/entralake/entralake/lake/dir"
	"github.com/entralake/entralake/lake/objstore"
	"github.com/entralake/entralake/schema"
	azsource "github.com/entralake/entralake/source/azureblob"
	"github.com/entralake/entralake/source/local"
	"github.com/entralake/entralake/stages/lister"
	"github.com/entralake/entralake/stages/writer"
)

// Source is what the lister lists and the parsers read.
type Source interface {
	lister.Source
	ReadRange(ctx context.Context, container, blob string, off, n int64) (io.ReadCloser, error)
}

// Azure credentials come from the environment only (see
// internal/azstorage for the order): AZURE_STORAGE_CONNECTION_STRING,
// a SAS in the URL or AZURE_STORAGE_SAS_TOKEN, AZURE_STORAGE_KEY (limited to
// AZURE_STORAGE_ACCOUNT when set), else DefaultAzureCredential (AZURE_CLIENT_ID...,
// workload identity, managed identity, Azure CLI). There is no flag on purpose:
// a secret in argv shows in ps and /proc/<pid>/cmdline to every user of the
// machine, and in shell history.
func azureAuth() azstorage.Auth { return azstorage.AuthFromEnv() }

// openSource opens --source: a local export folder, or the URL of an Azure
// storage account (every insights-logs-* container) or of one container.
func openSource(ctx context.Context, f SourceFlags) (Source, error) {
	loc, err := location.Parse(location.Source, f.Source)
	if err != nil {
		return nil, fmt.Errorf("--source: %w", err)
	}
	if loc.Kind == location.Azure {
		src, err := azsource.Open(azsource.Config{URL: loc.URL, Auth: azureAuth(), Containers: f.Containers})
		if err != nil {
			return nil, fmt.Errorf("source: %w", err)
		}
		return src, nil
	}
	info, err := os.Stat(loc.Path)
	if err != nil {
		return nil, fmt.Errorf("source: %w", err)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("source %s is not a folder", loc.Path)
	}
	return local.Dir{Root: loc.Path, Only: f.Containers}, nil
}

// openLake opens --lake: a local folder, or the URL of a bucket or
// container (and folder) in S3, GCS, Azure Blob Storage or ADLS Gen2.
func openLake(ctx context.Context, lt *schema.LogType, f WriterFlags, tf TableFlags, log *slog.Logger) (markedLake, error) {
	loc, err := location.Parse(location.Lake, f.Lake)
	if err != nil {
		return nil, fmt.Errorf("--lake: %w", err)
	}
	if loc.Kind != location.Local {
		return openObjectLake(ctx, loc, log)
	}
	lake := dir.Lake{Root: loc.Path}
	if err := lake.Probe(ctx); err != nil {
		return nil, err
	}
	if tf.iceberg() {
		if n, err := lake.RemoveStaleTemp(time.Hour); err == nil && n > 0 {
			log.Info("removed temporary files of crashed writers", "files", n)
		}
		return lake, nil // the tables make their folders
	}
	// The table folders exist from the start: engines that register a
	// table on a folder (Trino's external_location, sync_partition_metadata)
	// refuse one that does not exist, the quarantine table's on a clean lake.
	if err := lake.Folders(lt.Table(), lt.QuarantineTable()); err != nil {
		return nil, fmt.Errorf("lake: %w", err)
	}
	if n, err := lake.RemoveStaleTemp(time.Hour); err == nil && n > 0 {
		log.Info("removed temporary files of crashed writers", "files", n)
	}
	return lake, nil
}

// openObjectLake opens a lake in an object store and probes it: a
// missing bucket or container and refused credentials fail here, before
// anything is written.
func openObjectLake(ctx context.Context, loc location.Location, log *slog.Logger) (*objstore.Lake, error) {
	var lake *objstore.Lake
	var err error
	if loc.Kind == location.Azure {
		lake, err = objstore.OpenAzure(ctx, objstore.AzureConfig{URL: loc.URL, Auth: azureAuth()})
	} else {
		lake, err = objstore.Open(ctx, objstore.Config{Location: loc})
	}
	if err != nil {
		return nil, fmt.Errorf("lake: %w", err)
	}
	if err := lake.Probe(ctx); err != nil {
		lake.Close()
		return nil, err
	}
	attrs := []any{"url", lake.String()}
	if a := lake.Account(); a != nil {
		attrs = append(attrs, "auth", a.Method())
	}
	log.Info("lake in "+loc.Kind.String(), attrs...)
	return lake, nil
}

// prober is a lake that can check it takes a file (lake/dir and
// lake/objstore do).
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

// checkLocation is the Validate of a --source or --lake flag: a value that
// names no usable location is refused while the flags are parsed, before
// anything (the data dir, a lake folder) is created.
func checkLocation(flag string, r location.Role, s string) error {
	if s == "" {
		return nil // required flags are kong's
	}
	if _, err := location.Parse(r, s); err != nil {
		return &flagError{flag: flag, problem: err.Error()}
	}
	return nil
}

// localLake returns the folder of a --lake value that must be local:
// cmd reads the lake's files directly.
func localLake(cmd, s string) (string, error) {
	loc, err := location.Parse(location.Lake, s)
	if err != nil {
		return "", &flagError{flag: "lake", problem: err.Error()}
	}
	if loc.Kind != location.Local {
		return "", &flagError{flag: "lake", value: loc, problem: fmt.Sprintf("%s works only on a local lake folder, not on %s", cmd, loc.Kind)}
	}
	return loc.Path, nil
}

// safeLocation returns a --source or --lake value fit for logs: a URL
// loses its query.
func safeLocation(r location.Role, s string) string {
	loc, err := location.Parse(r, s)
	if err != nil {
		if location.Scheme(s) != "" {
			return "(unparsable URL)"
		}
		return s
	}
	return loc.String()
}
