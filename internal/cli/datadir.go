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
	// server on the data dir. It is opened read-only and readable by all,
	// so that a lock file another user created does not keep the data
	// dir's owner out.
	lockName = "entralake.lock"
	// holderName says which process holds the lock: pid and command.
	holderName = "entralake.pid"
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
	fl := flock.New(path, flock.SetPermissions(0o644))
	ok, err := fl.TryLock()
	if err != nil {
		return nil, fmt.Errorf("data dir %s: lock %s: %w", dir, path, fsfault.Classify(err))
	}
	if !ok {
		return nil, fmt.Errorf("data dir %s is %w by %s: stop it, or give this command another --data-dir (status and dlq connect to it as it runs)",
			dir, ErrDataDirInUse, holder(dir))
	}
	d := &dataDir{dir: dir, lock: fl}
	info := strconv.Itoa(os.Getpid()) + " entralake " + command
	if err := d.replace(holderName, info); err != nil {
		_ = fl.Unlock()
		return nil, err
	}
	return d, nil
}

// holder describes the process that holds dir's lock, from what it wrote.
func holder(dir string) string {
	b, err := os.ReadFile(filepath.Join(dir, holderName))
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
func (d *dataDir) publishURL(url string) error { return d.replace(urlName, url) }

// replace writes a file of the data dir whole (a new file renamed over the
// old one, whoever owned it).
func (d *dataDir) replace(name, line string) error {
	tmp := filepath.Join(d.dir, "."+name+".tmp")
	if err := os.WriteFile(tmp, []byte(line+"\n"), 0o644); err != nil {
		return fmt.Errorf("data dir %s: %w", d.dir, fsfault.Classify(err))
	}
	if err := os.Rename(tmp, filepath.Join(d.dir, name)); err != nil {
		return fmt.Errorf("data dir %s: %w", d.dir, fsfault.Classify(err))
	}
	return nil
}

// release forgets the URL and the holder, and unlocks. The lock file
// stays: removing it could let two processes lock two different files of
// the same name.
func (d *dataDir) release() {
	_ = os.Remove(filepath.Join(d.dir, urlName))
	_ = os.Remove(filepath.Join(d.dir, holderName))
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
