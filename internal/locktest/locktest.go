// Package locktest locks a fake index with the real resolver, as 'larder
// lock' does, for the tests of what comes after a lock: fetch, the shared
// cache, bake.
package locktest

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/larder-build/larder/internal/gittest"
	"github.com/larder-build/larder/resolver"
	"github.com/larder-build/larder/resolver/index"
	"github.com/larder-build/larder/resolver/pep508"
	"github.com/larder-build/larder/resolver/pylock"
	"github.com/larder-build/larder/resolver/target"
)

// Roots parses requirement lines as the lines of a requirements.txt.
func Roots(tb testing.TB, lines ...string) []resolver.Requirement {
	tb.Helper()
	out := make([]resolver.Requirement, 0, len(lines))
	for i, l := range lines {
		r, err := pep508.ParseRequirement(l)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, resolver.Requirement{Requirement: r, Source: fmt.Sprintf("requirements.txt:%d", i+1)})
	}
	return out
}

// Lock resolves roots for targets from the index at indexURL, with no
// retries and caches of the test's own, Debian's python3 running the
// metadata hooks of sdists and forks.
func Lock(tb testing.TB, indexURL string, roots []resolver.Requirement, targets ...string) *pylock.Lock {
	tb.Helper()
	ts := make([]target.Target, 0, len(targets))
	for _, s := range targets {
		t, err := target.Parse(s)
		if err != nil {
			tb.Fatal(err)
		}
		ts = append(ts, t)
	}
	c, err := index.New([]string{indexURL}, index.WithCacheDir(tb.TempDir()), index.WithRetries(0, 0))
	if err != nil {
		tb.Fatal(err)
	}
	res, err := resolver.Resolve(context.Background(), c, resolver.Request{
		Requirements: roots, Targets: ts, Python: "/usr/bin/python3", CacheDir: tb.TempDir(),
	})
	if err != nil {
		tb.Fatal(err)
	}
	return res.Lock()
}

// ForkRepo makes the git repository of edx-private-fork 3.1.4+larder, a
// setuptools project that depends on deps, with its commit tagged v3.1.4,
// as a fork pinned in a requirements file is; it returns the repository
// and the commit.
func ForkRepo(tb testing.TB, deps ...string) (*gittest.Repo, string) {
	tb.Helper()
	quoted := make([]string, len(deps))
	for i, d := range deps {
		quoted[i] = strconv.Quote(d)
	}
	r := gittest.New(tb)
	commit := r.Commit(map[string]string{
		"pyproject.toml": `[build-system]
requires = ["setuptools"]
build-backend = "setuptools.build_meta"

[project]
name = "edx-private-fork"
version = "3.1.4+larder"
requires-python = ">=3.8"
dependencies = [` + strings.Join(quoted, ", ") + `]

[tool.setuptools]
packages = ["edx_private_fork"]
`,
		"edx_private_fork/__init__.py": "VERSION = 'fork'\n",
	}, "fork")
	r.Git("tag", "-a", "v3.1.4", "-m", "v3.1.4")
	return r, commit
}
