package pyproject

import (
	"github.com/larder-build/larder/resolver/pep508"
	"github.com/larder-build/larder/resolver/uvlock"
)

// Project is what larder reads from a pyproject.toml: the [project] table
// (PEP 621), [dependency-groups] (PEP 735), [build-system] (PEP 518) and
// uv's [tool.uv] settings. Names of extras, groups and sources are
// normalized (PEP 503/685/735); requirements keep the text as written.
type Project struct {
	// File is the path the project was loaded from.
	File string
	// HasProject is true when the file has a [project] table; a workspace
	// root may have only [dependency-groups] or [tool.uv].
	HasProject bool
	// Name is the project name as written.
	Name string
	// Version is the static version, "" when absent or dynamic.
	Version string
	// RequiresPython is the specifier set of supported Pythons.
	RequiresPython string
	// Dynamic lists the [project] keys a build backend fills in.
	Dynamic []string
	// Dependencies are [project] dependencies, in file order.
	Dependencies []Requirement
	// OptionalDependencies maps a normalized extra name to its requirements.
	OptionalDependencies map[string][]Requirement
	// DependencyGroups maps a normalized group name to the group.
	DependencyGroups map[string]DependencyGroup
	// BuildSystem is [build-system], nil when absent.
	BuildSystem *BuildSystem
	// UV is [tool.uv], nil when absent.
	UV *UV
	// Setuptools is [tool.setuptools.dynamic], nil when absent.
	Setuptools *SetuptoolsDynamic
}

// Requirement is one PEP 508 requirement string from the file: parsed,
// with the text as written and where it was written.
type Requirement struct {
	pep508.Requirement
	// Raw is the string as written in the file.
	Raw string
	// Key is where it was written, such as "dependency-groups.testing[3]".
	Key string
	// Line is the 1-based line of Key in File.
	Line int
}

// DependencyGroup is one PEP 735 group.
type DependencyGroup struct {
	// Name is the normalized group name.
	Name string
	// Includes are the normalized names of the groups it includes directly
	// with {include-group = "..."}, in file order.
	Includes []string
	// Requirements are the group's own requirement strings, in file order.
	Requirements []Requirement
	// Expanded is the group's full list: its entries in file order, each
	// include replaced by the included group's Expanded list.
	Expanded []Requirement
}

// BuildSystem is [build-system].
type BuildSystem struct {
	Requires     []Requirement
	BuildBackend string
	BackendPath  []string
}

// UV is the part of [tool.uv] that changes what gets resolved.
type UV struct {
	// ConstraintDependencies narrow versions without adding requirements.
	ConstraintDependencies []Requirement
	// OverrideDependencies replace every other requirement on their names.
	OverrideDependencies []Requirement
	// ScopedOverrides are the override-dependencies entries that replace
	// requirements of one package's dependencies only, written
	// { package = { name = "bar", version = "0.0.5" }, dependencies = [...] }.
	ScopedOverrides []ScopedOverride
	// ExcludeDependencies are left out of the resolution wherever they
	// are asked for (exclude-dependencies).
	ExcludeDependencies uvlock.Excludes
	// DependencyMetadata stands for the metadata of the projects it names
	// ([[tool.uv.dependency-metadata]]).
	DependencyMetadata []uvlock.StaticMetadata
	// DevDependencies is the legacy spelling of the "dev" group.
	DevDependencies []Requirement
	// DefaultGroups are the groups uv installs by default; nil means uv's
	// default (["dev"]) and DefaultGroupsAll means "all".
	DefaultGroups    []string
	DefaultGroupsAll bool
	// Conflicts are sets of extras or groups that must not be installed
	// together, so that each may resolve on its own.
	Conflicts [][]ConflictItem
	// Sources maps a normalized package name to where it comes from
	// instead of the index; several entries differ by marker, extra or group.
	Sources map[string][]Source
	// Indexes are the named package indexes of [[tool.uv.index]].
	Indexes []Index
}

// ConflictItem is one member of a conflict set: an extra or a group, of
// this project unless Package names another workspace member.
type ConflictItem struct {
	Package string
	Extra   string
	Group   string
}

// Source is one [tool.uv.sources] entry. Exactly one of Git, Path, URL,
// Index and Workspace is set.
type Source struct {
	Git          string
	Branch       string
	Tag          string
	Rev          string
	Path         string
	Editable     bool
	URL          string
	Subdirectory string
	Index        string
	Workspace    bool
	// Marker, Extra and Group restrict where the source applies.
	Marker string
	Extra  string
	Group  string
}

// Kind returns which kind of source s is: "git", "path", "url", "index" or
// "workspace".
func (s Source) Kind() string {
	switch {
	case s.Git != "":
		return "git"
	case s.Path != "":
		return "path"
	case s.URL != "":
		return "url"
	case s.Index != "":
		return "index"
	case s.Workspace:
		return "workspace"
	}
	return ""
}

// ScopedOverride is an override scoped to the dependencies of Name (at
// Version, or at every version when Version is "").
type ScopedOverride struct {
	Name         string
	Version      string
	Dependencies []Requirement
	// Key is where it was written, such as
	// "tool.uv.override-dependencies[2]".
	Key string
}

// Index is one [[tool.uv.index]] entry.
type Index struct {
	Name     string
	URL      string
	Explicit bool
	Default  bool
}
