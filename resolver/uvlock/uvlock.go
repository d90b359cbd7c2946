package uvlock

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/larder-build/larder/resolver/dist"
	"github.com/larder-build/larder/resolver/gitsrc"
)

// Lock is a whole uv.lock file.
type Lock struct {
	// Version is the lock format version; this reader knows 1.
	Version int64
	// Revision is uv's minor revision of the format (0 when absent).
	Revision int64
	// RequiresPython is the specifier set the lock supports.
	RequiresPython string
	// ResolutionMarkers are the markers of the forks the resolution split into.
	ResolutionMarkers []string
	// SupportedMarkers and RequiredMarkers are tool.uv.environments and
	// tool.uv.required-environments as uv recorded them.
	SupportedMarkers []string
	RequiredMarkers  []string
	// Conflicts are the declared conflicting extras and groups.
	Conflicts [][]ConflictItem
	// Options are the resolver options the lock was made with.
	Options Options
	// Manifest records the workspace's inputs, to tell when the lock is stale.
	Manifest Manifest
	// Packages are the [[package]] entries in file order.
	Packages []Package
}

// ConflictItem is one member of a conflict set.
type ConflictItem struct {
	Package string
	Extra   string
	Group   string
}

// Options is [options].
type Options struct {
	ResolutionMode string
	PrereleaseMode string
	ExcludeNewer   string
}

// Manifest is [manifest].
type Manifest struct {
	Members      []string
	Requirements []Requirement
	Constraints  []Requirement
	// Overrides are the overrides that apply to every requirement on
	// their names; ScopedOverrides those uv scopes to the dependencies of
	// one package (tool.uv override-dependencies entries written as
	// { package = { name = ..., version = ... }, dependencies = [...] }).
	Overrides        []Requirement
	ScopedOverrides  []ScopedOverride
	DependencyGroups map[string][]Requirement
	// Excludes are the projects uv left out of the resolution
	// ([manifest] excludes, from tool.uv exclude-dependencies).
	Excludes Excludes
	// DependencyMetadata stands for the metadata of the projects it names
	// ([[manifest.dependency-metadata]]).
	DependencyMetadata []StaticMetadata
}

// ScopedOverride replaces requirements of one package's dependencies:
// those of Name (at Version, or at every version when Version is "").
type ScopedOverride struct {
	Name         string
	Version      string
	Dependencies []Requirement
}

// Package is one [[package]] entry.
type Package struct {
	Name    string
	Version string // "" for a dynamic version of a local project
	Source  Source
	// ResolutionMarkers are the forks this version was chosen in, when a
	// package has several versions in the lock.
	ResolutionMarkers []string
	Dependencies      []Dependency
	// OptionalDependencies maps an extra to what it adds.
	OptionalDependencies map[string][]Dependency
	// DevDependencies maps a dependency group to what it adds.
	DevDependencies map[string][]Dependency
	// Sdist is the source distribution; for a package from a URL or a
	// local archive (Source.Kind url or path) it may hold only the hash,
	// the archive being the source itself.
	Sdist  *File
	Wheels []File
	// Metadata is what a local project declared (requires-dist...).
	Metadata Metadata
}

// Source kinds of a package, as the key uv writes in source = { KIND = ... }.
const (
	SourceRegistry  = "registry"  // an index URL, or a local folder of files
	SourceGit       = "git"       // see Source.Git
	SourceURL       = "url"       // a direct URL to an archive
	SourcePath      = "path"      // a local archive file
	SourceDirectory = "directory" // a local source tree
	SourceEditable  = "editable"  // a local source tree installed editable
	SourceVirtual   = "virtual"   // a workspace member that is not a package
)

// SourceKinds lists every source kind.
var SourceKinds = []string{SourceRegistry, SourceGit, SourceURL, SourcePath, SourceDirectory, SourceEditable, SourceVirtual}

// Source is where a package comes from: Kind is one of the Source* kinds
// and Value its URL or path.
type Source struct {
	Kind  string
	Value string
	// Subdirectory is set for URL sources of a project inside an archive.
	Subdirectory string
}

// String returns "kind+value", as in uv's messages.
func (s Source) String() string { return s.Kind + "+" + s.Value }

// GitSource is a parsed git source: uv writes the repository URL with the
// requested reference as a query and the exact commit as the fragment,
// "https://github.com/org/repo?branch=main#0123abcd...".
type GitSource struct {
	URL          string // repository URL without query and fragment
	Branch       string
	Tag          string
	Rev          string
	Subdirectory string
	// Path is set for an archive inside the repository (uv's
	// { git = "...", path = "dist/x.tar.gz" } source): its path there.
	Path   string
	Commit string
}

// Git parses s when it is a git source.
func (s Source) Git() (GitSource, error) {
	if s.Kind != SourceGit {
		return GitSource{}, fmt.Errorf("source %s is not a git source", s)
	}
	return parseGit(s.Value)
}

