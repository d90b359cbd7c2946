package uvlock

import (
	"github.com/larder-build/larder/resolver/dist"
	"github.com/larder-build/larder/resolver/pep440"
	"github.com/larder-build/larder/resolver/tomldoc"
)

// Excludes are uv's exclude-dependencies: projects left out of the
// resolution wherever they are asked for ([tool.uv] exclude-dependencies
// in a pyproject.toml, recorded as [manifest] excludes in the lock it
// makes). Names are normalized.
type Excludes struct {
	// Global are left out of every package's dependencies and of the
	// project's own requirements.
	Global []string
	// Scoped are left out of one package's dependencies only.
	Scoped []ScopedExclude
}

// ScopedExclude leaves Dependencies out of the dependencies of Name (at
// Version, or at every version when Version is ""), written
// { package = { name = "a", version = "1.0" }, dependencies = ["b"] }.
type ScopedExclude struct {
	Name         string
	Version      string
	Dependencies []string
}

// Empty reports whether nothing is excluded.
func (e Excludes) Empty() bool { return len(e.Global) == 0 && len(e.Scoped) == 0 }

// ReadExcludes reads the array of exclusions at key: project names, and
// tables scoped to one package, as uv writes both in a pyproject.toml and
// in a lock. Problems are reported on t's document.
func ReadExcludes(t *tomldoc.Table, key string) Excludes {
	var out Excludes
	v, ok := t.M[key]
	if !ok {
		return out
	}
	path := t.KeyPath(key)
	arr, ok := tomldoc.AsArray(v)
	if !ok {
		t.WrongType(path, "an array of project names or scoped exclusions", v)
		return out
	}
	for i, e := range arr {
		epath := tomldoc.IndexKey(path, i)
		switch e := e.(type) {
		case string:
			if name, ok := excludedName(t.P, epath, e); ok {
				out.Global = append(out.Global, name)
			}
		case map[string]any:
			if s, ok := readScopedExclude(&tomldoc.Table{P: t.P, Path: epath, M: e}); ok {
				out.Scoped = append(out.Scoped, s)
			}
		default:
			t.WrongType(epath, "a project name or { package = { name = ... }, dependencies = [...] }", e)
		}
	}
	return out
}

func readScopedExclude(t *tomldoc.Table) (ScopedExclude, bool) {
	for k := range t.M {
		if k != "package" && k != "dependencies" {
			t.P.Addf(t.KeyPath(k), "unknown key: a scoped exclusion has package and dependencies")
		}
	}
	pt := t.Sub("package")
	if pt == nil {
		if !t.Has("package") {
			t.P.Addf(t.KeyPath("package"), "missing required key")
		}
		return ScopedExclude{}, false
	}
	s := ScopedExclude{Version: pt.Str("version")}
	name, ok := excludedName(t.P, pt.KeyPath("name"), pt.RequiredStr("name"))
	s.Name = name
	if s.Version != "" {
		if _, err := pep440.Parse(s.Version); err != nil {
			t.P.Add(t.P.X.Wrap(pt.KeyPath("version"), err))
			ok = false
		}
	}
	if !t.Has("dependencies") {
		t.P.Addf(t.KeyPath("dependencies"), "missing required key")
		return s, false
	}
	for i, d := range t.Strs("dependencies") {
		if n, dok := excludedName(t.P, tomldoc.IndexKey(t.KeyPath("dependencies"), i), d); dok {
			s.Dependencies = append(s.Dependencies, n)
		}
	}
	return s, ok
}

// excludedName checks a project name and returns it normalized.
func excludedName(p *tomldoc.Problems, path, name string) (string, bool) {
	if name == "" {
		return "", false // RequiredStr said so
	}
	if !dist.ValidName(name) {
		p.Addf(path, "invalid project name %q", name)
		return "", false
	}
	return dist.NormalizeName(name), true
}
