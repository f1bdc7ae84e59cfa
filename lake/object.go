package lake

import (
	"errors"
	"io"
	"time"
)

// Object is a committed file of an object store lake, as its List
// returns it.
type Object struct {
	// Rel is its path inside the lake.
	Rel     string
	Size    int64
	ModTime time.Time
}

// Reader reads a committed file at any offset: what Parquet readers need
// (the footer first, then column chunks).
type Reader interface {
	io.ReaderAt
	io.Seeker
	io.Closer
	// Size is the file's length.
	Size() int64
}

// ErrExists reports a file created with a driver's CreateExclusive whose
// name was taken when it was committed.
var ErrExists = errors.New("lake file already exists")
