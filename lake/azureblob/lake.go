package azureblob

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"sync"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/entralake/entralake/internal/azstorage"
	"github.com/entralake/entralake/lake"
)

// DefaultBlockSize is the size of a staged block.
const DefaultBlockSize = 8 << 20

// ContentType is set on every committed file.
const ContentType = "application/vnd.apache.parquet"

// Config configures a Lake.
type Config struct {
	// URL is the lake: a container, optionally with a folder prefix; see
	// azstorage.ParseURL for the forms (ADLS Gen2 dfs and abfss URLs go to
	// the blob endpoint).
	URL string
	// Auth holds the credentials, chosen as for a source.
	Auth azstorage.Auth
	// BlockSize is the size of a staged block (default 8 MiB, at most
	// 4000 MiB). A file holds at most two blocks in memory: the one being
	// filled and the one being sent.
	BlockSize int
	// Options tune the HTTP client (retries).
	Options azstorage.Options
}

// Lake is a lake in a blob container. It is safe for concurrent use.
type Lake struct {
	acct      *azstorage.Account
	cont      string
	cc        *container.Client
	prefix    string
	blockSize int
}

// Open returns the lake at cfg.URL and creates its container if it does
// not exist (a credential that may not create containers is fine when the
// container is there).
func Open(ctx context.Context, cfg Config) (*Lake, error) {
	loc, err := azstorage.ParseURL(cfg.URL)
	if err != nil {
		return nil, err
	}
	if loc.Container == "" {
		return nil, fmt.Errorf("%w %s: a lake URL names a container: <account URL>/<container>[/<folder>]", azstorage.ErrBadURL, loc)
	}
	if cfg.BlockSize <= 0 {
		cfg.BlockSize = DefaultBlockSize
	}
	if cfg.BlockSize > blockblob.MaxStageBlockBytes {
		return nil, fmt.Errorf("lake block size %d is above the service's limit %d", cfg.BlockSize, blockblob.MaxStageBlockBytes)
	}
	acct, err := azstorage.Connect(loc, cfg.Auth, cfg.Options)
	if err != nil {
		return nil, err
	}
	l := &Lake{acct: acct, cont: loc.Container, cc: acct.Container(loc.Container), prefix: loc.Prefix, blockSize: cfg.BlockSize}
	if _, err := l.cc.Create(ctx, nil); err != nil {
		var e *azstorage.Error
		err = acct.Wrap("create container", loc.Container, "", err)
		switch {
		case errors.As(err, &e) && e.Code == "ContainerAlreadyExists":
		case errors.As(err, &e) && e.StatusCode == http.StatusForbidden:
			// May not create containers (e.g. a SAS for this container):
			// the first write tells whether it may write.
		default:
			return nil, err
		}
	}
	return l, nil
}

// Probe checks that the lake takes a file: it stages a one-byte block of
// a blob it never commits (invisible, dropped by the service after a
// week), which needs the container and the right to write in it.
func (l *Lake) Probe(ctx context.Context) error {
	name, err := l.Name(".entralake-probe")
	if err != nil {
		return err
	}
	id := base64.StdEncoding.EncodeToString([]byte("entralake-probe"))
	_, err = l.cc.NewBlockBlobClient(name).StageBlock(ctx, id, streaming.NopCloser(bytes.NewReader([]byte{'\n'})), nil)
	if err != nil {
		return fmt.Errorf("lake %s is not writable: %w", l, l.acct.Wrap("stage block", l.cont, name, err))
	}
	return nil
}

// Account returns the account of the lake.
func (l *Lake) Account() *azstorage.Account { return l.acct }

// String returns the lake's URL without any secret.
func (l *Lake) String() string { return l.acct.Location().String() }

// Name returns the blob name of the lake path rel, checking that rel is a
// clean relative path (lake.CheckPath).
func (l *Lake) Name(rel string) (string, error) {
	if err := lake.CheckPath(rel); err != nil {
		return "", err
	}
	if l.prefix == "" {
		return rel, nil
	}
	return l.prefix + "/" + rel, nil
}

// Create starts a file at rel: it is staged as blocks while it is written
// and appears, whole, at Commit.
func (l *Lake) Create(ctx context.Context, rel string) (lake.File, error) {
	name, err := l.Name(rel)
	if err != nil {
		return nil, err
	}
	f := &file{lake: l, ctx: context.WithoutCancel(ctx), name: name, bb: l.cc.NewBlockBlobClient(name)}
	if _, err := rand.Read(f.nonce[:]); err != nil {
		return nil, err
	}
	return f, nil
}

// Exists reports, with GetProperties, whether a committed blob is at rel:
// only committed blobs exist.
func (l *Lake) Exists(ctx context.Context, rel string) (bool, error) {
	name, err := l.Name(rel)
	if err != nil {
		return false, err
	}
	_, err = l.cc.NewBlobClient(name).GetProperties(ctx, nil)
	if err == nil {
		return true, nil
	}
	err = l.acct.Wrap("get blob properties", l.cont, name, err)
	if errors.Is(err, azstorage.ErrNotFound) {
		return false, nil
	}
	return false, err
}

