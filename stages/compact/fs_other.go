//go:build !linux

package compact

import (
	"errors"
	"fmt"
)

// errNotLinux: the atomic folder swap needs Linux's renameat2.
var errNotLinux = fmt.Errorf("compaction needs Linux (renameat2 RENAME_EXCHANGE): %w", errors.ErrUnsupported)

func exchange(a, b string) error                  { return errNotLinux }
func renameNoReplace(old, new string) error       { return errNotLinux }
func lock(path string) (unlock func(), err error) { return nil, errNotLinux }
