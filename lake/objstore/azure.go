package objstore

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/entralake/entralake/internal/azstorage"
	"gocloud.dev/blob/azureblob"
)

// AzureConfig configures a Lake in Azure Blob Storage or ADLS Gen2.
type AzureConfig struct {
	// URL is the lake: a container, optionally with a folder; see
	// azstorage.ParseURL for the forms (ADLS Gen2 dfs and abfss URLs go
	// to the blob endpoint).
	URL string
	// Auth holds the credentials, chosen as for a source.
	Auth azstorage.Auth
	// PartSize is the size of a staged block (default 8 MiB).
	PartSize int
	// Options tune the HTTP client (retries).
	Options azstorage.Options
}

// OpenAzure returns the lake at cfg.URL, on gocloud's azureblob driver
// over a container client of internal/azstorage (its URL forms and its
// credential order, not the azblob:// opener's), and creates the
// container if it does not exist (a credential that may not create
// containers is fine when the container is there).
func OpenAzure(ctx context.Context, cfg AzureConfig) (*Lake, error) {
	loc, err := azstorage.ParseURL(cfg.URL)
	if err != nil {
		return nil, err
	}
	if loc.Container == "" {
		return nil, fmt.Errorf("%w %s: a lake URL names a container: <account URL>/<container>[/<folder>]", azstorage.ErrBadURL, loc)
	}
	if cfg.PartSize <= 0 {
		cfg.PartSize = DefaultPartSize
	}
	acct, err := azstorage.Connect(loc, cfg.Auth, cfg.Options)
	if err != nil {
		return nil, err
	}
	cc := acct.Container(loc.Container)
	if _, err := cc.Create(ctx, nil); err != nil {
		var e *azstorage.Error
		err = acct.Wrap("create container", loc.Container, "", err)
		switch {
		case errors.As(err, &e) && e.Code == "ContainerAlreadyExists":
		case errors.As(err, &e) && e.StatusCode == http.StatusForbidden:
			// May not create containers (e.g. a SAS for this container):
			// the probe tells whether it may write.
		default:
			return nil, err
		}
	}
	b, err := azureblob.OpenBucket(ctx, cc, nil)
	if err != nil {
		return nil, acct.Wrap("open container", loc.Container, "", err)
	}
	prefix := loc.Prefix
	if prefix != "" {
		prefix += "/"
	}
	l := &Lake{b: b, prefix: prefix, name: loc.String(), partSize: cfg.PartSize, account: acct}
	l.wrap = func(op, key string, err error) error { return acct.Wrap(op, loc.Container, key, err) }
	// The probe stages a one-byte block of a blob it never commits
	// (invisible; the service drops it after a week): it needs the
	// container and the right to write in it.
	l.probe = func(ctx context.Context) error {
		name := prefix + ".entralake-probe"
		id := base64.StdEncoding.EncodeToString([]byte("entralake-probe"))
		_, err := cc.NewBlockBlobClient(name).StageBlock(ctx, id, streaming.NopCloser(bytes.NewReader([]byte{'\n'})), nil)
		return acct.Wrap("stage block", loc.Container, name, err)
	}
	return l, nil
}

// Account returns the Azure account of a lake opened with OpenAzure (nil
// for S3 and GCS).
func (l *Lake) Account() *azstorage.Account { return l.account }
