package schema

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"sync"
)

// ErrUnknownLogType is wrapped by the error of Load for a name no embedded
// log type has.
var ErrUnknownLogType = errors.New("unknown log type")

// logTypeFiles holds the embedded log types, one Panther schema YAML file each.
//
//go:embed logtypes/*.yml
var logTypeFiles embed.FS

// embedded maps each embedded log type's name to its YAML. The error joins
// the problems of the files that could not be read or parsed, or that repeat
// a name; those files are left out of the map.
var embedded = sync.OnceValues(func() (map[string][]byte, error) {
	byName := make(map[string][]byte)
	paths, err := fs.Glob(logTypeFiles, "logtypes/*.yml")
	if err != nil {
		return nil, fmt.Errorf("list embedded log types: %w", err)
	}
	var errs []error
	for _, p := range paths {
		data, err := logTypeFiles.ReadFile(p)
		if err != nil {
			errs = append(errs, fmt.Errorf("read %s: %w", p, err))
			continue
		}
		lt, err := Parse(data)
		if err != nil {
			errs = append(errs, fmt.Errorf("parse %s: %w", p, err))
			continue
		}
		if _, dup := byName[lt.Schema]; dup {
			errs = append(errs, fmt.Errorf("parse %s: log type %q defined twice", p, lt.Schema))
			continue
		}
		byName[lt.Schema] = data
	}
	return byName, errors.Join(errs...)
})

// Load returns the embedded log type with the given schema name, such as
// "Azure.Audit". Each call returns a new LogType that the caller may modify.
// For an unknown name the error wraps ErrUnknownLogType and lists the known
// names.
func Load(name string) (*LogType, error) {
	byName, embedErr := embedded()
	data, ok := byName[name]
	if !ok {
		err := fmt.Errorf("load log type %q: %w (known: %s)", name, ErrUnknownLogType, strings.Join(LogTypes(), ", "))
		return nil, errors.Join(err, embedErr)
	}
	lt, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("load log type %q: %w", name, err)
	}
	return lt, nil
}

// LogTypes returns the sorted names of the embedded log types.
func LogTypes() []string {
	byName, _ := embedded()
	names := make([]string, 0, len(byName))
	for name := range byName {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}
