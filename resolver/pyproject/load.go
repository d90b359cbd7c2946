package pyproject

import (
	"fmt"
	"github.com/larder-build/larder/resolver/dist"
	"github.com/larder-build/larder/resolver/gitsrc"
	"github.com/larder-build/larder/resolver/tomldoc"
	"github.com/larder-build/larder/resolver/uvlock"
	"maps"
	"slices"
	"strings"

	"github.com/larder-build/larder/resolver/pep440"
	"github.com/larder-build/larder/resolver/pep508"
)

// Load reads the pyproject.toml at path. Every requirement string is parsed
// with pep508 and dependency groups are expanded; every error names the
// file, the line and the key, such as
// `pyproject.toml:42: dependency-groups.testing[3]: parsing "pytest >= ": ...`.
func Load(path string) (*Project, error) { return schema.Load(path) }

var schema = tomldoc.Schema[*Project]{
	What: "project",
	Read: func(root *tomldoc.Table) *Project { return (&reader{p: root.P}).project(root) },
}

// parse reads a pyproject.toml document that came from file.
func parse(file string, data []byte) (*Project, error) { return schema.Parse(file, data) }

type reader struct {
	p *tomldoc.Problems
}

func (r *reader) project(doc *tomldoc.Table) *Project {
	proj := &Project{File: r.p.X.File()}
	if pt := doc.Sub("project"); pt != nil {
		proj.HasProject = true
		r.projectTable(proj, pt)
	}
	proj.DependencyGroups = r.groups(doc.Sub("dependency-groups"))
	proj.BuildSystem = tomldoc.ReadTable(doc, "build-system", r.buildSystem)
	if tt := doc.Sub("tool"); tt != nil {
		if ut := tt.Sub("uv"); ut != nil {
			proj.UV = r.uv(ut)
			r.checkUVReferences(proj, ut)
		}
		if st := tt.Sub("setuptools"); st != nil {
			proj.Setuptools = r.setuptoolsDynamic(st.Sub("dynamic"))
		}
	}
	return proj
}

func (r *reader) buildSystem(t *tomldoc.Table) BuildSystem {
	return BuildSystem{
		Requires:     r.requirements(t, "requires"),
		BuildBackend: t.Str("build-backend"),
		BackendPath:  t.Strs("backend-path"),
	}
}

func (r *reader) projectTable(proj *Project, t *tomldoc.Table) {
	proj.Dynamic = t.Strs("dynamic")
	dynamic := map[string]bool{}
	for _, d := range proj.Dynamic {
		dynamic[d] = true
	}
	proj.Name = t.Str("name")
	switch {
	case dynamic["name"]:
		r.p.Addf(t.KeyPath("dynamic"), `"name" cannot be dynamic (PEP 621)`)
	case !t.Has("name"):
		r.p.Addf(t.KeyPath("name"), "missing required key")
	case tomldoc.IsString(t.M["name"]) && !dist.ValidName(proj.Name):
		r.p.Addf(t.KeyPath("name"), "invalid project name %q", proj.Name)
	}
	proj.Version = t.Str("version")
	if t.Has("version") {
		if dynamic["version"] {
			r.p.Addf(t.KeyPath("version"), `"version" is both given and listed in dynamic (PEP 621)`)
		}
		if _, err := pep440.Parse(proj.Version); err != nil && tomldoc.IsString(t.M["version"]) {
			r.p.Add(r.p.X.Wrap(t.KeyPath("version"), err))
		}
	}
	proj.RequiresPython = t.Str("requires-python")
	if proj.RequiresPython != "" {
		if _, err := pep440.ParseSpecifiers(proj.RequiresPython); err != nil {
			r.p.Add(r.p.X.Wrap(t.KeyPath("requires-python"), err))
		}
	}
	proj.Dependencies = r.requirements(t, "dependencies")
	proj.OptionalDependencies = map[string][]Requirement{}
	if ot := t.Sub("optional-dependencies"); ot != nil {
		seen := map[string]string{}
		for _, extra := range sortedKeys(ot.M) {
			norm := r.normalizedName(ot.KeyPath(extra), "extra", extra, seen)
			proj.OptionalDependencies[norm] = r.requirements(ot, extra)
		}
	}
}

