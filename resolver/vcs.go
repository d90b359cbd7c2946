package resolver

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"

	"github.com/larder-build/larder/internal/readlimit"
	"github.com/larder-build/larder/resolver/gitsrc"

	"github.com/larder-build/larder/resolver/dist"
	"github.com/larder-build/larder/resolver/pep517"
)

// VCS is a requirement on a version control checkout, such as a git fork
// that is not on any index.
type VCS struct {
	// URL is the repository URL without the "git+" prefix or revision,
	// with the user and token an input gave it: the lock records it
	// without them (gitsrc.WithoutCredentials).
	URL string
	// Rev is the branch, tag or commit asked for ("" for the default branch).
	Rev string
	// Commit is the full commit id Rev resolved to.
	Commit string
	// Subdirectory is where the package lives in the repository.
	Subdirectory string
}

// String renders the requirement URL pip understands, pinned to the
// commit, without the URL's credentials.
func (v *VCS) String() string {
	s := "git+" + gitsrc.WithoutCredentials(v.URL) + "@" + v.Commit
	if v.Subdirectory != "" {
		s += "#subdirectory=" + v.Subdirectory
	}
	return s
}

// Check reports the first part of v that gitsrc refuses to hand to git.
func (v *VCS) Check() error {
	return gitsrc.Source{URL: v.URL, Rev: v.Rev, Subdirectory: v.Subdirectory}.Check()
}

// checkGitSources refuses, before any git runs, a git requirement whose
// URL, revision or subdirectory gitsrc refuses, naming where it was read.
// Each reader may check earlier with a finer location; this is the one
// place every kind of input passes.
func checkGitSources(lists ...[]Requirement) error {
	for _, reqs := range lists {
		for _, r := range reqs {
			if r.VCS == nil {
				continue
			}
			if err := r.VCS.Check(); err != nil {
				return fmt.Errorf("%s: %w", r.Source, err)
			}
		}
	}
	return nil
}

// maxPyproject bounds a source tree's pyproject.toml, read whole.
const maxPyproject = 16 << 20

// forkMetadata reads the metadata of a source tree: static PEP 621 data
// from pyproject.toml when it has all we need, else the PEP 517 hook.
func forkMetadata(ctx context.Context, python, src string) ([]byte, error) {
	// A link in the checkout is not followed (it could point out of it,
	// or at a device): the build backend reads the tree instead.
	if b, err := readlimit.File(filepath.Join(src, "pyproject.toml"), maxPyproject, readlimit.NoLinks); err == nil {
		if raw, ok := pep517.StaticProjectMetadata(b); ok {
			return raw, nil
		}
	}
	raw, err := pep517.Metadata(ctx, python, src)
	if err != nil {
		return nil, fmt.Errorf("its metadata is not static in pyproject.toml, and the build backend failed: %w", err)
	}
	return raw, nil
}

// resolveVCS pins a VCS requirement to a commit and reads its metadata.
func resolveVCS(ctx context.Context, cacheDir, python string, v *VCS) (*dist.Metadata, []byte, error) {
	if err := v.Check(); err != nil {
		return nil, nil, err
	}
	commit, err := gitsrc.ResolveRev(ctx, v.URL, v.Rev)
	if err != nil {
		return nil, nil, err
	}
	// Checkout's commit is "" on failure: the message names the one asked for.
	dir, checkedOut, err := gitsrc.Checkout(ctx, cacheDir, v.URL, commit)
	shown := gitsrc.WithoutCredentials(v.URL)
	if err != nil {
		return nil, nil, fmt.Errorf("checking out %s at %s: %w", shown, commit, err)
	}
	commit = checkedOut
	v.Commit = commit
	// A subdirectory may still leave through a link committed to the
	// repository: the same check fetch's builder makes.
	src, err := gitsrc.SourceDir(dir, v.Subdirectory)
	if err != nil {
		return nil, nil, fmt.Errorf("%s@%s: %w", shown, commit[:12], err)
	}
	raw, err := forkMetadata(ctx, python, src)
	if err != nil {
		return nil, nil, fmt.Errorf("%s@%s: %w", shown, commit[:12], err)
	}
	md, err := dist.ParseMetadata(bytes.NewReader(raw))
	if err != nil {
		return nil, nil, fmt.Errorf("%s@%s: metadata: %w", shown, commit[:12], err)
	}
	return md, raw, nil
}
