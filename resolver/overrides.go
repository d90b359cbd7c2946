package resolver

import (
	"fmt"

	"github.com/larder-build/larder/resolver/dist"
	"github.com/larder-build/larder/resolver/pep440"
	"github.com/larder-build/larder/resolver/pep508"
)

// Override replaces requirements on its project, as uv's
// override-dependencies do: every requirement on the project (the
// dependencies of every package, and the project's own requirements)
// stands replaced by the project's overrides, each under its own marker
// (an optional dependency's stay optional for its extra). One with a
// Scope replaces the requirements of that project's dependencies only
// (at ScopeVersion, or at every version when it is ""), ahead of the
// overrides without one.
type Override struct {
	Requirement
	// Scope is a project name, or "".
	Scope        string
	ScopeVersion string
}

// Exclude leaves a project out of the resolution, as uv's
// exclude-dependencies do: every requirement on Name (the dependencies of
// every package, and the project's own requirements) is dropped, and
// nothing Name would have brought is looked up. One with a Scope drops
// Name from that project's dependencies only (at ScopeVersion, or at
// every version when it is ""; one at the dependent's very version
// stands for the one at every version).
type Exclude struct {
	// Name is the project left out, normalized or not.
	Name         string
	Scope        string
	ScopeVersion string
	// Source says where the exclusion was read, for errors.
	Source string
}

// overrides are a request's overrides and exclusions, indexed as uv
// applies them.
type overrides struct {
	global map[string][]pep508.Requirement
	scoped byDependent[[]pep508.Requirement]
	// excluded are the projects left out everywhere; excludedBy those
	// left out of one dependent's dependencies.
	excluded   map[string]bool
	excludedBy byDependent[bool]
}

// byDependent indexes what is scoped to one dependent's dependencies: by
// the dependent's name, its sets at one version or (version nil) at any,
// each by the name of the dependency it applies to.
type byDependent[T any] map[string][]versionSet[T]

type versionSet[T any] struct {
	version *pep440.Version
	by      map[string]T
}

// set returns the dependent's set at version ("" for any), made when it
// has none.
func (d byDependent[T]) set(dependent, version string) (map[string]T, error) {
	var v *pep440.Version
	if version != "" {
		pv, err := pep440.Parse(version)
		if err != nil {
			return nil, err
		}
		v = &pv
	}
	scope := dist.NormalizeName(dependent)
	for _, s := range d[scope] {
		if sameVersion(s.version, v) {
			return s.by, nil
		}
	}
	s := versionSet[T]{version: v, by: map[string]T{}}
	d[scope] = append(d[scope], s)
	return s.by, nil
}

// lookup returns the set that applies to the dependencies of dependent
// at version, as uv picks it: the one at that version, else the one at
// any version; nil when there is none.
func (d byDependent[T]) lookup(dependent string, version *pep440.Version) map[string]T {
	if dependent == "" || version == nil {
		return nil
	}
	var anyVersion map[string]T
	for _, s := range d[dependent] {
		if s.version != nil && s.version.Equal(*version) {
			return s.by
		}
		if s.version == nil && anyVersion == nil {
			anyVersion = s.by
		}
	}
	return anyVersion
}

func newOverrides(os []Override, excludes []Exclude) (*overrides, error) {
	out := &overrides{global: map[string][]pep508.Requirement{}, scoped: byDependent[[]pep508.Requirement]{},
		excluded: map[string]bool{}, excludedBy: byDependent[bool]{}}
	for _, e := range excludes {
		if !dist.ValidName(e.Name) || e.Scope != "" && !dist.ValidName(e.Scope) {
			return nil, fmt.Errorf("%s: exclusion of %q (scope %q): not a project name", e.Source, e.Name, e.Scope)
		}
		name := dist.NormalizeName(e.Name)
		if e.Scope == "" {
			out.excluded[name] = true
			continue
		}
		set, err := out.excludedBy.set(e.Scope, e.ScopeVersion)
		if err != nil {
			return nil, fmt.Errorf("%s: exclusion of %s scoped to %s %q: %w", e.Source, name, e.Scope, e.ScopeVersion, err)
		}
		set[name] = true
	}
	for _, o := range os {
		if o.URL != "" || o.VCS != nil {
			return nil, fmt.Errorf("%s: override %s: overrides with a URL are not supported yet", o.Source, o.String())
		}
		name := o.NormalizedName()
		if o.Scope == "" {
			out.global[name] = append(out.global[name], o.Requirement.Requirement)
			continue
		}
		set, err := out.scoped.set(o.Scope, o.ScopeVersion)
		if err != nil {
			return nil, fmt.Errorf("%s: override %s scoped to %s %q: %w", o.Source, o.String(), o.Scope, o.ScopeVersion, err)
		}
		set[name] = append(set[name], o.Requirement.Requirement)
	}
	return out, nil
}

