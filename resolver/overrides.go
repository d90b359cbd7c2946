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

// overrides are a request's overrides, indexed as uv applies them.
type overrides struct {
	global map[string][]pep508.Requirement
	scoped map[string][]scopedOverrides // by the dependent's name
}

// scopedOverrides are the overrides of one dependent, at one version or
// (version nil) at any.
type scopedOverrides struct {
	version *pep440.Version
	by      map[string][]pep508.Requirement
}

func newOverrides(os []Override) (*overrides, error) {
	out := &overrides{global: map[string][]pep508.Requirement{}, scoped: map[string][]scopedOverrides{}}
	for _, o := range os {
		if o.URL != "" || o.VCS != nil {
			return nil, fmt.Errorf("%s: override %s: overrides with a URL are not supported yet", o.Source, o.String())
		}
		name := o.NormalizedName()
		if o.Scope == "" {
			out.global[name] = append(out.global[name], o.Requirement.Requirement)
			continue
		}
		var v *pep440.Version
		if o.ScopeVersion != "" {
			pv, err := pep440.Parse(o.ScopeVersion)
			if err != nil {
				return nil, fmt.Errorf("%s: override %s scoped to %s %q: %w", o.Source, o.String(), o.Scope, o.ScopeVersion, err)
			}
			v = &pv
		}
		scope := dist.NormalizeName(o.Scope)
		sets := out.scoped[scope]
		i := 0
		for i < len(sets) && !sameVersion(sets[i].version, v) {
			i++
		}
		if i == len(sets) {
			sets = append(sets, scopedOverrides{version: v, by: map[string][]pep508.Requirement{}})
		}
		sets[i].by[name] = append(sets[i].by[name], o.Requirement.Requirement)
		out.scoped[scope] = sets
	}
	return out, nil
}

func sameVersion(a, b *pep440.Version) bool {
	return a == nil && b == nil || a != nil && b != nil && a.Equal(*b)
}

// empty reports whether there is nothing to override.
func (os *overrides) empty() bool {
	return os == nil || len(os.global) == 0 && len(os.scoped) == 0
}

// lookup returns the overrides that replace a requirement on name in the
// dependencies of dependent at version (dependent "" for the project's
// own requirements): the dependent's overrides at that version, else at
// any version, else the global ones. ok is false when none does. os
// is not nil.
func (os *overrides) lookup(name, dependent string, version *pep440.Version) (reqs []pep508.Requirement, ok bool) {
	if dependent != "" && version != nil {
		var set *scopedOverrides
		for i, s := range os.scoped[dependent] {
			if s.version != nil && s.version.Equal(*version) {
				set = &os.scoped[dependent][i]
				break
			}
			if s.version == nil && set == nil {
				set = &os.scoped[dependent][i]
			}
		}
		if set != nil {
			if reqs, ok := set.by[name]; ok {
				return reqs, true
			}
		}
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

// replace returns what stands for r in the dependencies of dependent at
// version (dependent "" for the project's own requirements): its
// overrides, and true; nil and false when none applies (r stands as it
// is, with nothing allocated).
func (os *overrides) replace(r pep508.Requirement, dependent string, version *pep440.Version) ([]replaced, bool) {
	// Checked before the name is normalized, which allocates for a name
	// such as "Jinja2": most requests have no overrides at all.
	if os.empty() {
		return nil, false
	}
	overs, ok := os.lookup(r.NormalizedName(), dependent, version)
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
