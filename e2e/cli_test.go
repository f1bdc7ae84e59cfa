package e2e

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// runBinary runs the binary in dir with args and returns its exit code,
// stdout and stderr; it fails the test only when the binary cannot run.
func runBinary(t *testing.T, dir string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), runTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, args...)
	cmd.Dir = dir
	cmd.Env = childEnv()
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		code = exit.ExitCode()
	default:
		t.Fatalf("entralake %q: %v", args, err)
	}
	return code, out.String(), errOut.String()
}

// TestUsageErrors runs the binary on wrong command lines, each in an empty
// folder with the default --data-dir and a relative lake: exit code 2, one
// line on stderr that names the flag and points at the command's help, and
// nothing created (no state folder, no lake, no folder named "s3:").
func TestUsageErrors(t *testing.T) {
	src := absPath(t, testdataExport)
	run := []string{"run", "--source", src, "--lake", "lake", "--once"}
	for _, tc := range []struct {
		args []string
		want string // stderr, after "entralake: error: "
	}{
		{append(run, "--poll-interval", "0"), "--poll-interval 0s: must be more than 0; see 'entralake run --help'"},
		{append(run, "--recent", "0"), "--recent 0s: must be more than 0"},
		{append(run, "--task-ack-wait=-1s"), "--task-ack-wait -1s: must be more than 0"},
		{append(run, "--final-after=-1m"), "--final-after -1m0s: must be at least 0s"},
		{append(run, "--max-deliver", "0"), "--max-deliver 0: must be at least 1"},
		{append(run, "--writers", "0"), "--writer-batches 0: must be at least 1; see 'entralake run --help'"},
		{append(run, "--batch-rows", "0"), "--batch-rows 0: must be more than 0"},
		{append(run, "--max-record-size", "0"), "--max-record-size 0B: must be more than 0"},
		{append(run, "--roll-size", "12XB"), `--roll-size: "12XB" is not a size`},
		{append(run, "--zstd-level", "30"), "--zstd-level 30: must be between 1 and 22"},
		{append(run, "--memory-limit", "lots"), `--memory-limit: "lots" is not a size`},
		{append(run, "--from", "2025-04-12", "--to", "2025-04-11T23"), "--to 2025-04-11T23: is before --from 2025-04-12"},
		{append(run, "--from", "2025-13-01"), "--from 2025-13-01: not an hour like 2025-04-01T00 or a date like 2025-04-01"},
		{append(run, "--bogus"), "unknown flag --bogus; see 'entralake run --help'"},
		{[]string{"run", "--source", src}, "missing flags: --lake=DIR|URL; see 'entralake run --help'"},
		{[]string{"writer", "--lake", "lake", "--batches", "0"}, "--writer-batches 0: must be at least 1; see 'entralake writer --help'"},
		{[]string{"lister", "--source", src, "--poll-interval", "0"}, "--poll-interval 0s: must be more than 0; see 'entralake lister --help'"},
		{[]string{"parser", "--source", src, "--parsers=-1"}, "--parsers -1: must be at least 0"},
		{[]string{"nats-server", "--max-payload", "100MiB"}, "--max-payload 100MiB: must be between 1MiB and 64MiB"},
		{[]string{"gen", "--out", "export"}, "--records 0: give either --records or --mb"},
		{[]string{"gen", "--out", "export", "--records", "10", "--hours", "0"}, "--hours 0: must be more than 0"},
		{[]string{"compact", "--lake", "lake", "--target-size", "0"}, "--target-size 0B: must be more than 0"},
		{[]string{"status", "--wait-idle", "--timeout", "0"}, "--timeout 0s: must be more than 0; see 'entralake status --help'"},
		{[]string{"dlq", "retry"}, "give the ids of dead letters or --all (not both); see 'entralake dlq retry --help'"},
		{[]string{"dlq"}, `expected one of "list", "retry"; see 'entralake dlq --help'`},
		{nil, "; see 'entralake --help'"},
		{[]string{"help", "nope"}, "unexpected argument nope; see 'entralake --help'"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			checkRefused(t, tc.args, tc.want)
		})
	}
}

