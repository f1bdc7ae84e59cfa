package objstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"time"

	"github.com/entralake/entralake/internal/azstorage"
	"github.com/entralake/entralake/lake"
	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
)

// ContentType is set on every committed file.
const ContentType = "application/vnd.apache.parquet"

// DefaultPartSize is the size of a part (S3), chunk (GCS) or block
// (Azure) of an upload.
const DefaultPartSize = 8 << 20

// uploadConcurrency is how many parts of one file are sent at once: a
// file holds at most uploadConcurrency+1 parts in memory.
const uploadConcurrency = 2

// Lake is a lake in a bucket (S3, GCS) or a container (Azure), under an
// optional folder. It is safe for concurrent use.
type Lake struct {
	b *blob.Bucket
	// prefix is the lake's folder in the bucket: "" or ending in "/".
	prefix string
	// name is the lake as shown in logs and errors: no secret.
	name     string
	partSize int
	// wrap turns a storage error into the lake's error (without secrets).
	wrap func(op, key string, err error) error
	// beforeWrite tunes a driver's upload (S3: abort a cancelled
	// multipart upload); nil for none.
	beforeWrite func(as func(any) bool) error
	// probe checks that the lake takes a file without leaving one.
	probe func(ctx context.Context) error
	// account is the Azure account (OpenAzure), nil otherwise.
	account *azstorage.Account
}

// String returns the lake's location without any secret.
func (l *Lake) String() string { return l.name }

// Close releases the bucket.
func (l *Lake) Close() error { return l.b.Close() }

// key returns the object key of the lake path rel, checking that rel is
// a clean relative path (lake.CheckPath).
func (l *Lake) key(rel string) (string, error) {
	if err := lake.CheckPath(rel); err != nil {
		return "", err
	}
	return l.prefix + rel, nil
}

// Create starts a file at rel: it is uploaded while it is written and
// appears, whole, at Commit; before that no reader, listing or Exists
// sees it, and Abort (or a crash) leaves nothing visible.
func (l *Lake) Create(ctx context.Context, rel string) (lake.File, error) {
	return l.create(ctx, rel, false)
}

// CreateExclusive is Create for a file that must not replace another:
// its Commit fails with an error matching lake.ErrExists when rel exists
// by then (a conditional write: If-None-Match on S3 and Azure, a
// does-not-exist precondition on GCS).
func (l *Lake) CreateExclusive(ctx context.Context, rel string) (lake.File, error) {
	return l.create(ctx, rel, true)
}

func (l *Lake) create(ctx context.Context, rel string, exclusive bool) (lake.File, error) {
	key, err := l.key(rel)
	if err != nil {
		return nil, err
	}
	// The upload outlives the call that starts it: only Abort cancels it.
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	w, err := l.b.NewWriter(wctx, key, &blob.WriterOptions{
		ContentType:    ContentType,
		BufferSize:     l.partSize,
		MaxConcurrency: uploadConcurrency,
		BeforeWrite:    l.beforeWrite,
		IfNotExist:     exclusive,
	})
	if err != nil {
		cancel()
		return nil, l.wrap("start upload", key, err)
	}
	return &file{l: l, key: key, w: w, cancel: cancel, exclusive: exclusive}, nil
}

// Exists reports whether a committed file is at rel.
func (l *Lake) Exists(ctx context.Context, rel string) (bool, error) {
	key, err := l.key(rel)
	if err != nil {
		return false, err
	}
	ok, err := l.b.Exists(ctx, key)
	if err != nil {
		return false, l.wrap("get attributes", key, err)
	}
	return ok, nil
}

// ReadFile returns the bytes of the committed file at rel (small files:
// the lake's marker); a missing file is an error matching fs.ErrNotExist.
func (l *Lake) ReadFile(ctx context.Context, rel string) ([]byte, error) {
	key, err := l.key(rel)
	if err != nil {
		return nil, err
	}
	data, err := l.b.ReadAll(ctx, key)
	if err != nil {
		return nil, l.notExist(l.wrap("read", key, err), err)
	}
	return data, nil
}

// notExist makes wrapped match fs.ErrNotExist when cause is a missing
// object.
func (l *Lake) notExist(wrapped, cause error) error {
	if gcerrors.Code(cause) == gcerrors.NotFound && !errors.Is(wrapped, fs.ErrNotExist) {
		return fmt.Errorf("%w: %w", fs.ErrNotExist, wrapped)
	}
	return wrapped
}

// List returns the committed files under the lake folder dir ("" for
// the whole lake; a folder without its trailing "/"), at any depth.
func (l *Lake) List(ctx context.Context, dir string) ([]lake.Object, error) {
	prefix := l.prefix
	if dir != "" {
		if err := lake.CheckPath(dir); err != nil {
			return nil, err
		}
		prefix += dir + "/"
	}
	var out []lake.Object
	it := l.b.List(&blob.ListOptions{Prefix: prefix})
	for {
		o, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, l.wrap("list", prefix, err)
		}
		if o.IsDir || strings.HasSuffix(o.Key, "/") {
			continue // a folder marker (written by some tools), not a file
		}
		out = append(out, lake.Object{Rel: strings.TrimPrefix(o.Key, l.prefix), Size: o.Size, ModTime: o.ModTime})
	}
}

