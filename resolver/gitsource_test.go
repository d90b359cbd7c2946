package resolver

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/larder-build/larder/internal/gittest"
	"github.com/larder-build/larder/internal/pypitest"
	"github.com/larder-build/larder/resolver/index"
	"github.com/larder-build/larder/resolver/target"
)

// lockInputs does what `larder lock` does with its input files: read them,
// then resolve them (which is where git runs).
func lockInputs(t *testing.T, files []string) error {
	t.Helper()
	in, err := ReadInputs(files, nil, InputOptions{})
	if err != nil {
		return err
	}
	srv := pypitest.Start(t, &pypitest.Index{Projects: []pypitest.Project{
		{Name: "six", Releases: []pypitest.Release{pure("1.16.0")}},
	}})
	c, err := index.New([]string{srv.URL()}, index.WithCacheDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Resolve(context.Background(), c, Request{
		Requirements: in.Requirements, Constraints: in.Constraints,
		Targets: []target.Target{mustTarget(t, "linux/amd64:3.11")}, CacheDir: t.TempDir(),
	})
	return err
}

// uvLockOnGit is a uv.lock of a project "app" that requires dep, locked
// at version 1.0 from the git source git (a TOML value) on line 17.
func uvLockOnGit(dep, git string) string {
	return `version = 1
revision = 2
requires-python = ">=3.11"

[[package]]
name = "app"
version = "1.0"
source = { editable = "." }
dependencies = [{ name = "` + dep + `" }]

[package.metadata]
requires-dist = [{ name = "` + dep + `" }]

[[package]]
name = "` + dep + `"
version = "1.0"
source = { git = ` + git + ` }
`
}

// allowExt is a user git configuration that allows the ext transport, as
// someone might have for their own reasons: larder must be safe anyway.
func allowExt(t *testing.T) {
	t.Setenv("GIT_CONFIG_COUNT", "1")
	t.Setenv("GIT_CONFIG_KEY_0", "protocol.ext.allow")
	t.Setenv("GIT_CONFIG_VALUE_0", "always")
}

// TestLockNeverRunsACommandFromAGitSource feeds hostile git URLs and
// revisions through every kind of input larder lock reads, and checks
// that lock refuses each with an error naming the file, before git runs.
func TestLockNeverRunsACommandFromAGitSource(t *testing.T) {
	gittest.New(t) // skips without git
	allowExt(t)
	const commit = "0123456789abcdef0123456789abcdef01234567"
	hostile := map[string]func(pwned string) string{
		"option":        func(pwned string) string { return "--upload-pack=touch " + pwned + "; false" },
		"ext transport": func(pwned string) string { return "ext::sh -c touch% " + pwned },
	}
	// The documents take the hostile URL as a TOML string in place of URL.
	for _, tt := range []struct {
		file, doc, want string
	}{
		{"pyproject.toml",
			"[project]\nname = \"app\"\nversion = \"1.0\"\ndependencies = [\"foo\"]\n\n[tool.uv.sources]\nfoo = { git = URL }\n",
			"pyproject.toml:7: tool.uv.sources.foo.git: git URL"},
		{"uv.lock", uvLockOnGit("foo", "URL"), "uv.lock:17: package[1].source.git: parsing git source"},
		{"pylock.toml", `lock-version = "1.0"
created-by = "test"

[[packages]]
name = "foo"
vcs = { type = "git", url = URL, commit-id = "` + commit + `" }
`, "pylock.toml: packages[0] (foo): git URL"},
	} {
		for kind, hostileURL := range hostile {
			t.Run(kind+"/"+tt.file, func(t *testing.T) {
				// Each case has its own file to create, so that one case's
				// command cannot be blamed on another.
				pwned := filepath.Join(t.TempDir(), "pwned")
				u := hostileURL(pwned)
				if tt.file == "uv.lock" {
					u += "#" + commit // uv writes the locked commit as the fragment
				}
				name := filepath.Join(t.TempDir(), tt.file)
				if err := os.WriteFile(name, []byte(strings.Replace(tt.doc, "URL", quote(u), 1)), 0o644); err != nil {
					t.Fatal(err)
				}
				err := lockInputs(t, []string{name})
				if _, serr := os.Stat(pwned); serr == nil {
					t.Fatalf("lock ran a command from the git source: %s exists (lock returned %v)", pwned, err)
				}
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Errorf("lock returned %v; want an error with %q", err, tt.want)
				}
				if kind == "ext transport" && !strings.Contains(err.Error(), "https, http, ssh, git, file") {
					t.Errorf("lock returned %v; want the allowed schemes named", err)
				}
			})
		}
	}
	// Requirement files: the option goes after the '@', as the revision.
	t.Run("requirements.txt", func(t *testing.T) {
		name := filepath.Join(t.TempDir(), "requirements.txt")
		if err := os.WriteFile(name, []byte("six\nfoo @ git+https://127.0.0.1:1/foo.git@--upload-pack=x\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		err := lockInputs(t, []string{name})
		if want := `requirements.txt:2: git revision "--upload-pack=x": starts with '-'`; err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("lock returned %v; want %q", err, want)
		}
	})
}

// TestLockRefusesASubdirectoryOutsideTheCheckout gives lock a git source
// whose subdirectory leads out of the checkout, by ".." and by a link the
// repository commits, with a readable project waiting at both places.
func TestLockRefusesASubdirectoryOutsideTheCheckout(t *testing.T) {
	outside := t.TempDir()
	project := "[project]\nname = \"foo\"\nversion = \"6.6.6\"\n"
	if err := os.WriteFile(filepath.Join(outside, "pyproject.toml"), []byte(project), 0o644); err != nil {
		t.Fatal(err)
	}
	r := gittest.New(t)
	r.Commit(map[string]string{"pkg/pyproject.toml": project}, "one")
	if err := os.Symlink(outside, filepath.Join(r.Dir, "out")); err != nil {
		t.Fatal(err)
	}
	r.Commit(nil, "a link out")
	for _, tt := range []struct{ sub, want string }{
		{"../../../../../../../../../../../../.." + outside, `subdirectory "../../`},
		{"out", `subdirectory "out": a symbolic link leads out of the repository`},
	} {
		t.Run(tt.sub, func(t *testing.T) {
			name := filepath.Join(t.TempDir(), "pyproject.toml")
			doc := "[project]\nname = \"app\"\nversion = \"1.0\"\ndependencies = [\"foo\"]\n\n[tool.uv.sources]\nfoo = { git = " +
				quote(r.URL()) + ", subdirectory = " + quote(tt.sub) + " }\n"
			if err := os.WriteFile(name, []byte(doc), 0o644); err != nil {
				t.Fatal(err)
			}
			err := lockInputs(t, []string{name})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("lock returned %v; want an error with %q", err, tt.want)
			}
		})
	}
}

// quote writes s as a TOML basic string.
func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}
