// Package azurite starts the Azurite blob service (the Azure Storage
// emulator, npm package azurite) for tests, on a free loopback port with
// its data in a temporary folder, and stops it when the test ends; and
// lays out in it an Entra export as Azure writes it (fixtures.go:
// containers, append blobs appended block by block, export blob names).
//
// The binary is $ENTRALAKE_AZURITE_BIN, else
// <repo root>/.tools/azurite/node_modules/.bin/azurite-blob, which
// scripts/test.sh installs. A test that needs Azurite fails without it:
// CI and scripts/test.sh install it, so a missing binary is a broken
// setup, not a reason to skip.
package azurite

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Account and Key are Azurite's well-known development account (public
// values, not secrets).
const (
	Account = "devstoreaccount1"
	Key     = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// EnvBin names the environment variable that points at azurite-blob.
const EnvBin = "ENTRALAKE_AZURITE_BIN"

// binRel is where scripts/test.sh installs azurite-blob, from the repo root.
const binRel = ".tools/azurite/node_modules/.bin/azurite-blob"

// Server is a running Azurite blob service.
type Server struct {
	// Endpoint is the blob service URL of the development account,
	// path-style: http://127.0.0.1:<port>/devstoreaccount1.
	Endpoint string
	// ConnectionString authenticates with the development account's key.
	ConnectionString string
	// Port is the blob service's port.
	Port int
	// Dir holds its data.
	Dir string
}

// URL returns Endpoint + "/" + path.
func (s *Server) URL(path string) string { return s.Endpoint + "/" + path }

// Bin returns the path of azurite-blob, or an error that says how to
// install it.
func Bin() (string, error) {
	if p := os.Getenv(EnvBin); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("azurite: %s=%s: %w", EnvBin, p, err)
		}
		return p, nil
	}
	var tried []string
	for _, root := range roots() {
		p := filepath.Join(root, binRel)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		tried = append(tried, p)
	}
	return "", fmt.Errorf("azurite: azurite-blob not found (tried %v); install it with "+
		"`npm install --prefix .tools/azurite azurite@3.37.0` at the repo root (scripts/test.sh does), "+
		"or point %s at an azurite-blob binary", tried, EnvBin)
}

// roots returns the candidate repo roots: the one this file was compiled
// in, then every parent of the working directory holding a go.mod.
func roots() []string {
	var out []string
	if _, file, _, ok := runtime.Caller(0); ok {
		out = append(out, filepath.Join(filepath.Dir(file), "..", ".."))
	}
	if wd, err := os.Getwd(); err == nil {
		for d := wd; ; d = filepath.Dir(d) {
			if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
				out = append(out, d)
			}
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	return out
}

// Start starts Azurite for the test and stops it in t.Cleanup. It fails
// the test if the binary is missing or does not start.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := Bin()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var lastErr error
	for range 3 { // another process may take the port between probe and bind
		port, err := freePort()
		if err != nil {
			t.Fatalf("azurite: %v", err)
		}
		p, err := start(bin, dir, port)
		if err != nil {
			lastErr = err
			continue
		}
		t.Cleanup(p.stop)
		ep := fmt.Sprintf("http://127.0.0.1:%d/%s", port, Account)
		return &Server{
			Endpoint:         ep,
			ConnectionString: fmt.Sprintf("DefaultEndpointsProtocol=http;AccountName=%s;AccountKey=%s;BlobEndpoint=%s;", Account, Key, ep),
			Port:             port,
			Dir:              dir,
		}
	}
	t.Fatalf("azurite: %v", lastErr)
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// proc is a running azurite-blob.
type proc struct {
	cmd    *exec.Cmd
	exited chan struct{}
	once   sync.Once
}

// start runs azurite-blob and waits until its port accepts connections.
func start(bin, dir string, port int) (*proc, error) {
	cmd := exec.Command(bin,
		"--blobHost", "127.0.0.1", "--blobPort", strconv.Itoa(port), "--location", dir,
		"--skipApiVersionCheck", "--loose", "--disableTelemetry", "--silent")
	out := &limitedBuffer{max: 8 << 10}
	cmd.Stdout, cmd.Stderr = out, out
	setGroup(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	p := &proc{cmd: cmd, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(p.exited)
	}()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return p, nil
		}
		select {
		case <-p.exited:
			return nil, fmt.Errorf("%s exited before listening on %s: %s", bin, addr, out.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.stop()
			return nil, fmt.Errorf("%s did not listen on %s within 30s: %s", bin, addr, out.String())
		}
	}
}

// stop ends the process group (node and anything it started), politely
// first.
func (p *proc) stop() {
	p.once.Do(func() {
		signalGroup(p.cmd, false)
		select {
		case <-p.exited:
		case <-time.After(5 * time.Second):
			signalGroup(p.cmd, true)
			<-p.exited
		}
	})
}

// limitedBuffer keeps the first max bytes written to it.
type limitedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	max int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := b.max - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (b *limitedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf.Len() == 0 {
		return "(no output)"
	}
	return b.buf.String()
}
