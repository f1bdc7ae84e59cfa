package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/entralake/entralake/internal/fsfault"
	"github.com/gofrs/flock"
)

// Files of a data dir besides the JetStream store.
const (
	// lockName is locked (flock) by the process that runs the embedded
	// server on the data dir, and holds its pid and command.
	lockName = "entralake.lock"
	// urlName holds the client URL of that server while it runs, so that
	// `status` and `dlq` can connect to it.
	urlName = "nats.url"
)

// ErrDataDirInUse reports a data dir locked by another process.
var ErrDataDirInUse = errors.New("in use")

// dataDir is a data dir this process holds.
type dataDir struct {
	dir  string
	lock *flock.Flock
}

// lockDataDir creates dir if needed and locks it for this process. It
// fails at once when another process holds it, naming that process.
func lockDataDir(dir, command string) (*dataDir, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("data dir %s: %w", dir, fsfault.Classify(err))
	}
	path := filepath.Join(dir, lockName)
	fl := flock.New(path)
	ok, err := fl.TryLock()
	if err != nil {
		return nil, fmt.Errorf("data dir %s: lock %s: %w", dir, path, fsfault.Classify(err))
	}
	if !ok {
		return nil, fmt.Errorf("data dir %s is %w by %s: stop it, or give this command another --data-dir (status and dlq connect to it as it runs)",
			dir, ErrDataDirInUse, holder(dir))
	}
	info := strconv.Itoa(os.Getpid()) + " entralake " + command + "\n"
	if err := os.WriteFile(path, []byte(info), 0o644); err != nil {
		_ = fl.Unlock()
		return nil, fmt.Errorf("data dir %s: %w", dir, fsfault.Classify(err))
	}
	return &dataDir{dir: dir, lock: fl}, nil
}

// holder describes the process that holds dir's lock, from what it wrote.
func holder(dir string) string {
	b, err := os.ReadFile(filepath.Join(dir, lockName))
	pid, command, _ := strings.Cut(strings.TrimSpace(string(b)), " ")
	if err != nil || pid == "" {
		return "another process (its pid is not written yet)"
	}
	if command == "" {
		command = "entralake"
	}
	return fmt.Sprintf("%s (pid %s)", command, pid)
}

// publishURL records the URL of the embedded server for `status`.
func (d *dataDir) publishURL(url string) error {
	tmp := filepath.Join(d.dir, "."+urlName+".tmp")
	if err := os.WriteFile(tmp, []byte(url+"\n"), 0o644); err != nil {
		return fmt.Errorf("data dir %s: %w", d.dir, err)
	}
	if err := os.Rename(tmp, filepath.Join(d.dir, urlName)); err != nil {
		return fmt.Errorf("data dir %s: %w", d.dir, err)
	}
	return nil
}

// release forgets the URL and unlocks. The lock file stays: removing it
// could let two processes lock two different files of the same name.
func (d *dataDir) release() {
	_ = os.Remove(filepath.Join(d.dir, urlName))
	_ = os.WriteFile(filepath.Join(d.dir, lockName), nil, 0o644)
	_ = d.lock.Unlock()
}

// runningURL returns the client URL of the embedded server of the process
// that holds dir, for a read-only look (status, dlq).
func runningURL(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, urlName))
	url := strings.TrimSpace(string(b))
	if err != nil || url == "" {
		return "", fmt.Errorf("data dir %s is %w by %s, whose NATS server is not up yet: try again in a moment", dir, ErrDataDirInUse, holder(dir))
	}
	return url, nil
}
