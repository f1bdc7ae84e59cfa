// Package objtest starts the object store servers of the tests on a free
// loopback port, with their data in a temporary folder, and stops them
// when the test ends: versitygw (an S3 gateway on a local folder) and
// fake-gcs-server (a Google Cloud Storage emulator).
//
// The binaries are $ENTRALAKE_VERSITYGW_BIN and $ENTRALAKE_FAKEGCS_BIN,
// else <repo root>/.tools/bin/versitygw and fake-gcs-server, which
// scripts/test.sh installs (pinned, with go install). A test that needs
// versitygw fails without it: scripts/test.sh installs it, so a missing
// binary is a broken setup. fake-gcs-server is optional: its tests skip
// without it, unless CI is set.
package objtest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Environment variables naming the binaries.
const (
	EnvVersitygw = "ENTRALAKE_VERSITYGW_BIN"
	EnvFakeGCS   = "ENTRALAKE_FAKEGCS_BIN"
)

// The S3 server's root credentials and region (test values).
const (
	AccessKey = "entralake-test"
	SecretKey = "entralake-test-secret"
	Region    = "us-east-1"
)

// S3 is a running versitygw.
type S3 struct {
	// Endpoint is its URL: http://127.0.0.1:<port>.
	Endpoint string
	// Dir is its posix backend: bucket b is the folder Dir/b, object k
	// the file Dir/b/k.
	Dir string
}

// URL returns the lake URL of bucket/folder on the server.
func (s *S3) URL(bucketFolder string) string {
	return "s3://" + bucketFolder + "?endpoint=" + s.Endpoint + "&use_path_style=true&region=" + Region
}

// Env sets the AWS credentials of the server for the test.
func (s *S3) Env(t testing.TB) {
	t.Setenv("AWS_ACCESS_KEY_ID", AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", SecretKey)
	t.Setenv("AWS_REGION", Region)
	t.Setenv("AWS_CONFIG_FILE", os.DevNull)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}

// Client returns an S3 client of the server with its root credentials.
func (s *S3) Client() *s3.Client {
	return s3.New(s3.Options{
		Region:       Region,
		BaseEndpoint: aws.String(s.Endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(AccessKey, SecretKey, ""),
	})
}

// Bucket creates a bucket (a folder of the backend).
func (s *S3) Bucket(t testing.TB, name string) {
	t.Helper()
	if _, err := s.Client().CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatalf("create bucket %s: %v", name, err)
	}
}

// StartS3 starts versitygw with an empty posix backend.
func StartS3(t testing.TB) *S3 {
	t.Helper()
	bin := binary(t, EnvVersitygw, "versitygw", true)
	dir := t.TempDir()
	srv := &S3{Dir: dir}
	srv.Endpoint = start(t, bin, func(port int) *exec.Cmd {
		cmd := exec.Command(bin, "--port", "127.0.0.1:"+strconv.Itoa(port), "--health", "/health", "--quiet", "posix", dir)
		cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY_ID="+AccessKey, "ROOT_SECRET_ACCESS_KEY="+SecretKey)
		return cmd
	}, "/health")
	return srv
}

// GCS is a running fake-gcs-server.
type GCS struct {
	// Host is host:port, the value of STORAGE_EMULATOR_HOST.
	Host string
	Dir  string
}

// Env points Google's storage client at the emulator for the test.
func (g *GCS) Env(t testing.TB) { t.Setenv("STORAGE_EMULATOR_HOST", g.Host) }

// Bucket creates a bucket.
func (g *GCS) Bucket(t testing.TB, name string) {
	t.Helper()
	resp, err := http.Post("http://"+g.Host+"/storage/v1/b?project=test", "application/json",
		strings.NewReader(`{"name":"`+name+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("create bucket %s: %s", name, resp.Status)
	}
}

// StartGCS starts fake-gcs-server, or skips the test when it is not
// installed (fails under CI).
func StartGCS(t testing.TB) *GCS {
	t.Helper()
	bin := binary(t, EnvFakeGCS, "fake-gcs-server", false)
	dir := t.TempDir()
	g := &GCS{Dir: dir}
	ep := start(t, bin, func(port int) *exec.Cmd {
		p := strconv.Itoa(port)
		return exec.Command(bin, "-scheme", "http", "-host", "127.0.0.1", "-port", p, "-external-url", "http://127.0.0.1:"+p,
			"-backend", "filesystem", "-filesystem-root", dir, "-log-level", "error")
	}, "/storage/v1/b")
	g.Host = ep[len("http://"):]
	return g
}

// binary finds a server binary: $env, else .tools/bin/name of the repo.
func binary(t testing.TB, env, name string, required bool) string {
	t.Helper()
	if p := os.Getenv(env); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%s=%s: %v", env, p, err)
		}
		return p
	}
	if _, file, _, ok := runtime.Caller(0); ok {
		p := filepath.Join(filepath.Dir(file), "..", "..", ".tools", "bin", name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	msg := fmt.Sprintf("%s not found: scripts/test.sh installs it into .tools/bin (or set %s)", name, env)
	if required || os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// start runs the server on a free port until health answers 200, and
// stops it when the test ends; it returns http://127.0.0.1:<port>.
func start(t testing.TB, bin string, command func(port int) *exec.Cmd, health string) string {
	t.Helper()
	var lastErr error
	for range 3 { // another process may take the port between probe and bind
		port, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		cmd := command(port)
		out := &limited{max: 8 << 10}
		cmd.Stdout, cmd.Stderr = out, out
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			t.Fatalf("start %s: %v", bin, err)
		}
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		ep := "http://127.0.0.1:" + strconv.Itoa(port)
		if lastErr = waitHealthy(ep+health, exited); lastErr != nil {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
			lastErr = fmt.Errorf("%s: %w: %s", bin, lastErr, out.String())
			continue
		}
		t.Cleanup(func() {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(5 * time.Second):
				_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
				<-exited
			}
		})
		return ep
	}
	t.Fatal(lastErr)
	return ""
}

func waitHealthy(url string, exited <-chan struct{}) error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-exited:
			return fmt.Errorf("exited before answering %s", url)
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("no answer on %s within 60s", url)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// limited keeps the first max bytes written to it.
type limited struct {
	mu  sync.Mutex
	buf []byte
	max int
}

func (b *limited) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := b.max - len(b.buf); room > 0 {
		b.buf = append(b.buf, p[:min(len(p), room)]...)
	}
	return len(p), nil
}

func (b *limited) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}