func parseGit(v string) (GitSource, error) {
	rest, commit, _ := strings.Cut(v, "#")
	base, query, _ := strings.Cut(rest, "?")
	g := GitSource{URL: base, Commit: commit}
	if base == "" {
		return g, fmt.Errorf("parsing git source %q: no repository URL", v)
	}
	if !isHex(commit) || len(commit) != 40 && len(commit) != 64 {
		return g, fmt.Errorf("parsing git source %q: want the full commit hash after \"#\"", v)
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		return g, fmt.Errorf("parsing git source %q: %w", v, err)
	}
	g.Branch, g.Tag, g.Rev, g.Subdirectory, g.Path = q.Get("branch"), q.Get("tag"), q.Get("rev"), q.Get("subdirectory"), q.Get("path")
	if err := checkGit(g.URL, q); err != nil {
		return g, fmt.Errorf("parsing git source %q: %w", v, err)
	}
	return g, nil
}

// checkGit refuses a git source whose URL, reference or subdirectory git
// could read as an option or that would leave the checkout: a lock is
// input like any other, and may be hostile.
func checkGit(base string, q url.Values) error {
	if err := gitsrc.CheckURL(base); err != nil {
		return err
	}
	for _, k := range []string{"branch", "tag", "rev"} {
		for _, ref := range q[k] {
			if err := gitsrc.CheckRev(ref); err != nil {
				return fmt.Errorf("%s: %w", k, err)
			}
		}
	}
	for _, sub := range append(q["subdirectory"], q["path"]...) {
		if err := gitsrc.CheckSubdirectory(sub); err != nil {
			return err
		}
	}
	return nil
}

// checkRequirementGit checks the git value of a requirement in a
// package's metadata ("URL?rev=..."), which carries no commit.
func checkRequirementGit(v string) error {
	rest, _, _ := strings.Cut(v, "#")
	base, query, _ := strings.Cut(rest, "?")
	q, err := url.ParseQuery(query)
	if err != nil {
		return fmt.Errorf("parsing git source %q: %w", v, err)
	}
	if err := checkGit(base, q); err != nil {
		return fmt.Errorf("git source %q: %w", v, err)
	}
	return nil
}

// Dependency points at another package entry: by name, plus version and
// source when the lock holds several entries of that name.
type Dependency struct {
	Name    string
	Version string
	Source  *Source
	// Extra are the extras of the dependency that are needed.
	Extra  []string
	Marker string
}

// File is an sdist or a wheel. Hash is "algorithm:hexdigest", "" when the
// index gave none.
type File struct {
	URL        string
	Path       string
	Filename   string
	Hash       string
	Size       int64     // 0 when unknown
	UploadTime time.Time // zero when unknown
}

// Name returns Filename, or else the last part of URL or Path.
func (f File) Name() string { return dist.FileName(f.Filename, f.URL, f.Path) }

// Metadata is [package.metadata] of a local project.
type Metadata struct {
	RequiresDist   []Requirement
	RequiresDev    map[string][]Requirement
	ProvidesExtras []string
}

// Requirement is a requirement as uv records it in metadata and the
// manifest: a table, not a PEP 508 string. PEP508 rebuilds the string.
type Requirement struct {
	Name      string
	Extras    []string
	Specifier string
	Marker    string
	// At most one of these names where the requirement comes from.
	Index, Git, URL, Path, Directory, Editable, Virtual string
	Subdirectory                                        string
}

// PEP508 returns the requirement as a PEP 508 string, such as
// `requests[socks]>=2.31` or `xblocks-core @ git+https://...`. Local
// sources (path, directory, editable, virtual) and the index are not part
// of PEP 508 and are left out.
func (r Requirement) PEP508() string {
	var b strings.Builder
	b.WriteString(r.Name)
	if len(r.Extras) > 0 {
		b.WriteString("[" + strings.Join(r.Extras, ",") + "]")
	}
	switch {
	case r.Git != "":
		b.WriteString(" @ git+" + pipGitURL(r.Git))
	case r.URL != "":
		b.WriteString(" @ " + r.URL)
	default:
		b.WriteString(r.Specifier)
	}
	if r.Marker != "" {
		if r.Git != "" || r.URL != "" {
			b.WriteString(" ")
		}
		b.WriteString("; " + r.Marker)
	}
	return b.String()
}

// pipGitURL turns uv's "URL?branch=b" into pip's "URL@b", the form PEP 508
// direct references use.
func pipGitURL(v string) string {
	rest, _, _ := strings.Cut(v, "#")
	base, query, _ := strings.Cut(rest, "?")
	q, err := url.ParseQuery(query)
	if err != nil {
		return rest
	}
	for _, k := range []string{"rev", "tag", "branch"} {
		if ref := q.Get(k); ref != "" {
			base += "@" + ref
			break
		}
	}
	if sub := q.Get("subdirectory"); sub != "" {
		base += "#subdirectory=" + sub
	}
	return base
}

// isHex reports whether s is one or more lower-case hexadecimal digits.
func isHex(s string) bool { return s != "" && strings.Trim(s, "0123456789abcdef") == "" }
