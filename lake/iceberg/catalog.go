package iceberg

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"

	ice "github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/catalog/hadoop"
	"github.com/apache/iceberg-go/catalog/rest"
	sqlcat "github.com/apache/iceberg-go/catalog/sql"
	"github.com/apache/iceberg-go/table"
	_ "github.com/uptrace/bun/driver/pgdriver"   // database/sql driver "pg"
	_ "github.com/uptrace/bun/driver/sqliteshim" // database/sql driver "sqliteshim" (modernc.org/sqlite)
)

// catalogName is the catalog's name in SQL catalogs (their catalog_name
// column) and in iceberg-go's messages.
const catalogName = "entralake"

// Environment variables of a REST catalog's settings (RESTFromEnv).
// Secrets come from the environment only: a command line is visible to
// other users through ps.
const (
	EnvRESTToken      = "ENTRALAKE_CATALOG_TOKEN"
	EnvRESTCredential = "ENTRALAKE_CATALOG_CREDENTIAL"
	EnvRESTScope      = "ENTRALAKE_CATALOG_SCOPE"
	EnvRESTOAuthURI   = "ENTRALAKE_CATALOG_OAUTH_URI"
	EnvRESTWarehouse  = "ENTRALAKE_CATALOG_WAREHOUSE"
)

// RESTConfig holds a REST catalog's settings besides its URL.
type RESTConfig struct {
	// Token is a bearer token sent as is.
	Token string
	// Credential is OAuth2 client credentials, "client_id:client_secret",
	// exchanged for a token at OAuthURI (default <catalog URL>/v1/oauth/tokens).
	Credential string
	// Scope is the OAuth2 scope (default "catalog"; Polaris wants
	// "PRINCIPAL_ROLE:ALL").
	Scope string
	// OAuthURI is the token endpoint of Credential.
	OAuthURI string
	// Warehouse names the warehouse (Polaris: the catalog name;
	// Lakekeeper: the warehouse name; S3 Tables: the table bucket ARN).
	Warehouse string
}

// RESTFromEnv reads ENTRALAKE_CATALOG_TOKEN, ENTRALAKE_CATALOG_CREDENTIAL,
// ENTRALAKE_CATALOG_SCOPE, ENTRALAKE_CATALOG_OAUTH_URI and
// ENTRALAKE_CATALOG_WAREHOUSE.
func RESTFromEnv() RESTConfig {
	return RESTConfig{
		Token:      os.Getenv(EnvRESTToken),
		Credential: os.Getenv(EnvRESTCredential),
		Scope:      os.Getenv(EnvRESTScope),
		OAuthURI:   os.Getenv(EnvRESTOAuthURI),
		Warehouse:  os.Getenv(EnvRESTWarehouse),
	}
}

// opened is a catalog with what Open needs to know of it.
type opened struct {
	cat catalog.Catalog
	// ns is the namespace of the tables.
	ns table.Identifier
	// fixedLocation is set when the catalog places tables itself (the file
	// catalog: <warehouse>/<namespace>/<table>); otherwise Open asks for
	// <lake>/<table>.
	fixedLocation bool
	// needsLock is set when the catalog's commits are not atomic across
	// processes (the file catalog on object storage).
	needsLock bool
	// name is the catalog as it may be shown.
	name  string
	close func() error
}

// openCatalog opens the catalog Config.Catalog names.
func openCatalog(ctx context.Context, cfg Config, st store) (*opened, error) {
	props := ice.Properties{}
	for k, v := range st.props {
		props[k] = v
	}
	spec := cfg.Catalog
	switch {
	case spec == "" || spec == "file":
		warehouse, ns, err := st.parent()
		if err != nil {
			return nil, err
		}
		if st.remote {
			// Required by iceberg-go: the file catalog's commit on object
			// storage is a check then a copy, so two writers can both win.
			// Commits then go through Config.Locker (see Locker).
			props["allow-unsafe-commits"] = "true"
		}
		c, err := hadoop.NewCatalog(catalogName, warehouse, props)
		if err != nil {
			return nil, st.wrap("open file catalog", fmt.Errorf("open file catalog in %s: %w", st.name, err))
		}
		o := &opened{cat: c, ns: table.Identifier{ns}, fixedLocation: true, needsLock: st.remote, name: "file catalog in " + st.name, close: c.Close}
		// The namespace is the lake folder; creating it makes the folder
		// (or, on object storage, its marker).
		if err := c.CreateNamespace(ctx, o.ns, nil); err != nil && !errors.Is(err, catalog.ErrNamespaceAlreadyExists) {
			c.Close()
			return nil, st.wrap("create namespace", fmt.Errorf("create namespace %s: %w", ns, err))
		}
		return o, nil
	case strings.HasPrefix(spec, "sqlite:"):
		path := strings.TrimPrefix(spec, "sqlite:")
		if path == "" {
			return nil, fmt.Errorf("%w: catalog sqlite: needs a file path (sqlite:PATH)", ErrConfig)
		}
		// WAL and a busy timeout on every pooled connection: several
		// processes may commit to the same file.
		db, err := sql.Open("sqliteshim", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)")
		if err != nil {
			return nil, fmt.Errorf("open catalog %s: %w", spec, err)
		}
		return sqlCatalog(ctx, cfg, st, db, sqlcat.SQLite, spec, props)
	case strings.HasPrefix(spec, "postgres://") || strings.HasPrefix(spec, "postgresql://"):
		shown := redactURL(spec)
		db, err := sql.Open("pg", spec)
		if err != nil {
			return nil, fmt.Errorf("open catalog %s: %v", shown, redactErr(err, spec))
		}
		return sqlCatalog(ctx, cfg, st, db, sqlcat.Postgres, shown, props)
	case strings.HasPrefix(spec, "https://") || strings.HasPrefix(spec, "http://"):
		shown := redactURL(spec)
		opts := []rest.Option{rest.WithAdditionalProps(props)}
		r := cfg.REST
		switch {
		case r.Token != "":
			opts = append(opts, rest.WithOAuthToken(r.Token))
		case r.Credential != "":
			opts = append(opts, rest.WithCredential(r.Credential))
			if r.Scope != "" {
				opts = append(opts, rest.WithScope(r.Scope))
			}
			if r.OAuthURI != "" {
				u, err := url.Parse(r.OAuthURI)
				if err != nil {
					return nil, fmt.Errorf("%w: %s: %v", ErrConfig, EnvRESTOAuthURI, err)
				}
				opts = append(opts, rest.WithAuthURI(u))
			}
		}
		if r.Warehouse != "" {
			opts = append(opts, rest.WithWarehouseLocation(r.Warehouse))
		}
		c, err := rest.NewCatalog(ctx, catalogName, spec, opts...)
		if err != nil {
			return nil, fmt.Errorf("open REST catalog %s: %v", shown, redactErr(err, spec, r.Token, r.Credential))
		}
		o := &opened{cat: c, ns: table.Identifier{namespace(cfg, st)}, name: "REST catalog " + shown, close: c.Close}
		if err := createNamespace(ctx, o); err != nil {
			c.Close()
			return nil, err
		}
		return o, nil
	}
	return nil, fmt.Errorf("%w: catalog %q: want sqlite:PATH, postgres://..., https://... (REST), or nothing for the file catalog in the lake", ErrConfig, redactURL(spec))
}

