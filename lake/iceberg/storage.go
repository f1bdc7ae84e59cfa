package iceberg

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/entralake/entralake/internal/location"
)

// store is where the lake's files live, as Iceberg sees them.
type store struct {
	// root is the Iceberg location of the lake folder, without a trailing
	// "/": an absolute local path, or a URL (abfss://...).
	root string
	// props are iceberg-go's FileIO properties for root (credentials,
	// endpoints); secrets, never logged.
	props map[string]string
	// remote is set for object storage, where the file catalog's commits
	// are not atomic (see Locker).
	remote bool
	// name is the lake as it may be shown: no secret in it.
	name string
	// scrub wraps an error of a storage operation, removing secrets from
	// its text; nil keeps errors as they are.
	scrub func(op string, err error) error
}

// openStore maps Config.Lake, classified by internal/location, to its
// store. A new kind of lake is a new case here (GCS: iceberg-go's
// io/gocloud/gcs with its gcs.* properties).
func openStore(cfg Config) (store, error) {
	loc, err := location.Parse(location.Lake, cfg.Lake)
	if err != nil {
		return store{}, fmt.Errorf("%w: lake: %w", ErrConfig, err)
	}
	switch loc.Kind {
	case location.Azure:
		return azureStore(loc.Azure, cfg.Azure)
	case location.S3:
		return s3Store(loc)
	case location.Local:
	default:
		return store{}, fmt.Errorf("%w: lake %s: Iceberg tables on %s are not supported yet; use S3, Azure or a local folder", ErrConfig, loc, loc.Kind)
	}
	abs, err := filepath.Abs(loc.Path)
	if err != nil {
		return store{}, fmt.Errorf("%w: lake %s: %v", ErrConfig, cfg.Lake, err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return store{}, fmt.Errorf("create lake folder: %w", err)
	}
	return store{root: filepath.ToSlash(abs), props: map[string]string{}, name: abs}, nil
}

// location returns the Iceberg location of rel, a slash-separated path
// inside the lake.
func (s store) location(rel string) string { return s.root + "/" + rel }

// rel returns the lake-relative path of an Iceberg location under the
// lake, and whether it is under it.
func (s store) rel(location string) (string, bool) {
	return strings.CutPrefix(location, s.root+"/")
}

// wrap scrubs secrets from err (nil stays nil).
func (s store) wrap(op string, err error) error {
	if err == nil || s.scrub == nil {
		return err
	}
	return s.scrub(op, err)
}

// parent splits the lake's root into its parent location and its last
// segment: the file catalog's warehouse and namespace.
func (s store) parent() (warehouse, name string, err error) {
	i := strings.LastIndexByte(s.root, '/')
	if i < 0 || strings.HasSuffix(s.root[:i], ":/") || strings.HasSuffix(s.root[:i], ":") {
		return "", "", fmt.Errorf("%w: lake %s: the file catalog needs the lake to be a folder (the namespace) inside a folder or container (the warehouse); use a deeper folder or an SQL or REST catalog", ErrConfig, s.name)
	}
	warehouse, name = s.root[:i], s.root[i+1:]
	if warehouse == "" {
		return "", "", fmt.Errorf("%w: lake %s: the file catalog cannot use / as its warehouse; put the lake in a folder below the root, or use an SQL or REST catalog", ErrConfig, s.name)
	}
	return warehouse, name, nil
}
