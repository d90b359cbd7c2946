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

// gitRepo makes a repository with a pyproject-based package and returns
// its file:// URL and the commit of the tag v1.0.
func gitRepo(t *testing.T, pyproject string) (string, string) {
	t.Helper()
	r := gittest.New(t)
	commit := r.Commit(map[string]string{
		"pyproject.toml":     pyproject,
		"myfork/__init__.py": "__version__ = '1.0.post1'\n",
	}, "fork")
	r.Git("tag", "-a", "v1.0", "-m", "v1.0")
	return r.URL(), commit
}

func TestResolvePinsAForkToACommitAndMarksItPrivate(t *testing.T) {
	url, commit := gitRepo(t, `[build-system]
requires = ["setuptools"]
build-backend = "setuptools.build_meta"
[project]
name = "myfork"
version = "1.0.post1"
dependencies = ["six>=1.10"]
`)
	// The public index also has a "myfork", higher: it must never win.
	idx := &pypitest.Index{Projects: []pypitest.Project{
		{Name: "six", Releases: []pypitest.Release{pure("1.16.0")}},
		{Name: "myfork", Releases: []pypitest.Release{pure("99.0")}},
		{Name: "app", Releases: []pypitest.Release{pure("1.0", "myfork>=1.0")}},
	}}
	srv := pypitest.Start(t, idx)
	c, err := index.New([]string{srv.URL()}, index.WithCacheDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	in := reqs(t, "app")
	fork := reqs(t, "myfork")[0]
	fork.VCS = &VCS{URL: url, Rev: "v1.0"}
	in = append(in, fork)
	res, err := Resolve(context.Background(), c, Request{
		Requirements: in, Targets: []target.Target{mustTarget(t, "linux/amd64:3.11")}, CacheDir: t.TempDir(),
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := pins(res, 0); got != "app==1.0 myfork==1.0.post1 six==1.16.0" {
		t.Fatalf("got %s", got)
	}
	var p *Package
	for _, x := range res.Packages {
		if x.Name == "myfork" {
			p = x
		}
	}
	if p.VCS == nil || p.VCS.Commit != commit || !p.Private || !p.Build {
		t.Errorf("fork = %+v, vcs %+v; want commit %s, private", p, p.VCS, commit)
	}
	if n := srv.Requests("/simple/myfork/"); n != 0 {
		t.Errorf("the index was asked about the fork's name %d times", n)
	}
	l := res.Lock()
	var buf strings.Builder
	if err := l.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `commit-id = "`+commit+`"`) || !strings.Contains(buf.String(), "private = true") {
		t.Errorf("lock:\n%s", buf.String())
	}
}

func TestResolveReportsAForkAtAMissingRevision(t *testing.T) {
	url, _ := gitRepo(t, "[project]\nname = \"myfork\"\nversion = \"1.0\"\n")
	srv := pypitest.Start(t, &pypitest.Index{})
	c, _ := index.New([]string{srv.URL()}, index.WithCacheDir(t.TempDir()))
	fork := reqs(t, "myfork")[0]
	fork.VCS = &VCS{URL: url, Rev: "no-such-branch"}
	_, err := Resolve(context.Background(), c, Request{
		Requirements: []Requirement{fork}, Targets: []target.Target{mustTarget(t, "linux/amd64:3.11")}, CacheDir: t.TempDir(),
	})
	if err == nil || !strings.Contains(err.Error(), "no-such-branch") || !strings.Contains(err.Error(), "requirements.txt:1") {
		t.Errorf("got %v", err)
	}
}

func writeFile(t *testing.T, name, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}