// normalizedName validates a name used as a key (an extra, a group, a
// source) and refuses two spellings of one name.
func (r *reader) normalizedName(path, what, name string, seen map[string]string) string {
	if !dist.ValidName(name) {
		r.p.Addf(path, "invalid %s name %q", what, name)
	}
	norm := dist.NormalizeName(name)
	if prev, ok := seen[norm]; ok {
		r.p.Addf(path, "%s %q is the same name as %q once normalized", what, name, prev)
	}
	seen[norm] = name
	return norm
}

// requirements reads an array of requirement strings at key.
func (r *reader) requirements(t *tomldoc.Table, key string) []Requirement {
	v, ok := t.M[key]
	if !ok {
		return nil
	}
	path := t.KeyPath(key)
	arr, ok := v.([]any)
	if !ok {
		r.p.Addf(path, "expected an array of requirement strings, got %s", tomldoc.Describe(v))
		return nil
	}
	out := make([]Requirement, 0, len(arr))
	for i, e := range arr {
		if req, ok := r.requirement(tomldoc.IndexKey(path, i), e); ok {
			out = append(out, req)
		}
	}
	return out
}

// overrides reads tool.uv.override-dependencies: requirement strings, and
// tables { package = { name, version }, dependencies = [...] } scoped to
// one package's dependencies.
func (r *reader) overrides(t *tomldoc.Table) (global []Requirement, scoped []ScopedOverride) {
	const key = "override-dependencies"
	v, ok := t.M[key]
	if !ok {
		return nil, nil
	}
	path := t.KeyPath(key)
	arr, ok := v.([]any)
	if !ok {
		r.p.Addf(path, "expected an array of requirement strings or scoped overrides, got %s", tomldoc.Describe(v))
		return nil, nil
	}
	for i, e := range arr {
		epath := tomldoc.IndexKey(path, i)
		m, isTable := e.(map[string]any)
		if !isTable {
			if req, ok := r.requirement(epath, e); ok {
				global = append(global, req)
			}
			continue
		}
		et := &tomldoc.Table{P: r.p, Path: epath, M: m}
		pt := et.Sub("package")
		if pt == nil {
			if !et.Has("package") {
				r.p.Addf(epath, "a scoped override needs package = { name = ... } and dependencies")
			}
			continue
		}
		o := ScopedOverride{Name: pt.RequiredStr("name"), Version: pt.Str("version"), Key: epath}
		if o.Name != "" && !dist.ValidName(o.Name) {
			r.p.Addf(pt.KeyPath("name"), "invalid project name %q", o.Name)
		}
		if o.Version != "" {
			if _, err := pep440.Parse(o.Version); err != nil {
				r.p.Add(r.p.X.Wrap(pt.KeyPath("version"), err))
			}
		}
		if !et.Has("dependencies") {
			r.p.Addf(et.KeyPath("dependencies"), "missing required key")
		}
		o.Dependencies = r.requirements(et, "dependencies")
		scoped = append(scoped, o)
	}
	return global, scoped
}

func (r *reader) requirement(path string, v any) (Requirement, bool) {
	s, ok := v.(string)
	if !ok {
		r.p.Addf(path, "expected a requirement string, got %s", tomldoc.Describe(v))
		return Requirement{}, false
	}
	parsed, err := pep508.ParseRequirement(s)
	if err != nil {
		r.p.Add(r.p.X.Wrap(path, err))
		return Requirement{}, false
	}
	return Requirement{Requirement: parsed, Raw: s, Key: path, Line: r.p.X.Line(path)}, true
}

// groupEntry is one item of a dependency group as written: a requirement
// or an include.
type groupEntry struct {
	req     Requirement
	include string // normalized; "" for a requirement
	path    string
}

