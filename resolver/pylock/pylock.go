package pylock

import (
	"time"

	"github.com/larder-build/larder/resolver/dist"
)

// Lock is a whole pylock.toml file.
type Lock struct {
	// LockVersion is the format version, "1.0" for PEP 751 as accepted.
	LockVersion string
	// Environments are markers of the environments the lock is valid for.
	Environments []string
	// RequiresPython is the specifier set of Python versions the lock supports.
	RequiresPython string
	// Extras are the extras the lock was made with.
	Extras []string
	// DependencyGroups are the dependency groups the lock was made with.
	DependencyGroups []string
	// DefaultGroups are the groups installed when none is asked for.
	DefaultGroups []string
	// CreatedBy names the tool that wrote the lock.
	CreatedBy string
	// Packages are the locked packages, one entry per distribution choice.
	Packages []Package
	// Tool is the top-level [tool] table.
	Tool Tool
}

// Package is one [[packages]] entry: a name, a version and exactly one kind
// of source (VCS, Directory, Archive, or Sdist and/or Wheels from an index).
type Package struct {
	// Name is the normalized project name.
	Name string
	// Version is the exact version; required when Sdist or Wheels are set.
	Version string
	// Marker says in which environments the package is installed.
	Marker string
	// RequiresPython is the package's own Requires-Python.
	RequiresPython string
	// Dependencies point at the other entries this package depends on.
	Dependencies []Dependency
	// Index is the base URL of the index the files came from.
	Index string
	// VCS is a version control source.
	VCS *VCS
	// Directory is a local source tree.
	Directory *Directory
	// Archive is a source tree archive (not an sdist) at a URL or path.
	Archive *Archive
	// Sdist is the source distribution.
	Sdist *File
	// Wheels are the built distributions.
	Wheels []File
	// AttestationIdentities are the trusted publishers of the files.
	AttestationIdentities []AttestationIdentity
	// Tool is the package's [packages.tool] table.
	Tool Tool
}

// Dependency identifies another [[packages]] entry with as few keys as
// needed to tell it apart: usually the name alone, or name and version.
type Dependency struct {
	Name    string
	Version string
	// Other holds any further disambiguating keys (marker, vcs...) verbatim.
	Other map[string]any
}

// VCS is [packages.vcs]: a source tree checked out from version control.
type VCS struct {
	Type              string // "git", "hg", "svn" or "bzr"
	URL               string
	Path              string
	RequestedRevision string
	CommitID          string
	Subdirectory      string
}

// Directory is [packages.directory]: a local source tree.
type Directory struct {
	Path         string
	Editable     bool
	Subdirectory string
}

// Archive is [packages.archive]: a source tree in an archive file.
type Archive struct {
	URL          string
	Path         string
	Size         int64 // 0 when unknown
	UploadTime   time.Time
	Hashes       Hashes
	Subdirectory string
}

// File is an sdist or a wheel. Name may be empty when it is the last part of
// URL or Path.
type File struct {
	Name       string
	UploadTime time.Time // zero when unknown
	URL        string
	Path       string
	Size       int64 // 0 when unknown
	Hashes     Hashes
}

// FileName returns Name, or else the last part of URL or Path.
func (f File) FileName() string { return dist.FileName(f.Name, f.URL, f.Path) }

// Hashes maps a hash algorithm name (as in Python's hashlib, "sha256") to the
// lowercase hex digest.
type Hashes map[string]string

// AttestationIdentity is one entry of attestation-identities.
type AttestationIdentity struct {
	Kind string
	// Other holds the kind-specific keys verbatim.
	Other map[string]any
}

// Targets are the targets larder locked for ([tool.larder] targets), nil
// in a lock another tool wrote.
func (l *Lock) Targets() []string {
	if l.Tool.Larder == nil {
		return nil
	}
	return l.Tool.Larder.Targets
}

// Tool is a [tool] table: larder's own table typed, every other tool's
// table kept as decoded so that it round-trips unchanged.
type Tool struct {
	Larder *LarderTool
	// Other maps a tool name to its value as decoded by go-toml.
	Other map[string]any
}

func (t Tool) empty() bool { return t.Larder == nil && len(t.Other) == 0 }

// LarderTool is [tool.larder] or [packages.tool.larder].
type LarderTool struct {
	// Targets are the targets (as target.Target strings) that need the package.
	Targets []string
	// Private marks a package that must never fall through to a public index.
	Private bool
	// Via are dependency chains from a root requirement to the package.
	Via [][]string
	// Build says how a wheel is produced when none is downloaded.
	Build string
	// Unpinned marks a package that fully pinned inputs left out (pip,
	// setuptools, wheel, distribute: pip-compile's "unsafe" packages), so
	// its version was chosen by the resolver rather than by the inputs.
	Unpinned bool
	// Other holds keys this version of larder does not know, verbatim.
	Other map[string]any
}