func sameVersion(a, b *pep440.Version) bool {
	return a == nil && b == nil || a != nil && b != nil && a.Equal(*b)
}

// empty reports whether there is nothing to override or exclude.
func (os *overrides) empty() bool {
	return os == nil || len(os.global) == 0 && len(os.scoped) == 0 && len(os.excluded) == 0 && len(os.excludedBy) == 0
}

// excludes reports whether a requirement on name is left out of the
// dependencies of dependent at version (dependent "" for the project's
// own requirements), as uv decides: excluded everywhere, or by the
// dependent's exclusions at that version, else at any version.
func (os *overrides) excludes(name, dependent string, version *pep440.Version) bool {
	return os.excluded[name] || os.excludedBy.lookup(dependent, version)[name]
}

// lookup returns the overrides that replace a requirement on name in the
// dependencies of dependent at version (dependent "" for the project's
// own requirements): the dependent's overrides at that version, else at
// any version, else the global ones. ok is false when none does. os
// is not nil.
func (os *overrides) lookup(name, dependent string, version *pep440.Version) (reqs []pep508.Requirement, ok bool) {
	if reqs, ok := os.scoped.lookup(dependent, version)[name]; ok {
		return reqs, true
	}
	reqs, ok = os.global[name]
	return reqs, ok
}

// replaced is a requirement as it stands after the overrides: the
// requirement itself, or an override standing for it, optional for the
// extra the requirement was optional for.
type replaced struct {
	pep508.Requirement
	overridden bool
	extra      string // the original's extra, for an override
}

// excludesRoot reports whether the project's own requirement on name is
// left out, whatever its source (an index, a URL or git).
func (os *overrides) excludesRoot(name string) bool {
	return !os.empty() && os.excludes(name, "", nil)
}

// replace returns what stands for r in the dependencies of dependent at
// version (dependent "" for the project's own requirements): its
// overrides, and true, or nothing and true when r is excluded; nil and
// false when none applies (r stands as it is, with nothing allocated).
func (os *overrides) replace(r pep508.Requirement, dependent string, version *pep440.Version) ([]replaced, bool) {
	// Checked before the name is normalized, which allocates for a name
	// such as "Jinja2": most requests have no overrides at all.
	if os.empty() {
		return nil, false
	}
	name := r.NormalizedName()
	if os.excludes(name, dependent, version) {
		return []replaced{}, true
	}
	overs, ok := os.lookup(name, dependent, version)
	if !ok {
		return nil, false
	}
	extra := ""
	if r.Marker != nil {
		if ex := r.Marker.Extras(); len(ex) > 0 {
			extra = ex[0]
		}
	}
	out := make([]replaced, len(overs))
	for i, o := range overs {
		out[i] = replaced{Requirement: o, overridden: true, extra: extra}
	}
	return out, true
}

// applies reports whether a replaced requirement is a dependency in env,
// in the pass for extra ("" for the package itself): an override stands
// under its own marker, and only in its original's extra's pass.
func (r replaced) applies(env pep508.Environment, extra string) bool {
	if !r.overridden {
		if r.Marker != nil && !r.Marker.Evaluate(env) {
			return false
		}
		return extra == "" || r.Marker != nil && mentionsExtra(r.Marker, extra)
	}
	if r.extra != extra {
		return false
	}
	return r.Marker == nil || r.Marker.Evaluate(env)
}
