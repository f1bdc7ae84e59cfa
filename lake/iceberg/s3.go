package iceberg

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"

	iceio "github.com/apache/iceberg-go/io"
	_ "github.com/apache/iceberg-go/io/gocloud/s3" // s3, s3a, s3n
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/entralake/entralake/internal/location"
)

// s3Params are the s3:// URL parameters the Iceberg tables take (iceberg-go
// has no property for the others: profile, role, encryption...).
var s3Params = []string{"region", "endpoint", "use_path_style", "s3ForcePathStyle", "disable_https", "response_checksum_validation", "request_checksum_calculation"}

// s3Store maps an S3 lake URL to its Iceberg location and iceberg-go's
// s3.* properties. Credentials come from the AWS SDK's default chain
// (iceberg-go loads it when no key is in the properties): the same as
// the parquet lake's.
func s3Store(loc location.Location) (store, error) {
	props := map[string]string{}
	for k := range loc.Query {
		if !slices.Contains(s3Params, k) {
			return store{}, fmt.Errorf("%w: lake %s: in Iceberg mode an s3:// lake takes only ?%s, not %q",
				ErrConfig, loc, strings.Join(s3Params, "=, ?")+"=", k)
		}
	}
	region := loc.Query.Get("region")
	if region == "" {
		region = os.Getenv("AWS_DEFAULT_REGION")
		// AWS_REGION, or the profile's region.
		if cfg, err := config.LoadDefaultConfig(context.Background()); err == nil && cfg.Region != "" {
			region = cfg.Region
		}
	}
	if region == "" {
		return store{}, fmt.Errorf("%w: lake %s: no AWS region: add ?region=<region> to the URL or set AWS_REGION", ErrConfig, loc)
	}
	props[iceio.S3Region] = region
	if ep := loc.Query.Get("endpoint"); ep != "" {
		// Path-style addressing follows from an endpoint in iceberg-go.
		props[iceio.S3EndpointURL] = ep
	}
	return store{
		root:   "s3://" + loc.Bucket + "/" + strings.TrimSuffix(loc.Prefix, "/"),
		props:  props,
		remote: true,
		name:   loc.String(),
		scrub:  func(op string, err error) error { return fmt.Errorf("%s: %w", op, err) },
	}, nil
}
