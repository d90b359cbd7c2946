package build

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/larder-build/larder/internal/gittest"
)

// TestHostNeverBuildsFromOutsideTheRepository asks the builder, as a
// hand-edited lock could, for a fork over git's ext transport (with a user
// configuration that allows it) and for a subdirectory that the
// repository commits as a link to a project outside it.
func TestHostNeverBuildsFromOutsideTheRepository(t *testing.T) {
	needGit(t) // not parallel: the git configuration is in the environment
	python := needPython(t, debianPython)
	t.Setenv("GIT_CONFIG_COUNT", "1")
	t.Setenv("GIT_CONFIG_KEY_0", "protocol.ext.allow")
	t.Setenv("GIT_CONFIG_VALUE_0", "always")
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "pyproject.toml"), []byte("[project]\nname = \"forked-lib\"\nversion = \"6.6.6\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := gittest.New(t)
	if err := os.Symlink(outside, filepath.Join(r.Dir, "pkg")); err != nil {
		t.Fatal(err)
	}
	commit := r.Commit(map[string]string{"README": "a fork\n"}, "a link out")
	pwned := filepath.Join(t.TempDir(), "pwned")
	h := newHost(t, WithPython(python))
	for _, tt := range []struct {
		name string
		vcs  VCS
		want string
	}{
		{"ext transport", VCS{URL: "git+ext::sh -c touch% " + pwned, Commit: commit}, `"ext" transport runs commands`},
		{"subdirectory linked out", VCS{URL: "git+" + r.URL(), Commit: commit, Subdirectory: "pkg"}, `subdirectory "pkg": a symbolic link leads out of the repository`},
	} {
		v := tt.vcs
		_, err := h.Build(testContext(t), Request{Project: "forked-lib", VCS: &v, Target: hostTarget(t, "3.11")}, t.TempDir())
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Build returned %v; want an error with %q", tt.name, err, tt.want)
		}
	}
	if _, err := os.Stat(pwned); err == nil {
		t.Errorf("the builder ran a command from a git URL: %s exists", pwned)
	}
}
