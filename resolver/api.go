package resolver

import (
	"context"

	"github.com/larder-build/larder/resolver/index"
	"github.com/larder-build/larder/resolver/pep440"
	"github.com/larder-build/larder/resolver/pep508"
	"github.com/larder-build/larder/resolver/pylock"
	"github.com/larder-build/larder/resolver/target"
)

// Index is where the resolver learns about projects: their files and the
// core metadata of a file. *index.Client implements it.
type Index interface {
	Project(ctx context.Context, name string) (*index.Page, error)
	Metadata(ctx context.Context, f index.File) ([]byte, error)
}

// Requirement is a requirement of the project, with where it was written.
type Requirement struct {
	pep508.Requirement
	// Source is "file:line", for messages.
	Source string
	// Hashes are --hash pins ("sha256:hex"): the chosen file must match one.
	Hashes []string
	// VCS is set for a requirement on a version control checkout.
	VCS *VCS
}

// Request is what to resolve.
type Request struct {
	Requirements []Requirement
	Constraints  []Requirement
	// Overrides replace requirements on their projects (uv's
	// override-dependencies; see Override).
	Overrides []Override
	// Excludes leave projects out of the resolution (uv's
	// exclude-dependencies; see Exclude).
	Excludes []Exclude
	// StaticMetadata stands for the metadata of the files of the projects
	// it names (uv's dependency-metadata; see StaticMetadata).
	StaticMetadata []StaticMetadata
	Targets        []target.Target
	// Pre allows pre-releases everywhere (pip's --pre).
	Pre bool
	// OnlyBinary and NoBinary name projects (normalized) or ":all:".
	OnlyBinary []string
	NoBinary   []string
	// Verify treats the requirements as a complete closure (pip-compile
	// output, a lock): a dependency that is not among them is an error.
	Verify bool
	// Private are name globs that must never come from a public index;
	// every VCS requirement is private too.
	Private []string
	// Python runs PEP 517 hooks for forks whose metadata is not static.
	Python string
	// CacheDir holds git checkouts of VCS requirements.
	CacheDir string
	// Previous is a lock made earlier from these inputs, or nil. The
	// pages of every project it names are revalidated at once, up
	// front, and the metadata of its files read ahead; the result is
	// the same without it, only slower to reach.
	Previous *pylock.Lock
}

// Result is a resolution for every target.
type Result struct {
	Targets  []target.Target
	Packages []*Package // sorted by name, then version
}

// Package is one version of one project in the closure of some targets.
type Package struct {
	Name    string // normalized
	Version pep440.Version
	Index   string
	// Targets lists indexes into Result.Targets that install this package.
	Targets []int
	// Files are the files some target installs: per target, its best file.
	Files map[int]index.File
	// Deps are the names (normalized) this package depends on, per target.
	Deps map[int][]string
	// Build reports that some target has only an sdist to build.
	Build bool
	// Roots reports whether the project requires it directly, per target.
	Root map[int]bool
	// VCS is set for a package built from a version control checkout.
	VCS *VCS
	// Private marks a package that must never come from a public index.
	Private bool
	// Unpinned marks a package that fully pinned inputs (Request.Verify)
	// left out but that some pinned package requires, and that the
	// resolver therefore chose: only pip-compile's "unsafe" packages
	// (see IsUnsafe) may be missing that way.
	Unpinned bool
}

// unsafePackages are the names pip-compile leaves out of its output
// unless given --allow-unsafe (pip, setuptools, distribute), and wheel,
// which plays the same build-tool role and is left out for the same
// reason by tools that copy pip-compile's rule. Installing such a file
// with pip resolves them anyway; so does a verifying lock.
var unsafePackages = map[string]bool{"pip": true, "setuptools": true, "distribute": true, "wheel": true}

// IsUnsafe reports whether a normalized project name is one of the
// packages that pinned inputs may leave out: pip, setuptools,
// distribute and wheel.
func IsUnsafe(name string) bool {
	return unsafePackages[name]
}

// Progress receives events while resolving; it may be nil.
type Progress func(Event)

// Event is a step of a resolution, for progress display: a version
// examined, or the search starting over.
type Event struct {
	Target  string
	Package string
	Version string
	// Restart, set alone, says the search starts over: a re-lock found a
	// page it searched changed since it was cached, and searches again
	// against the index. The versions heard of before it no longer count.
	Restart bool
}
