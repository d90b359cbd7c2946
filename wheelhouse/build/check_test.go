package build

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/larder-build/larder/resolver/target"
)

func mustTarget(t *testing.T, s string) target.Target {
	t.Helper()
	tg, err := target.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

// wantError checks err against want: no error when want is "", else an
// error containing want.
func wantError(t *testing.T, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Errorf("refused: %v", err)
	case want != "" && err == nil:
		t.Errorf("accepted, want an error containing %q", want)
	case want != "" && !strings.Contains(err.Error(), want):
		t.Errorf("error %q lacks %q", err, want)
	}
}

func TestCheckWheelRefusesWheelsThatAreNotTheRequest(t *testing.T) {
	amd := mustTarget(t, "linux/amd64:3.11:glibc2.36")
	arm := mustTarget(t, "linux/arm64:3.12:musl1.2")
	fork := &VCS{URL: "file:///x", Commit: strings.Repeat("a", 40)}
	cases := []struct {
		name    string
		wheel   string
		req     Request
		wantErr string // "" for accepted
	}{
		{"pure wheel fits every target", "demo-1.0-py3-none-any.whl", Request{Project: "demo", Version: "1.0", Target: arm}, ""},
		{"name compared normalized", "Foo_Bar-1.0-py3-none-any.whl", Request{Project: "foo.bar", Version: "1.0", Target: amd}, ""},
		{"version compared as PEP 440", "demo-1.0.0-py3-none-any.whl", Request{Project: "demo", Version: "1.0", Target: amd}, ""},
		{"manylinux wheel fits its glibc", "demo-1.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", Request{Project: "demo", Version: "1.0", Target: amd}, ""},
		{"other project", "other-1.0-py3-none-any.whl", Request{Project: "demo", Version: "1.0", Target: amd}, `is for project "other", not "demo"`},
		{"other version", "demo-1.1-py3-none-any.whl", Request{Project: "demo", Version: "1.0", Target: amd}, `has version "1.1", not "1.0"`},
		{"fork version is not checked", "demo-7.0-py3-none-any.whl", Request{Project: "demo", Version: "1.0", VCS: fork, Target: amd}, ""},
		{"fork project is checked", "other-7.0-py3-none-any.whl", Request{Project: "demo", VCS: fork, Target: amd}, `not "demo"`},
		{"other architecture", "demo-1.0-cp311-cp311-manylinux_2_17_aarch64.whl", Request{Project: "demo", Version: "1.0", Target: amd},
			"demo-1.0-cp311-cp311-manylinux_2_17_aarch64.whl (tags cp311-cp311-manylinux_2_17_aarch64) does not fit target linux/amd64:3.11:glibc2.36"},
		{"other python", "demo-1.0-cp311-cp311-manylinux_2_17_aarch64.whl", Request{Project: "demo", Version: "1.0", Target: arm}, "does not fit target linux/arm64"},
		{"glibc wheel on musl", "demo-1.0-cp312-cp312-manylinux_2_17_aarch64.whl", Request{Project: "demo", Version: "1.0", Target: arm}, "does not fit"},
		{"newer glibc than the target's", "demo-1.0-cp311-cp311-manylinux_2_39_x86_64.whl", Request{Project: "demo", Version: "1.0", Target: amd}, "does not fit"},
		{"python 2 only", "demo-1.0-py2-none-any.whl", Request{Project: "demo", Version: "1.0", Target: amd}, "does not fit"},
		{"not a wheel name", "demo-1.0.tar.gz", Request{Project: "demo", Version: "1.0", Target: amd}, `built wheel "demo-1.0.tar.gz"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := checkWheel(c.wheel, c.req)
			wantError(t, err, c.wantErr)
		})
	}
}

func TestIsPureOnlyForPythonAnyWheels(t *testing.T) {
	amd := mustTarget(t, "linux/amd64:3.11:glibc2.36")
	cases := map[string]bool{
		"demo-1.0-py3-none-any.whl":                     true,
		"demo-1.0-py2.py3-none-any.whl":                 true,
		"demo-1.0-cp311-none-any.whl":                   false, // one interpreter only
		"demo-1.0-py3-none-linux_x86_64.whl":            false,
		"demo-1.0-cp311-abi3-manylinux_2_17_x86_64.whl": false,
	}
	for name, want := range cases {
		w, _ := checkWheel(name, Request{Project: "demo", Version: "1.0", Target: amd})
		if got := isPure(w); got != want {
			t.Errorf("isPure(%s) = %v, want %v", name, got, want)
		}
	}
}

func TestValidateRefusesUnpinnedOrAmbiguousRequests(t *testing.T) {
	amd := mustTarget(t, "linux/amd64:3.11:glibc2.36")
	commit := strings.Repeat("ab", 20)
	cases := []struct {
		name    string
		req     Request
		wantErr string
	}{
		{"sdist", Request{Project: "demo", Version: "1.0", Sdist: "demo-1.0.tar.gz", Target: amd}, ""},
		{"fork", Request{Project: "demo", VCS: &VCS{URL: "https://example.invalid/x.git", Commit: commit, Subdirectory: "a/b"}, Target: amd}, ""},
		{"sha256 repository", Request{Project: "demo", VCS: &VCS{URL: "file:///x", Commit: strings.Repeat("ab", 32)}, Target: amd}, ""},
		{"no source", Request{Project: "demo", Version: "1.0", Target: amd}, "no source"},
		{"two sources", Request{Project: "demo", Version: "1.0", Sdist: "x.tar.gz", VCS: &VCS{URL: "file:///x", Commit: commit}, Target: amd}, "both"},
		{"no target", Request{Project: "demo", Version: "1.0", Sdist: "x.tar.gz"}, "no target"},
		{"bad project", Request{Project: "-demo", Version: "1.0", Sdist: "x.tar.gz", Target: amd}, `"-demo": not a valid project name`},
		{"bad sdist version", Request{Project: "demo", Version: "one", Sdist: "x.tar.gz", Target: amd}, `version "one"`},
		{"branch", Request{Project: "demo", VCS: &VCS{URL: "file:///x", Commit: "main"}, Target: amd}, `commit "main" is not a full commit id`},
		{"short commit", Request{Project: "demo", VCS: &VCS{URL: "file:///x", Commit: commit[:12]}, Target: amd}, "not a full commit id"},
		{"upper-case commit", Request{Project: "demo", VCS: &VCS{URL: "file:///x", Commit: strings.ToUpper(commit)}, Target: amd}, "not a full commit id"},
		{"escaping subdirectory", Request{Project: "demo", VCS: &VCS{URL: "file:///x", Commit: commit, Subdirectory: "a/../../b"}, Target: amd}, "escapes"},
		{"absolute subdirectory", Request{Project: "demo", VCS: &VCS{URL: "file:///x", Commit: commit, Subdirectory: "/etc"}, Target: amd}, "must be a path relative to the repository"},
		{"subdirectory that reads as an option", Request{Project: "demo", VCS: &VCS{URL: "file:///x", Commit: commit, Subdirectory: "--x"}, Target: amd}, "starts with '-'"},
		{"URL that git would read as an option", Request{Project: "demo", VCS: &VCS{URL: "git+--upload-pack=touch /tmp/x", Commit: commit}, Target: amd}, "starts with '-'"},
		{"URL with newline", Request{Project: "demo", VCS: &VCS{URL: "file:///x\n", Commit: commit}, Target: amd}, "control character"},
		{"ext transport", Request{Project: "demo", VCS: &VCS{URL: "git+ext::sh -c touch% /tmp/x", Commit: commit}, Target: amd}, `"ext" transport runs commands`},
		{"ssh host that reads as an option", Request{Project: "demo", VCS: &VCS{URL: "git+ssh://-oProxyCommand=x/repo", Commit: commit}, Target: amd}, "host starts with '-'"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := validate(c.req)
			wantError(t, err, c.wantErr)
		})
	}
}

func TestCacheKeySeparatesEveryInput(t *testing.T) {
	base := []string{"sdist\x00abc", "CPython 3.11.7", ""}
	seen := map[string]int{}
	variants := [][]string{
		base,
		{"sdist\x00abd", "CPython 3.11.7", ""},
		{"sdist\x00abc", "CPython 3.11.8", ""},
		{"sdist\x00abc", "CPython 3.11.7", "linux/amd64:3.11:glibc2.36"},
		{"sdist\x00abc", "CPython 3.11.7", "linux/arm64:3.11:glibc2.36"},
		// Moving text between fields must change the key too.
		{"sdist\x00abcCPython 3.11.7", "", ""},
	}
	for i, v := range variants {
		k := cacheKey(v[0], v[1], v[2])
		if j, dup := seen[k]; dup {
			t.Errorf("variants %d and %d share the key %s", j, i, k)
		}
		seen[k] = i
	}
	if got, want := cacheKey(base[0], base[1], base[2]), cacheKey(strings.Clone(base[0]), base[1], base[2]); got != want {
		t.Error("the key is not deterministic")
	}
}

func TestErrorMessageCarriesLogPathAndTail(t *testing.T) {
	e := &Error{Project: "demo", Version: "1.0", Log: "line 1\nboom", LogPath: "/logs/demo.log", Err: os.ErrNotExist}
	want := "building demo 1.0: file does not exist (full log: /logs/demo.log)\nline 1\nboom"
	if e.Error() != want {
		t.Errorf("got %q, want %q", e.Error(), want)
	}
	if e.Unwrap() != os.ErrNotExist {
		t.Error("Unwrap does not return the cause")
	}
}

func TestTailKeepsLastLines(t *testing.T) {
	var b strings.Builder
	for i := range 100 {
		b.WriteString(strings.Repeat("x", i%3) + "\n")
	}
	b.WriteString("last\n")
	got := tail([]byte(b.String()), logTailLines)
	if n := strings.Count(got, "\n") + 1; n != logTailLines || !strings.HasSuffix(got, "last") {
		t.Errorf("tail kept %d lines ending %q", n, got[len(got)-4:])
	}
}

func TestNewHostValidatesOptions(t *testing.T) {
	file := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	cases := map[string][]Option{
		"missing python":        {WithPython("/nonexistent/python3")},
		"ftp index":             {WithIndex("ftp://example.invalid/simple/")},
		"missing find-links":    {WithFindLinks(filepath.Join(t.TempDir(), "none"))},
		"find-links not folder": {WithFindLinks(file)},
		"empty cache dir":       {WithCacheDir("")},
	}
	for name, opts := range cases {
		if _, err := NewHost(opts...); err == nil {
			t.Errorf("%s: NewHost accepted it", name)
		}
	}
}

func TestPipEnvKeepsPipAwayFromUserConfiguration(t *testing.T) {
	t.Setenv("PIP_INDEX_URL", "https://pypi.org/simple/")
	t.Setenv("PIP_FIND_LINKS", "/opt/wheels")
	t.Setenv("PYTHONPATH", "/somewhere")
	t.Setenv("PYTHONINSPECT", "1")                 // turns pip's every exit into 1
	t.Setenv("_PYTHON_HOST_PLATFORM", "win-amd64") // changes the platform tags pip accepts
	t.Setenv("CONDA_PREFIX", "/opt/conda")
	t.Setenv("PYTHONHASHSEED", "0") // a reproducible-build knob, kept
	t.Setenv("PYTHONUTF8", "1")     // a setup.py's UTF-8 files under another locale, kept
	t.Setenv("HOME", "/home/dev")
	t.Setenv("CARGO_HOME", "/opt/cargo")
	env := pipEnv("/tmp/home")
	joined := "\n" + strings.Join(env, "\n") + "\n"
	for _, bad := range []string{"PIP_INDEX_URL=", "PIP_FIND_LINKS=", "PYTHONPATH=", "PYTHONINSPECT=", "_PYTHON_HOST_PLATFORM=", "CONDA_PREFIX="} {
		if strings.Contains(joined, "\n"+bad) {
			t.Errorf("pip's environment keeps %s", bad)
		}
	}
	for _, want := range []string{"HOME=/tmp/home", "PIP_CONFIG_FILE=" + os.DevNull, "PIP_NO_INPUT=1", "PIP_DISABLE_PIP_VERSION_CHECK=1", "PYTHONHASHSEED=0",
		"PYTHONUTF8=1", "RUSTUP_HOME=/home/dev/.rustup", "CARGO_HOME=/opt/cargo"} {
		if !strings.Contains(joined, "\n"+want+"\n") {
			t.Errorf("pip's environment lacks %s", want)
		}
	}
}
