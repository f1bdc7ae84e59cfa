// Package fsfault classifies errors of the local file system by what
// trying again can do: permission denied, a read-only file system, a file
// where a folder should be, a full disk. No retry fixes those until someone
// changes the machine, so the local source and lake mark them Unusable()
// and the worker pool (workers.IsUnusable), `run --once` and the readiness
// check treat them as such: fail fast, or retry with growing delays and
// report not-ready.
package fsfault

import (
	"errors"
	"io/fs"
	"syscall"
)

// Error is a file-system error that no retry can fix. Its text is the
// cause's, which names the path.
type Error struct{ Err error }

func (e *Error) Error() string { return e.Err.Error() }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Unusable reports that the file system cannot be used as it is.
func (e *Error) Unusable() bool { return true }

// unusable are the causes that no retry fixes.
var unusable = []error{fs.ErrPermission, syscall.EROFS, syscall.ENOTDIR, syscall.EISDIR, syscall.ENOSPC, syscall.EDQUOT, syscall.ELOOP}

// Classify returns err as an *Error when trying again cannot help, else
// err itself (nil for nil).
func Classify(err error) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	for _, u := range unusable {
		if errors.Is(err, u) {
			return &Error{Err: err}
		}
	}
	return err
}