// ReadFile returns the bytes of the committed file at rel (small files:
// the lake's marker); a missing file is an error matching fs.ErrNotExist.
func (l *Lake) ReadFile(ctx context.Context, rel string) ([]byte, error) {
	name, err := l.Name(rel)
	if err != nil {
		return nil, err
	}
	resp, err := l.cc.NewBlobClient(name).DownloadStream(ctx, nil)
	if err != nil {
		err = l.acct.Wrap("download blob", l.cont, name, err)
		if errors.Is(err, azstorage.ErrNotFound) {
			return nil, fmt.Errorf("%w: %w", fs.ErrNotExist, err)
		}
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, l.acct.Wrap("download blob", l.cont, name, err)
	}
	return data, nil
}

// file stages a block every blockSize bytes, one upload at a time in the
// background while the next block fills.
type file struct {
	lake  *Lake
	ctx   context.Context
	name  string
	bb    *blockblob.Client
	nonce [16]byte

	buf     []byte // being filled
	sending []byte // being staged
	spare   []byte // staged, ready for reuse
	ids     []string
	// inflight is the staging of sending; stageErr its error, read after
	// inflight.Wait.
	inflight sync.WaitGroup
	stageErr error
	err      error // sticky
	closed   bool
}

// ErrClosed reports a write to a file already committed or aborted.
var ErrClosed = errors.New("lake file already committed or aborted")

func (f *file) Write(p []byte) (int, error) {
	if f.closed {
		return 0, ErrClosed
	}
	if f.err != nil {
		return 0, f.err
	}
	n := 0
	for len(p) > 0 {
		if f.buf == nil {
			f.buf = f.take()
		}
		k := min(len(p), f.lake.blockSize-len(f.buf))
		if len(f.buf)+k > cap(f.buf) { // double, up to one block
			nb := make([]byte, len(f.buf), min(f.lake.blockSize, max(2*cap(f.buf), len(f.buf)+k)))
			copy(nb, f.buf)
			f.buf = nb
		}
		f.buf = append(f.buf, p[:k]...)
		p, n = p[k:], n+k
		if len(f.buf) == f.lake.blockSize {
			if err := f.stage(); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

// take returns an empty buffer, the spare one if there is one.
func (f *file) take() []byte {
	if f.spare != nil {
		b := f.spare[:0]
		f.spare = nil
		return b
	}
	return make([]byte, 0, min(f.lake.blockSize, 64<<10))
}

// stage waits for the block in flight, then sends the filled buffer in the
// background.
func (f *file) stage() error {
	if err := f.wait(); err != nil {
		return err
	}
	buf := f.buf
	f.buf, f.sending = nil, buf
	id := f.blockID(len(f.ids))
	f.ids = append(f.ids, id)
	f.inflight.Add(1)
	go func() {
		defer f.inflight.Done()
		sum := md5.Sum(buf)
		_, err := f.bb.StageBlock(f.ctx, id, streaming.NopCloser(bytes.NewReader(buf)), &blockblob.StageBlockOptions{
			TransactionalValidation: blob.TransferValidationTypeMD5(sum[:]),
		})
		f.stageErr = f.lake.acct.Wrap("stage block", f.lake.cont, f.name, err)
	}()
	return nil
}

// wait waits for the block in flight and returns the sticky error.
func (f *file) wait() error {
	f.inflight.Wait()
	if f.sending != nil {
		f.spare, f.sending = f.sending, nil
	}
	if f.stageErr != nil && f.err == nil {
		f.err = f.stageErr
	}
	return f.err
}

// blockID is the nonce and the block's index, base64: the same length
// for every block, as the service requires, and distinct from the blocks
// of another writer of the same name.
func (f *file) blockID(i int) string {
	var raw [24]byte
	copy(raw[:], f.nonce[:])
	binary.BigEndian.PutUint64(raw[16:], uint64(i))
	return base64.StdEncoding.EncodeToString(raw[:])
}

// Commit stages the last block and commits the block list: the blob
// appears whole, or not at all.
func (f *file) Commit(ctx context.Context) error {
	if f.closed {
		return ErrClosed
	}
	defer f.release()
	if len(f.buf) > 0 {
		if err := f.stage(); err != nil {
			return err
		}
	}
	if err := f.wait(); err != nil {
		return err
	}
	_, err := f.bb.CommitBlockList(ctx, f.ids, &blockblob.CommitBlockListOptions{
		HTTPHeaders: &blob.HTTPHeaders{BlobContentType: to.Ptr(ContentType)},
	})
	return f.lake.acct.Wrap("commit block list", f.lake.cont, f.name, err)
}

// Abort drops the file: its staged blocks are never committed, and the
// service deletes uncommitted blocks after a week.
func (f *file) Abort() error {
	if f.closed {
		return nil
	}
	f.inflight.Wait()
	f.release()
	return nil
}

func (f *file) release() {
	f.closed = true
	f.buf, f.sending, f.spare = nil, nil, nil
}

var _ io.Writer = (*file)(nil)