// groups reads [dependency-groups] and expands includes (PEP 735).
func (r *reader) groups(t *tomldoc.Table) map[string]DependencyGroup {
	out := map[string]DependencyGroup{}
	if t == nil {
		return out
	}
	entries := map[string][]groupEntry{}
	raw := map[string]string{}
	seen := map[string]string{}
	for _, name := range sortedKeys(t.M) {
		path := t.KeyPath(name)
		norm := r.normalizedName(path, "dependency group", name, seen)
		raw[norm] = name
		arr, ok := tomldoc.AsArray(t.M[name])
		if !ok {
			r.p.Addf(path, "expected an array of requirement strings and include tables, got %s", tomldoc.Describe(t.M[name]))
			continue
		}
		g := DependencyGroup{Name: norm}
		for i, e := range arr {
			ipath := tomldoc.IndexKey(path, i)
			switch v := e.(type) {
			case string:
				if req, ok := r.requirement(ipath, v); ok {
					g.Requirements = append(g.Requirements, req)
					entries[norm] = append(entries[norm], groupEntry{req: req, path: ipath})
				}
			case map[string]any:
				inc, ok := v["include-group"].(string)
				if !ok || len(v) != 1 {
					r.p.Addf(ipath, `expected {include-group = "NAME"}, got %s`, inlineText(v))
					continue
				}
				n := dist.NormalizeName(inc)
				g.Includes = append(g.Includes, n)
				entries[norm] = append(entries[norm], groupEntry{include: n, path: tomldoc.JoinKey(ipath, "include-group")})
			default:
				r.p.Addf(ipath, "expected a requirement string or an include table, got %s", tomldoc.Describe(e))
			}
		}
		out[norm] = g
	}
	expanded := map[string][]Requirement{}
	failed := map[string]bool{}
	var expand func(name string, chain []string) ([]Requirement, bool)
	expand = func(name string, chain []string) ([]Requirement, bool) {
		if reqs, ok := expanded[name]; ok {
			return reqs, true
		}
		if failed[name] {
			return nil, false
		}
		chain = append(chain, name)
		var reqs []Requirement
		ok := true
		for _, e := range entries[name] {
			if e.include == "" {
				reqs = append(reqs, e.req)
				continue
			}
			if _, known := out[e.include]; !known {
				r.p.Addf(e.path, "include of unknown dependency group %q (%s)", e.include, strings.Join(append(chain, e.include), " -> "))
				ok = false
				continue
			}
			if i := slices.Index(chain, e.include); i >= 0 {
				r.p.Addf(e.path, "dependency groups include each other in a cycle: %s", strings.Join(append(chain[i:], e.include), " -> "))
				ok = false
				continue
			}
			inc, incOK := expand(e.include, chain)
			reqs = append(reqs, inc...)
			ok = ok && incOK
		}
		if !ok {
			failed[name] = true
			return nil, false
		}
		expanded[name] = reqs
		return reqs, true
	}
	for _, name := range sortedKeys(out) {
		if reqs, ok := expand(name, nil); ok {
			g := out[name]
			g.Expanded = reqs
			out[name] = g
		}
	}
	return out
}

