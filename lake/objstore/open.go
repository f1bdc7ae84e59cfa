package objstore

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"time"

	"cloud.google.com/go/storage"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/entralake/entralake/internal/location"
	"gocloud.dev/blob"
	"gocloud.dev/blob/gcsblob"
	"gocloud.dev/blob/s3blob"
)

// Config configures a Lake on S3 or GCS.
type Config struct {
	// Location is the lake: an S3 or GCS location (internal/location).
	Location location.Location
	// PartSize is the size of an upload's parts (default 8 MiB).
	PartSize int
}

// Where credentials come from, as errors show them.
const (
	credentialsAWS = "the AWS chain: AWS_ACCESS_KEY_ID, AWS_PROFILE, web identity, container or instance role"
	credentialsGCP = "Google application default credentials"
)

// abortTimeout bounds the abort of a cancelled multipart upload.
const abortTimeout = 30 * time.Second

// Open returns the lake at cfg.Location, an s3:// or gs:// URL. It sends
// no request: Probe checks the bucket and the credentials.
func Open(ctx context.Context, cfg Config) (*Lake, error) {
	loc := cfg.Location
	if cfg.PartSize <= 0 {
		cfg.PartSize = DefaultPartSize
	}
	l := &Lake{prefix: loc.Prefix, name: loc.String(), partSize: cfg.PartSize}
	l.probe = l.probeWrite
	switch loc.Kind {
	case location.S3:
		b, err := openS3(ctx, loc)
		if err != nil {
			return nil, newError("open", l.name, credentialsAWS, err)
		}
		var c *s3.Client
		if !b.As(&c) {
			b.Close()
			return nil, fmt.Errorf("open %s: not an S3 bucket", l.name)
		}
		if c.Options().Region == "" {
			b.Close()
			return nil, fmt.Errorf("lake %s: no AWS region: add ?region=<region> to the URL or set AWS_REGION", l.name)
		}
		l.b, l.beforeWrite = b, s3Uploads(c, cfg.PartSize)
		l.wrap = func(op, key string, err error) error {
			return newError(op, "s3://"+loc.Bucket+"/"+key, credentialsAWS, err)
		}
	case location.GCS:
		// The storage client reads through the JSON API: what the GCS
		// emulator serves for keys with '/' too (its XML reads 404).
		c, err := storage.NewClient(ctx, storage.WithJSONReads())
		if err != nil {
			return nil, newError("open", l.name, credentialsGCP, err)
		}
		b, err := gcsblob.OpenBucket(ctx, nil, loc.Bucket, &gcsblob.Options{Client: c})
		if err != nil {
			c.Close()
			return nil, newError("open", l.name, credentialsGCP, err)
		}
		l.b = b
		l.wrap = func(op, key string, err error) error {
			return newError(op, "gs://"+loc.Bucket+"/"+key, credentialsGCP, err)
		}
	default:
		return nil, fmt.Errorf("objstore: %s is not an S3 or GCS location", loc)
	}
	return l, nil
}

// openS3 opens the bucket with gocloud's s3blob URL opener: its query
// parameters (location.S3Params) and the AWS SDK's default credential
// chain. The URL's folder is the lake's prefix, not the opener's (which
// ignores paths).
func openS3(ctx context.Context, loc location.Location) (*blob.Bucket, error) {
	q := url.Values{}
	for k, v := range loc.Query {
		q[k] = v
	}
	// A custom endpoint (an S3-compatible service) may not return
	// checksums: validate them only when required, instead of a warning
	// on stderr for every read.
	if q.Has("endpoint") && !q.Has("response_checksum_validation") {
		q.Set("response_checksum_validation", "when_required")
	}
	if !q.Has("region") {
		if r := os.Getenv("AWS_REGION"); r == "" && os.Getenv("AWS_DEFAULT_REGION") != "" {
			q.Set("region", os.Getenv("AWS_DEFAULT_REGION"))
		}
	}
	u := url.URL{Scheme: s3blob.Scheme, Host: loc.Bucket, RawQuery: q.Encode()}
	return blob.OpenBucket(ctx, u.String())
}

// s3Uploads returns the BeforeWrite of S3 uploads: the transfer manager
// goes multipart past one part (so a file holds at most
// uploadConcurrency+1 parts in memory, not 16 MiB first) and aborts a
// cancelled multipart upload on a fresh context (gocloud's default
// aborts on the cancelled one, which fails and leaves the parts stored).
func s3Uploads(c *s3.Client, partSize int) func(as func(any) bool) error {
	checksum := c.Options().RequestChecksumCalculation
	return func(as func(any) bool) error {
		var tm *transfermanager.Client
		if as(&tm) {
			*tm = *transfermanager.New(c, func(o *transfermanager.Options) {
				o.PartSizeBytes = int64(partSize)
				o.MultipartUploadThreshold = int64(partSize)
				o.Concurrency = uploadConcurrency
				o.FailTimeout = abortTimeout
				o.RequestChecksumCalculation = checksum
			})
		}
		return nil
	}
}