// Delete removes the file at rel; a file already gone is not an error.
func (l *Lake) Delete(ctx context.Context, rel string) error {
	key, err := l.key(rel)
	if err != nil {
		return err
	}
	if err := l.b.Delete(ctx, key); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
		return l.wrap("delete", key, err)
	}
	return nil
}

// Open returns a reader of the committed file at rel; a missing file is
// an error matching fs.ErrNotExist.
func (l *Lake) Open(ctx context.Context, rel string) (lake.Reader, error) {
	key, err := l.key(rel)
	if err != nil {
		return nil, err
	}
	a, err := l.b.Attributes(ctx, key)
	if err != nil {
		return nil, l.notExist(l.wrap("get attributes", key, err), err)
	}
	return &reader{l: l, ctx: ctx, key: key, size: a.Size}, nil
}

// Probe checks at start that the lake can be used: the bucket exists, the
// credentials are accepted, and a file can be written (how depends on the
// store; nothing is left visible).
func (l *Lake) Probe(ctx context.Context) error {
	if _, _, err := l.b.ListPage(ctx, blob.FirstPageToken, 1, &blob.ListOptions{Prefix: l.prefix}); err != nil {
		return fmt.Errorf("lake %s is not usable: %w", l, l.wrap("list", l.prefix, err))
	}
	if err := l.probe(ctx); err != nil {
		return fmt.Errorf("lake %s is not writable: %w", l, err)
	}
	return nil
}

// probeWrite is the probe of S3 and GCS: it writes a one-byte object
// beside the tables and deletes it. A writer that may not delete leaves
// it there, outside every table.
func (l *Lake) probeWrite(ctx context.Context) error {
	const rel = ".entralake-probe"
	key := l.prefix + rel
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := l.b.WriteAll(ctx, key, []byte{'\n'}, &blob.WriterOptions{ContentType: "text/plain"}); err != nil {
		return l.wrap("write", key, err)
	}
	_ = l.b.Delete(ctx, key)
	return nil
}

// file is an upload in progress.
type file struct {
	l         *Lake
	key       string
	w         *blob.Writer
	cancel    context.CancelFunc
	exclusive bool
	closed    bool
}

// ErrClosed reports a write to a file already committed or aborted.
var ErrClosed = errors.New("lake file already committed or aborted")

func (f *file) Write(p []byte) (int, error) {
	if f.closed {
		return 0, ErrClosed
	}
	n, err := f.w.Write(p)
	if err != nil {
		return n, f.l.wrap("upload", f.key, err)
	}
	return n, nil
}

// Commit finishes the upload: the object appears whole, or not at all.
func (f *file) Commit(context.Context) error {
	if f.closed {
		return ErrClosed
	}
	f.closed = true
	defer f.cancel()
	err := f.w.Close()
	if err == nil {
		return nil
	}
	if f.exclusive && gcerrors.Code(err) == gcerrors.FailedPrecondition {
		return fmt.Errorf("%w: %s", lake.ErrExists, f.key)
	}
	return f.l.wrap("commit upload", f.key, err)
}

// Abort cancels the upload: nothing becomes visible. (S3 aborts a
// multipart upload already begun; Azure drops uncommitted blocks after a
// week.)
func (f *file) Abort() error {
	if f.closed {
		return nil
	}
	f.closed = true
	f.cancel()
	_ = f.w.Close() // fails: the upload was cancelled
	return nil
}

// reader reads a committed object with ranged requests.
type reader struct {
	l    *Lake
	ctx  context.Context
	key  string
	size int64
	pos  int64
}

func (r *reader) Size() int64 { return r.size }

func (r *reader) ReadAt(p []byte, off int64) (int, error) {
	if off >= r.size {
		return 0, io.EOF
	}
	n := min(int64(len(p)), r.size-off)
	rr, err := r.l.b.NewRangeReader(r.ctx, r.key, off, n, nil)
	if err != nil {
		return 0, r.l.wrap("read", r.key, err)
	}
	defer rr.Close()
	k, err := io.ReadFull(rr, p[:n])
	if err != nil {
		return k, r.l.wrap("read", r.key, err)
	}
	if k < len(p) {
		return k, io.EOF
	}
	return k, nil
}

// Seek moves the offset Read would use; Parquet readers use it to learn
// the size.
func (r *reader) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += r.pos
	case io.SeekEnd:
		offset += r.size
	default:
		return 0, fmt.Errorf("seek: bad whence %d", whence)
	}
	if offset < 0 {
		return 0, fmt.Errorf("seek: negative offset %d", offset)
	}
	r.pos = offset
	return offset, nil
}

func (r *reader) Close() error { return nil }