func (r *reader) uv(t *tomldoc.Table) *UV {
	uv := &UV{
		ConstraintDependencies: r.requirements(t, "constraint-dependencies"),
		DevDependencies:        r.requirements(t, "dev-dependencies"),
		Sources:                map[string][]Source{},
	}
	uv.OverrideDependencies, uv.ScopedOverrides = r.overrides(t)
	uv.ExcludeDependencies = uvlock.ReadExcludes(t, "exclude-dependencies")
	uv.DependencyMetadata = uvlock.ReadDependencyMetadata(t, "dependency-metadata")
	if v, ok := t.M["default-groups"]; ok {
		if s, isStr := v.(string); isStr {
			if s == "all" {
				uv.DefaultGroupsAll = true
			} else {
				r.p.Addf(t.KeyPath("default-groups"), `expected "all" or an array of group names, got %q`, s)
			}
		} else {
			uv.DefaultGroups = []string{}
			for _, g := range r.p.Strings(t.KeyPath("default-groups"), v) {
				uv.DefaultGroups = append(uv.DefaultGroups, dist.NormalizeName(g))
			}
		}
	}
	if v, ok := t.M["conflicts"]; ok {
		path := t.KeyPath("conflicts")
		sets, isArr := v.([]any)
		if !isArr {
			r.p.Addf(path, "expected an array of conflict sets, got %s", tomldoc.Describe(v))
		}
		for i, s := range sets {
			setPath := tomldoc.IndexKey(path, i)
			members, isArr := tomldoc.AsArray(s)
			if !isArr {
				r.p.Addf(setPath, "expected an array of conflict items, got %s", tomldoc.Describe(s))
				continue
			}
			var items []ConflictItem
			for j, e := range members {
				m, isTable := e.(map[string]any)
				if !isTable {
					r.p.Addf(tomldoc.IndexKey(setPath, j), "expected a table, got %s", tomldoc.Describe(e))
					continue
				}
				it := &tomldoc.Table{P: r.p, Path: tomldoc.IndexKey(setPath, j), M: m}
				item := ConflictItem{
					Package: normalizeIfSet(it.Str("package")),
					Extra:   normalizeIfSet(it.Str("extra")),
					Group:   normalizeIfSet(it.Str("group")),
				}
				if (item.Extra == "") == (item.Group == "") {
					r.p.Addf(it.Path, "a conflict item names exactly one extra or one group")
				}
				items = append(items, item)
			}
			if len(items) == 1 {
				r.p.Addf(setPath, "a conflict set needs at least two items")
			}
			uv.Conflicts = append(uv.Conflicts, items)
		}
	}
	if st := t.Sub("sources"); st != nil {
		seen := map[string]string{}
		for _, name := range sortedKeys(st.M) {
			norm := r.normalizedName(st.KeyPath(name), "package", name, seen)
			uv.Sources[norm] = r.sources(st, name)
		}
	}
	uv.Indexes = tomldoc.ReadTables(t, "index", func(it *tomldoc.Table) Index {
		return Index{Name: it.Str("name"), URL: it.RequiredStr("url"), Explicit: it.Boolean("explicit"), Default: it.Boolean("default")}
	})
	return uv
}

func normalizeIfSet(s string) string {
	if s == "" {
		return ""
	}
	return dist.NormalizeName(s)
}

// sources reads one [tool.uv.sources] value: a table, or an array of tables
// told apart by marker, extra or group.
func (r *reader) sources(st *tomldoc.Table, name string) []Source {
	var tables []*tomldoc.Table
	switch st.M[name].(type) {
	case map[string]any:
		tables = []*tomldoc.Table{st.Sub(name)}
	case []any:
		tables = st.Tables(name)
	default:
		st.WrongType(st.KeyPath(name), "a source table or an array of them", st.M[name])
		return nil
	}
	out := make([]Source, 0, len(tables))
	for _, t := range tables {
		for _, k := range sortedKeys(t.M) {
			if !knownSourceKeys[k] {
				r.p.Addf(t.KeyPath(k), "unknown source key %q", k)
			}
		}
		s := Source{
			Git: t.Str("git"), Branch: t.Str("branch"), Tag: t.Str("tag"), Rev: t.Str("rev"),
			Path: t.Str("path"), Editable: t.Boolean("editable"),
			URL: t.Str("url"), Subdirectory: t.Str("subdirectory"),
			Index: t.Str("index"), Workspace: t.Boolean("workspace"),
			Marker: t.Str("marker"), Extra: normalizeIfSet(t.Str("extra")), Group: normalizeIfSet(t.Str("group")),
		}
		r.checkSource(t, s)
		out = append(out, s)
	}
	return out
}

var knownSourceKeys = map[string]bool{
	"git": true, "branch": true, "tag": true, "rev": true, "path": true, "editable": true,
	"package": true, "url": true, "subdirectory": true, "index": true, "workspace": true,
	"marker": true, "extra": true, "group": true, "lfs": true,
}