// TestUnsupportedLocations gives --lake and --source values that look like
// URLs entralake does not support, or malformed ones: each is refused at
// start with a message naming the supported forms, and nothing is created
// (before, --lake s3://bucket/lake wrote to a local folder named "s3:").
// status reads a lake's files directly: a URL is refused with that
// reason.
func TestUnsupportedLocations(t *testing.T) {
	src := absPath(t, testdataExport)
	lakeForms := "use a local folder, or https://<account>.blob.core.windows.net/<container>[/<folder>], or https://<account>.dfs.core.windows.net/<container>[/<folder>], or abfss://<container>@<account>.dfs.core.windows.net[/<folder>], or http://<host>:<port>/<account>/<container>[/<folder>] (Azurite), or azblob://<container>[/<folder>] (account from AZURE_STORAGE_ACCOUNT or ?storage_account=), or s3://<bucket>[/<folder>][?region=<region>&endpoint=<URL>&use_path_style=true], or gs://<bucket>[/<folder>]; see 'entralake run --help'"
	azureLake := "https://acct.blob.core.windows.net/lake"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "--source", src, "--lake", "wasb://bucket/lake", "--once"}, "--lake: unsupported location wasb://bucket/lake: scheme wasb:// is not supported; " + lakeForms},
		{[]string{"run", "--source", src, "--lake", "gs://bucket/lake?sig=c2VjcmV0", "--once"}, "--lake: bad storage URL gs://bucket/lake: unknown query parameter \"sig\""},
		{[]string{"run", "--source", src, "--lake", "s3://bucket/lake?regoin=eu-west-1", "--once"}, "--lake: bad storage URL s3://bucket/lake: unknown query parameter \"regoin\""},
		{[]string{"run", "--source", src, "--lake", "s3:///lake", "--once"}, "--lake: bad storage URL s3:///lake: no bucket"},
		{[]string{"run", "--source", src, "--lake", "azblob://lake?sig=c2VjcmV0", "--once"}, "--lake: bad storage URL azblob://lake: unknown query parameter \"sig\" (accepted: storage_account, domain, protocol, localemu; a SAS goes in AZURE_STORAGE_SAS_TOKEN)"},
		{[]string{"run", "--source", "s3://bucket/export", "--lake", "lake", "--once"}, "--source: unsupported location s3://bucket/export: s3:// is for --lake only; use a local folder laid out as <container>/<blob path>, or https://<account>.blob.core.windows.net[/<container>]"},
		{[]string{"run", "--source", src, "--lake", "https:/acct.blob.core.windows.net/lake", "--once"}, "--lake: bad storage URL https:/acct.blob.core.windows.net/lake: want https://...; use a local folder"},
		{[]string{"run", "--source", src, "--lake", "https://acct.blob.core.windows.net", "--once"}, "--lake: bad storage URL https://acct.blob.core.windows.net/: a lake URL names a container"},
		{[]string{"run", "--source", "https://acct.blob.core.windows.net/cont/folder", "--lake", "lake", "--once"}, "--source: bad storage URL https://acct.blob.core.windows.net/cont/folder: a source URL names an account or a container, not a folder inside one"},
		{[]string{"writer", "--lake", "ftp://bucket/lake"}, "--lake: unsupported location ftp://bucket/lake"},
		{[]string{"parser", "--source", "gs://bucket/export"}, "--source: unsupported location gs://bucket/export"},
		{[]string{"lister", "--source", "s3://bucket/export", "--once"}, "--source: unsupported location s3://bucket/export"},
		{[]string{"status", "--lake", azureLake}, "--lake https://acct.blob.core.windows.net/lake: status --lake works only on a local lake folder, not on Azure Blob Storage; see 'entralake status --help'"},
		{[]string{"status", "--lake", "s3://bucket/lake"}, "status --lake works only on a local lake folder, not on S3"},
		{[]string{"compact", "--lake", "s3://bucket/lake?regoin=x"}, "--lake: bad storage URL s3://bucket/lake: unknown query parameter \"regoin\""},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			stderr := checkRefused(t, tc.args, tc.want)
			if strings.Contains(stderr, "c2VjcmV0") {
				t.Errorf("the error shows the URL's query: %s", stderr)
			}
		})
	}
}

// checkRefused runs the binary in an empty folder and checks that it
// refuses the command line: exit 2, nothing on stdout, one line on stderr
// holding want, and nothing created. It returns stderr.
func checkRefused(t *testing.T, args []string, want string) string {
	t.Helper()
	dir := t.TempDir()
	code, stdout, stderr := runBinary(t, dir, args...)
	lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
	if code != 2 || stdout != "" || len(lines) != 1 || !strings.HasPrefix(lines[0], "entralake: error: ") || !strings.Contains(lines[0], want) {
		t.Errorf("entralake %q: exit %d, stdout %d bytes, stderr %d lines:\n%s\nwant exit 2 and one line with %q",
			args, code, len(stdout), len(lines), tail([]byte(stderr), 4<<10), want)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("entralake %q created %s", args, e.Name())
	}
	return stderr
}

// TestVersionAndHelp checks --version (one line: module version, commit,
// Go version) and that 'entralake help <command>' is '<command> --help'.
func TestVersionAndHelp(t *testing.T) {
	dir := t.TempDir()
	code, out, errOut := runBinary(t, dir, "--version")
	if code != 0 || !regexp.MustCompile(`^entralake \S+, commit ([0-9a-f]{40}( of \S+)?( with uncommitted changes)?|unknown \(built without VCS information\)), go1\.\d+`).MatchString(out) ||
		strings.Count(out, "\n") != 1 {
		t.Errorf("--version: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	for _, cmd := range [][]string{{"run"}, {"dlq", "retry"}, {"compact"}} {
		c1, help, _ := runBinary(t, dir, append([]string{"help"}, cmd...)...)
		c2, want, _ := runBinary(t, dir, append(cmd, "--help")...)
		if c1 != 0 || c2 != 0 || help != want || !strings.HasPrefix(help, "Usage: entralake "+strings.Join(cmd, " ")) {
			t.Errorf("help %s: exit %d, %d; same text as --help: %t\n%s", cmd, c1, c2, help == want, help)
		}
	}
}

// TestRunOnceWholeDay checks that --from and --to given as a date read
// whole days: --to 2025-04-11 reads through hour 23, so the day's 13 blobs
// of testdata/export are read and the 2 blobs of 2025-04-14 are not.
func TestRunOnceWholeDay(t *testing.T) {
	src := absPath(t, testdataExport)
	out, _ := runEntralake(t, "run", "--source", src, "--lake", t.TempDir(), "--data-dir", t.TempDir(), "--once",
		"--from", "2025-04-11", "--to", "2025-04-11")
	m := regexp.MustCompile(`: (\d+) blobs,`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no blob count in the summary %q", out)
	}
	if n, _ := strconv.Atoi(m[1]); n != 13 {
		t.Errorf("--from 2025-04-11 --to 2025-04-11 read %d blobs, want the 13 of that day", n)
	}
}
