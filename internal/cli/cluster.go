package cli

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/entralake/entralake/workers"
	"github.com/nats-io/nats-server/v2/server"
)

// ReplicaFlags say how many copies JetStream keeps of the deployment's
// streams and buckets; they are part of QueueFlags and StateFlags.
type ReplicaFlags struct {
	Replicas int `help:"Copies JetStream keeps of every stream (tasks, batches, dead letters) and bucket (offsets, finished tasks, files, health), each on another node of a NATS cluster: 3 survives the loss of one node. 1 on a single server; above 1 needs a cluster of at least that many nodes (a single server is refused at start). Changing it updates an existing deployment in place. Give every process the same." default:"1"`
}

// Validate checks the replica count: JetStream allows 1 to 5.
func (f ReplicaFlags) Validate() error { return between("replicas", f.Replicas, 1, 5) }

// ClusterNodeFlags make `entralake nats-server` a node of a JetStream
// cluster.
type ClusterNodeFlags struct {
	Name        string   `help:"Name of this server, unique in the cluster (default: the host name with --cluster, else entralake); status names stream leaders by it." placeholder:"NAME"`
	Cluster     string   `help:"Join a JetStream cluster: listen for the other nodes' routes on HOST:PORT (e.g. 0.0.0.0:6222); default: none, a single server." placeholder:"HOST:PORT"`
	Routes      []string `help:"Cluster URLs of the nodes, comma-separated, the same on every node (its own included), e.g. nats://nats-1:6222,nats://nats-2:6222,nats://nats-3:6222; default: none (required with --cluster)." placeholder:"URL,..."`
	ClusterName string   `help:"Name of the cluster, the same on every node." default:"entralake"`
	HTTP        string   `help:"Serve NATS monitoring on HOST:PORT (e.g. 0.0.0.0:8222): /healthz is 200 once JetStream answers (for a cluster: a meta leader exists and this node's replicas are current), /healthz?js-server-only=true once the server runs; /jsz, /varz; default: none." placeholder:"HOST:PORT"`
}

// Validate checks the cluster flags: --cluster needs its routes, and
// routes need --cluster.
func (f ClusterNodeFlags) Validate() error {
	if f.Cluster == "" {
		if len(f.Routes) > 0 {
			return &flagError{flag: "routes", problem: "needs --cluster HOST:PORT (where this node listens for the others)"}
		}
		return nil
	}
	if _, _, err := hostPort(f.Cluster); err != nil {
		return &flagError{"cluster", f.Cluster, err.Error()}
	}
	if len(f.Routes) == 0 {
		return &flagError{flag: "cluster", value: f.Cluster, problem: "needs --routes: the cluster URLs of the nodes (nats://host:6222,...)"}
	}
	for _, r := range f.Routes {
		if !strings.HasPrefix(r, "nats://") || !strings.Contains(strings.TrimPrefix(r, "nats://"), ":") {
			return &flagError{"routes", r, "want a URL like nats://host:6222"}
		}
	}
	if f.HTTP != "" {
		if _, _, err := hostPort(f.HTTP); err != nil {
			return &flagError{"http", f.HTTP, err.Error()}
		}
	}
	return nil
}

// hostPort splits HOST:PORT.
func hostPort(s string) (string, int, error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return "", 0, fmt.Errorf("want HOST:PORT: %w", err)
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 0 || p > 65535 {
		return "", 0, fmt.Errorf("port %q is not a port number", port)
	}
	return host, p, nil
}

// apply sets the cluster settings in cfg.
func (f ClusterNodeFlags) apply(cfg *workers.ServerConfig) error {
	cfg.Name = f.Name
	if cfg.Name == "" && f.Cluster != "" {
		host, err := os.Hostname()
		if err != nil {
			return fmt.Errorf("--name: not given, and the host name is unknown: %w", err)
		}
		cfg.Name = host
	}
	if f.Cluster != "" {
		host, port, _ := hostPort(f.Cluster)
		cfg.ClusterHost, cfg.ClusterPort, cfg.ClusterName, cfg.Routes = host, port, f.ClusterName, f.Routes
	}
	if f.HTTP != "" {
		cfg.HTTPHost, cfg.HTTPPort, _ = hostPort(f.HTTP)
	}
	return nil
}

// awaitJetStream logs once the server's JetStream answers (for a cluster
// node: once the cluster has elected its meta leader), and every 30 s
// that it does not yet.
func awaitJetStream(ctx context.Context, s *server.Server, env *Env) {
	start := time.Now()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	warned := time.Now()
	for {
		if workers.JetStreamReady(s) {
			env.Log.Info("jetstream ready", "name", s.Name(), "after", time.Since(start).Round(time.Millisecond))
			return
		}
		if time.Since(warned) > 30*time.Second {
			warned = time.Now()
			env.Log.Warn("jetstream not ready: waiting for the other nodes of the cluster (a meta leader needs a majority)", "name", s.Name(), "for", time.Since(start).Round(time.Second))
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// redactURLs drops passwords from a comma-separated list of NATS URLs,
// for messages.
func redactURLs(s string) string {
	parts := strings.Split(s, ",")
	for i, p := range parts {
		parts[i] = redactURL(strings.TrimSpace(p))
	}
	return strings.Join(parts, ",")
}

// printReplicas prints the replicas of every stream and bucket, its
// leader and whether every replica is current.
func printReplicas(w io.Writer, qs *workers.QueueStatus) {
	fmt.Fprintln(w, "\nSTREAM OR BUCKET\tREPLICAS\tLEADER\tCURRENT")
	for _, name := range workers.ReplicatedStreams {
		rs, ok := qs.Replicas[name]
		if !ok {
			continue
		}
		leader, current := cmp.Or(rs.Leader, "-"), "yes"
		if rs.Replicas > 1 && rs.Leader == "" {
			leader = "none (electing, or no quorum)"
		}
		if !rs.Current {
			current = "no"
			if len(rs.Lagging) > 0 {
				current += " (behind: " + strings.Join(rs.Lagging, ", ") + ")"
			}
		}
		fmt.Fprintf(w, "%s\t%d\t%s\t%s\n", name, rs.Replicas, leader, current)
	}
}