func (r *reader) checkSource(t *tomldoc.Table, s Source) {
	var kinds []string
	for _, k := range []string{"git", "path", "url", "index", "workspace"} {
		if t.Has(k) {
			kinds = append(kinds, k)
		}
	}
	switch len(kinds) {
	case 0:
		r.p.Addf(t.Path, "a source needs one of git, path, url, index or workspace")
	case 1:
	default:
		// uv reads git with path as a source archive inside the
		// repository; larder cannot build one yet.
		also := ""
		if strings.Join(kinds, " ") == "git path" {
			also = "; uv reads git with path as an archive inside the repository, which larder does not support yet"
		}
		r.p.Addf(t.Path, "a source has one of git, path, url, index or workspace, not %s%s", strings.Join(kinds, " and "), also)
	}
	var refs []string
	for _, k := range []string{"branch", "tag", "rev"} {
		if t.Has(k) {
			refs = append(refs, k)
			if s.Git == "" {
				r.p.Addf(t.KeyPath(k), "%s applies to git sources only", k)
			}
		}
	}
	if len(refs) > 1 {
		r.p.Addf(t.Path, "a git source has one of branch, tag or rev, not %s", strings.Join(refs, " and "))
	}
	if t.Has("subdirectory") && s.Git == "" && s.URL == "" {
		r.p.Addf(t.KeyPath("subdirectory"), "subdirectory applies to git and url sources only")
	}
	// Each value reaches git's command line or a path under the checkout:
	// refuse here, where the error can name the key.
	if t.Has("git") {
		if err := gitsrc.CheckURL(strings.TrimPrefix(s.Git, "git+")); err != nil {
			r.p.Addf(t.KeyPath("git"), "%v", err)
		}
	}
	for _, k := range refs {
		if err := gitsrc.CheckRev(t.Str(k)); err != nil {
			r.p.Addf(t.KeyPath(k), "%v", err)
		}
	}
	if err := gitsrc.CheckSubdirectory(s.Subdirectory); err != nil {
		r.p.Addf(t.KeyPath("subdirectory"), "%v", err)
	}

	if t.Has("editable") && s.Path == "" && !s.Workspace {
		r.p.Addf(t.KeyPath("editable"), "editable applies to path and workspace sources only")
	}
	if s.Marker != "" {
		if _, err := pep508.ParseMarker(s.Marker); err != nil {
			r.p.Add(r.p.X.Wrap(t.KeyPath("marker"), err))
		}
	}
}

// checkUVReferences checks that conflicts and default-groups name groups
// and extras that exist.
func (r *reader) checkUVReferences(proj *Project, t *tomldoc.Table) {
	hasGroup := func(g string) bool {
		_, ok := proj.DependencyGroups[g]
		return ok || g == "dev" && len(proj.UV.DevDependencies) > 0
	}
	for i, g := range proj.UV.DefaultGroups {
		if !hasGroup(g) {
			r.p.Addf(tomldoc.IndexKey(t.KeyPath("default-groups"), i), "default group %q is not defined", g)
		}
	}
	for i, set := range proj.UV.Conflicts {
		for j, it := range set {
			if it.Package != "" && it.Package != dist.NormalizeName(proj.Name) {
				continue // another workspace member: not visible from here
			}
			path := tomldoc.IndexKey(tomldoc.IndexKey(t.KeyPath("conflicts"), i), j)
			if it.Group != "" && !hasGroup(it.Group) {
				r.p.Addf(path, "conflict names undefined dependency group %q", it.Group)
			}
			// Dynamic optional-dependencies are known to the build
			// backend only: any extra may be among them.
			if _, ok := proj.OptionalDependencies[it.Extra]; it.Extra != "" && !ok && !proj.isDynamic("optional-dependencies") {
				r.p.Addf(path, "conflict names undefined extra %q", it.Extra)
			}
		}
	}
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// inlineText renders a small decoded table for an error message.
func inlineText(m map[string]any) string {
	parts := make([]string, 0, len(m))
	for _, k := range sortedKeys(m) {
		parts = append(parts, fmt.Sprintf("%s = %v", k, m[k]))
	}
	return "{" + strings.Join(parts, ", ") + "}"
}