// sqlCatalog opens iceberg-go's SQL catalog on db; it creates its tables
// (iceberg_tables, iceberg_namespace_properties) if missing, which also
// checks that the database answers.
func sqlCatalog(ctx context.Context, cfg Config, st store, db *sql.DB, dialect sqlcat.SupportedDialect, shown string, props ice.Properties) (*opened, error) {
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open catalog %s: %v", shown, redactErr(err, cfg.Catalog))
	}
	props["warehouse"] = st.root
	c, err := sqlcat.NewCatalog(catalogName, db, dialect, props)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open catalog %s: %v", shown, redactErr(err, cfg.Catalog))
	}
	o := &opened{cat: c, ns: table.Identifier{namespace(cfg, st)}, name: "catalog " + shown,
		close: func() error { return errors.Join(c.Close(), db.Close()) }}
	if err := createNamespace(ctx, o); err != nil {
		o.close()
		return nil, err
	}
	return o, nil
}

// createNamespace creates o's namespace unless it exists (another process
// may create it at the same time).
func createNamespace(ctx context.Context, o *opened) error {
	ok, err := o.cat.CheckNamespaceExists(ctx, o.ns)
	if err != nil {
		return fmt.Errorf("%s: check namespace %s: %w", o.name, o.ns, err)
	}
	if ok {
		return nil
	}
	if err := o.cat.CreateNamespace(ctx, o.ns, nil); err != nil && !errors.Is(err, catalog.ErrNamespaceAlreadyExists) {
		return fmt.Errorf("%s: create namespace %s: %w", o.name, o.ns, err)
	}
	return nil
}

// namespace is the namespace of the tables in an SQL or REST catalog:
// Config.Namespace, else the lake folder's name (as in the file catalog),
// else the container's.
func namespace(cfg Config, st store) string {
	if cfg.Namespace != "" {
		return cfg.Namespace
	}
	if _, name, err := st.parent(); err == nil {
		return name
	}
	// abfss://<container>@<host>: a lake at a container's root.
	_, rest, _ := strings.Cut(st.root, "://")
	c, _, _ := strings.Cut(rest, "@")
	return c
}

// redactURL returns a catalog URL without its password and query.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		if i := strings.IndexAny(s, "?#"); i >= 0 {
			s = s[:i]
		}
		if scheme, rest, ok := strings.Cut(s, "://"); ok {
			if at := strings.LastIndexByte(rest, '@'); at >= 0 {
				s = scheme + "://REDACTED" + rest[at:]
			}
		}
		return s
	}
	if u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "REDACTED")
		}
	}
	u.RawQuery, u.Fragment = "", ""
	return u.String()
}

// redactErr returns err's text with the secrets removed: the catalog URL
// (which may hold a password) is shown redacted, and each secret is cut.
func redactErr(err error, catalogURL string, secrets ...string) string {
	s := err.Error()
	if catalogURL != "" {
		s = strings.ReplaceAll(s, catalogURL, redactURL(catalogURL))
	}
	if u, perr := url.Parse(catalogURL); perr == nil && u.User != nil {
		if p, ok := u.User.Password(); ok && len(p) >= 3 {
			secrets = append(secrets, p, url.QueryEscape(p))
		}
	}
	for _, sec := range secrets {
		if len(sec) >= 4 {
			s = strings.ReplaceAll(s, sec, "REDACTED")
		}
	}
	return s
}
