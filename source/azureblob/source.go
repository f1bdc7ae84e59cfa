package azureblob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"
	"github.com/entralake/entralake/internal/azstorage"
	"github.com/entralake/entralake/schema"
)

// Config configures a Source.
type Config struct {
	// URL is the account (every insights-logs-* container) or one
	// container; see azstorage.ParseURL for the forms. A path below the container
	// is refused.
	URL string
	// Auth holds the credentials (see internal/azstorage for the order).
	Auth azstorage.Auth
	// Containers limits the containers read (--containers). With an
	// account URL it replaces the listing of containers (so a SAS that
	// cannot list containers works); with a container URL, that container
	// must be among them.
	Containers []string
	// Options tune the HTTP client (retries).
	Options azstorage.Options
	// ReadRetries is how often a download interrupted mid-stream is
	// resumed from where it stopped (default 3).
	ReadRetries int32
	// PageSize is the number of entries per listing page (default: the
	// service's maximum, 5000).
	PageSize int32
}

// ErrNoContainers reports an account without any container to read.
var ErrNoContainers = errors.New("no container to read")

// Source reads an export from Azure Blob Storage. It implements
// lister.Source and parser.BlobReader, and is safe for concurrent use.
type Source struct {
	acct     *azstorage.Account
	only     []string
	retries  int32
	pageSize int32
}

// Open returns a Source for cfg. It sends no request: a wrong URL or
// credential shows at the first listing.
func Open(cfg Config) (*Source, error) {
	loc, err := azstorage.ParseURL(cfg.URL)
	if err != nil {
		return nil, err
	}
	if loc.Prefix != "" {
		return nil, fmt.Errorf("%w %s: a source URL names an account or a container, not a folder inside one", azstorage.ErrBadURL, loc)
	}
	only := cfg.Containers
	if loc.Container != "" {
		if len(only) > 0 && !slices.Contains(only, loc.Container) {
			return nil, fmt.Errorf("%w: container %s of the URL is not among --containers %s", ErrNoContainers, loc.Container, strings.Join(only, ","))
		}
		only = []string{loc.Container}
	}
	acct, err := azstorage.Connect(loc, cfg.Auth, cfg.Options)
	if err != nil {
		return nil, err
	}
	if cfg.ReadRetries == 0 {
		cfg.ReadRetries = 3
	}
	return &Source{acct: acct, only: only, retries: cfg.ReadRetries, pageSize: cfg.PageSize}, nil
}

// Account returns the account the source reads.
func (s *Source) Account() *azstorage.Account { return s.acct }

// Containers implements lister.Source: the containers of the URL or of
// Config.Containers, else every container whose name starts with
// insights-logs-.
func (s *Source) Containers(ctx context.Context) ([]string, error) {
	if len(s.only) > 0 {
		return s.only, nil
	}
	var out []string
	pager := s.acct.Service().NewListContainersPager(&service.ListContainersOptions{Prefix: to.Ptr(schema.ContainerPrefix)})
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, s.acct.Wrap("list containers", "", "", err)
		}
		for _, c := range page.ContainerItems {
			if c != nil && c.Name != nil && strings.HasPrefix(*c.Name, schema.ContainerPrefix) {
				out = append(out, *c.Name)
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: account %s has no %s* container", ErrNoContainers, s.acct.Location().Account, schema.ContainerPrefix)
	}
	return out, nil
}

// ListDir implements lister.Source with one hierarchical listing
// (delimiter "/") of prefix, paged to its end.
func (s *Source) ListDir(ctx context.Context, cont, prefix string) ([]string, []schema.Blob, error) {
	opts := &container.ListBlobsHierarchyOptions{}
	if s.pageSize > 0 {
		opts.MaxResults = &s.pageSize
	}
	if prefix != "" {
		opts.Prefix = &prefix
	}
	pager := s.acct.Container(cont).NewListBlobsHierarchyPager("/", opts)
	var dirs []string
	var blobs []schema.Blob
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, nil, s.acct.Wrap("list blobs", cont, prefix, err)
		}
		if page.Segment == nil {
			continue
		}
		for _, p := range page.Segment.BlobPrefixes {
			if p != nil && p.Name != nil {
				dirs = append(dirs, *p.Name)
			}
		}
		for _, it := range page.Segment.BlobItems {
			if it == nil || it.Name == nil || it.Properties == nil || strings.HasSuffix(*it.Name, "/") {
				continue
			}
			b := schema.Blob{Container: cont, Name: *it.Name}
			if p := it.Properties; p != nil {
				if p.ContentLength != nil {
					b.Size = *p.ContentLength
				}
				if p.ETag != nil {
					b.ETag = string(*p.ETag)
				}
				if p.LastModified != nil {
					b.ModTime = *p.LastModified
				}
			}
			blobs = append(blobs, b)
		}
	}
	slices.Sort(dirs)
	return dirs, blobs, nil
}

// ReadRange implements parser.BlobReader: it streams bytes [off, off+n)
// (n < 0: to the end) with one ranged GET, resumed where it stopped if
// the connection breaks (the resumed request must match the first
// response's ETag). Nothing is buffered beyond the HTTP client's buffers.
func (s *Source) ReadRange(ctx context.Context, cont, name string, off, n int64) (io.ReadCloser, error) {
	if off < 0 {
		return nil, fmt.Errorf("read %s/%s: negative offset %d", cont, name, off)
	}
	if n == 0 {
		return io.NopCloser(strings.NewReader("")), nil
	}
	count := n
	if n < 0 {
		count = blob.CountToEnd
	}
	resp, err := s.acct.Container(cont).NewBlobClient(name).DownloadStream(ctx, &blob.DownloadStreamOptions{
		Range: blob.HTTPRange{Offset: off, Count: count},
	})
	if err != nil {
		err = s.acct.Wrap("read blob", cont, name, err)
		var e *azstorage.Error
		if n < 0 && errors.As(err, &e) && e.StatusCode == http.StatusRequestedRangeNotSatisfiable {
			return io.NopCloser(strings.NewReader("")), nil // off is the end
		}
		return nil, err
	}
	rr := resp.NewRetryReader(ctx, &blob.RetryReaderOptions{MaxRetries: s.retries})
	return &body{rc: rr, wrap: func(err error) error { return s.acct.Wrap("read blob", cont, name, err) }}, nil
}

// body wraps the errors of a download stream.
type body struct {
	rc   io.ReadCloser
	wrap func(error) error
}

func (b *body) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		err = b.wrap(err)
	}
	return n, err
}

func (b *body) Close() error { return b.rc.Close() }
