package workers

import (
	"fmt"
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
}

// StartServer starts an embedded NATS server with JetStream and waits until
// it accepts connections.
func StartServer(cfg ServerConfig) (*server.Server, error) {
	if cfg.Host == "" {
		cfg.Host = "127.0.0.1"
	}
	if cfg.MaxPayload == 0 {
		cfg.MaxPayload = 8 << 20
	}
	opts := &server.Options{
		ServerName: "entralake",
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
	s, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("start nats server: %w", err)
	}
	go s.Start()
	if !s.ReadyForConnections(30 * time.Second) {
		s.Shutdown()
		return nil, fmt.Errorf("start nats server: not ready after 30s (store %s)", cfg.Dir)
	}
	return s, nil
}
