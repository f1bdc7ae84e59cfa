package workers

import (
	"cmp"
	"fmt"
	"net/url"
	"os"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// ServerConfig configures the embedded NATS server.
type ServerConfig struct {
	// Dir holds JetStream's files.
	Dir string
	// Host and Port to listen on; port -1 picks a free one.
	Host string
	Port int
	// MaxPayload is the largest message, in bytes (default 8 MiB).
	MaxPayload int32
	// SyncAlways makes JetStream fsync every write (slower; survives power
	// loss, not only process crashes).
	SyncAlways bool

	// Name is the server's name, unique in a cluster (default
	// "entralake"): streams name their leader by it.
	Name string
	// ClusterHost and ClusterPort, when the port is set, make the server
	// a node of a JetStream cluster named ClusterName (default
	// "entralake"), listening there for the routes of the other nodes.
	ClusterHost string
	ClusterPort int
	ClusterName string
	// Routes are the cluster URLs of the nodes (nats://host:6222); the
	// same list on every node, its own URL included, is fine.
	Routes []string
	// HTTPHost and HTTPPort, when the port is set, serve NATS monitoring:
	// /healthz (ready once the cluster has a meta leader and this node's
	// replicas are current), /jsz, /varz.
	HTTPHost string
	HTTPPort int
}

// StartServer starts an embedded NATS server with JetStream and waits until
// it accepts connections. A server that cannot start (its store folder is
// a file, or not writable) fails at once with the server's reason.
func StartServer(cfg ServerConfig) (*server.Server, error) {
	if cfg.Host == "" {
		cfg.Host = "127.0.0.1"
	}
	if cfg.MaxPayload == 0 {
		cfg.MaxPayload = 8 << 20
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("start nats server: store %w", err)
	}
	if cfg.Name == "" {
		cfg.Name = "entralake"
	}
	opts := &server.Options{
		ServerName: cfg.Name,
		Host:       cfg.Host,
		Port:       cfg.Port,
		JetStream:  true,
		StoreDir:   cfg.Dir,
		MaxPayload: cfg.MaxPayload,
		NoLog:      true,
		NoSigs:     true,
		SyncAlways: cfg.SyncAlways,
	}
	if cfg.Port == 0 {
		opts.Port = server.RANDOM_PORT
	}
	if cfg.ClusterPort != 0 {
		opts.Cluster = server.ClusterOpts{Name: cmp.Or(cfg.ClusterName, "entralake"), Host: cmp.Or(cfg.ClusterHost, cfg.Host), Port: cfg.ClusterPort}
		routes, err := routeURLs(cfg.Routes)
		if err != nil {
			return nil, fmt.Errorf("start nats server: %w", err)
		}
		opts.Routes = routes
	}
	if cfg.HTTPPort != 0 {
		opts.HTTPHost, opts.HTTPPort = cmp.Or(cfg.HTTPHost, cfg.Host), cfg.HTTPPort
	}
	s, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("start nats server: %w", err)
	}
	fatal := make(chan string, 1)
	s.SetLoggerV2(fatalLogger{fatal}, false, false, false)
	go s.Start()
	ready := make(chan bool, 1)
	go func() { ready <- s.ReadyForConnections(30 * time.Second) }()
	select {
	case ok := <-ready:
		if ok {
			return s, nil
		}
		s.Shutdown()
		return nil, fmt.Errorf("start nats server: not ready after 30s (store %s)", cfg.Dir)
	case msg := <-fatal:
		s.Shutdown()
		return nil, fmt.Errorf("start nats server (store %s): %s", cfg.Dir, msg)
	}
}

// routeURLs parses the cluster URLs of the nodes.
func routeURLs(routes []string) ([]*url.URL, error) {
	var out []*url.URL
	for _, r := range routes {
		u, err := url.Parse(r)
		if err != nil || u.Host == "" || u.Port() == "" {
			return nil, fmt.Errorf("route %q: want a URL like nats://host:6222", r)
		}
		out = append(out, u)
	}
	return out, nil
}

// JetStreamReady reports whether the server's JetStream answers: on a
// single server as soon as it runs, on a cluster node once the cluster
// has a meta leader and this node is current.
func JetStreamReady(s *server.Server) bool {
	return s.Healthz(&server.HealthzOptions{JSMetaOnly: true}).StatusCode == 200
}

// fatalLogger passes on the server's fatal errors, which it otherwise
// only logs: a server whose JetStream cannot start would never be ready.
type fatalLogger struct{ fatal chan string }

func (fatalLogger) Noticef(string, ...any) {}
func (fatalLogger) Warnf(string, ...any)   {}
func (fatalLogger) Errorf(string, ...any)  {}
func (fatalLogger) Debugf(string, ...any)  {}
func (fatalLogger) Tracef(string, ...any)  {}

func (l fatalLogger) Fatalf(format string, v ...any) {
	select {
	case l.fatal <- fmt.Sprintf(format, v...):
	default:
	}
}
