// Package uploadtest runs the real upload clients of an index in tests:
// Debian's htpasswd (bcrypt entries, as `htpasswd -B` writes them) and
// twine, isolated from the machine's configuration.
package uploadtest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/larder-build/larder/internal/pypitest"
	"github.com/larder-build/larder/internal/testenv"
)

// Htpasswd writes an htpasswd file with Debian's `htpasswd -B`, one user per
// user:password pair, and returns its path.
func Htpasswd(t testing.TB, users ...string) string {
	t.Helper()
	bin := testenv.Tool(t, "htpasswd")
	f := filepath.Join(t.TempDir(), "htpasswd")
	for i, up := range users {
		user, pass, _ := strings.Cut(up, ":")
		args := []string{"-B", "-b"}
		if i == 0 {
			args = append(args, "-c")
		}
		if out, err := exec.Command(bin, append(args, "--", f, user, pass)...).CombinedOutput(); err != nil {
			t.Fatalf("htpasswd: %v\n%s", err, out)
		}
	}
	return f
}

// Twine runs Debian's twine upload of files, with the options flags,
// against the upload URL repo as user;
// its home is empty, so no ~/.pypirc or keyring is read.
func Twine(t testing.TB, repo, user, pass string, files []string, flags ...string) (string, error) {
	t.Helper()
	bin := testenv.Tool(t, "twine")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// Values joined to their options, and the files after "--": none can
	// be read as an option.
	full := append([]string{"upload", "--non-interactive", "--disable-progress-bar", "--repository-url=" + repo, "--username=" + user, "--password=" + pass}, flags...)
	full = append(append(full, "--"), files...)
	cmd := exec.CommandContext(ctx, bin, full...)
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME="+home, "PYTHON_KEYRING_BACKEND=keyring.backends.null.Keyring", "NO_PROXY=*", "no_proxy=*")
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("twine %v: timed out\n%s", files, out)
	}
	return string(out), err
}

// DistFiles builds the first release of p as a wheel (py3-none-any, of
// about wheelSize bytes when not 0) and an sdist into dir, and returns them
// with their paths.
func DistFiles(t testing.TB, dir string, p *pypitest.Project, wheelSize int) (wheel, sdist *pypitest.File, paths []string) {
	t.Helper()
	r := &p.Releases[0]
	w, err := pypitest.BuildWheel(p, r, pypitest.Wheel{Tags: "py3-none-any", Size: wheelSize})
	if err != nil {
		t.Fatal(err)
	}
	sd, err := pypitest.BuildSdist(p, r)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []*pypitest.File{w, sd} {
		path := filepath.Join(dir, f.Filename)
		if err := os.WriteFile(path, f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, path)
	}
	return w, sd, paths
}
