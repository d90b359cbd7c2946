package pyproject

import (
	"bytes"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/larder-build/larder/resolver/pep440"
	"github.com/larder-build/larder/resolver/pep508"
	toml "github.com/pelletier/go-toml/v2"
)

// Load reads the pyproject.toml at path. Every requirement string is parsed
// with pep508 and dependency groups are expanded; every error names the
// file, the line and the key, such as
// `pyproject.toml:42: dependency-groups.testing[3]: parsing "pytest >= ": ...`.
func Load(path string) (*Project, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading project: %w", err)
	}
	return parse(path, data)
}

func parse(file string, data []byte) (*Project, error) {
	x := indexKeyLines(file, data)
	var doc map[string]any
	if err := toml.NewDecoder(bytes.NewReader(data)).Decode(&doc); err != nil {
		return nil, x.decodeError(err)
	}
	r := &reader{p: &problems{x: x}}
	proj := r.project(&table{p: r.p, m: doc})
	if err := r.p.err(); err != nil {
		return nil, err
	}
	return proj, nil
}

type reader struct {
	p *problems
}

func (r *reader) project(doc *table) *Project {
	proj := &Project{File: r.p.x.file}
	if pt := doc.sub("project"); pt != nil {
		proj.HasProject = true
		r.projectTable(proj, pt)
	}
	proj.DependencyGroups = r.groups(doc.sub("dependency-groups"))
	if bt := doc.sub("build-system"); bt != nil {
		proj.BuildSystem = &BuildSystem{
			Requires:     r.requirements(bt, "requires"),
			BuildBackend: bt.str("build-backend"),
			BackendPath:  bt.strs("backend-path"),
		}
	}
	if tt := doc.sub("tool"); tt != nil {
		if ut := tt.sub("uv"); ut != nil {
			proj.UV = r.uv(ut)
			r.checkUVReferences(proj, ut)
		}
	}
	return proj
}

func (r *reader) projectTable(proj *Project, t *table) {
	proj.Dynamic = t.strs("dynamic")
	dynamic := map[string]bool{}
	for _, d := range proj.Dynamic {
		dynamic[d] = true
	}
	proj.Name = t.str("name")
	switch {
	case dynamic["name"]:
		r.p.addf(t.keyPath("dynamic"), `"name" cannot be dynamic (PEP 621)`)
	case !t.has("name"):
		r.p.addf(t.keyPath("name"), "missing required key")
	case isString(t.m["name"]) && !validName(proj.Name):
		r.p.addf(t.keyPath("name"), "invalid project name %q", proj.Name)
	}
	proj.Version = t.str("version")
	if t.has("version") {
		if dynamic["version"] {
			r.p.addf(t.keyPath("version"), `"version" is both given and listed in dynamic (PEP 621)`)
		}
		if _, err := pep440.Parse(proj.Version); err != nil && isString(t.m["version"]) {
			r.p.add(r.p.x.wrap(t.keyPath("version"), err))
		}
	}
	proj.RequiresPython = t.str("requires-python")
	if proj.RequiresPython != "" {
		if _, err := pep440.ParseSpecifiers(proj.RequiresPython); err != nil {
			r.p.add(r.p.x.wrap(t.keyPath("requires-python"), err))
		}
	}
	proj.Dependencies = r.requirements(t, "dependencies")
	proj.OptionalDependencies = map[string][]Requirement{}
	if ot := t.sub("optional-dependencies"); ot != nil {
		seen := map[string]string{}
		for _, extra := range sortedKeys(ot.m) {
			norm := r.normalizedName(ot.keyPath(extra), "extra", extra, seen)
			proj.OptionalDependencies[norm] = r.requirements(ot, extra)
		}
	}
}

// normalizedName validates a name used as a key (an extra, a group, a
// source) and refuses two spellings of one name.
func (r *reader) normalizedName(path, what, name string, seen map[string]string) string {
	if !validName(name) {
		r.p.addf(path, "invalid %s name %q", what, name)
	}
	norm := pep508.NormalizeName(name)
	if prev, ok := seen[norm]; ok {
		r.p.addf(path, "%s %q is the same name as %q once normalized", what, name, prev)
	}
	seen[norm] = name
	return norm
}

// requirements reads an array of requirement strings at key.
func (r *reader) requirements(t *table, key string) []Requirement {
	v, ok := t.m[key]
	if !ok {
		return nil
	}
	path := t.keyPath(key)
	arr, ok := v.([]any)
	if !ok {
		r.p.addf(path, "expected an array of requirement strings, got %s", describe(v))
		return nil
	}
	out := make([]Requirement, 0, len(arr))
	for i, e := range arr {
		if req, ok := r.requirement(indexKey(path, i), e); ok {
			out = append(out, req)
		}
	}
	return out
}

func (r *reader) requirement(path string, v any) (Requirement, bool) {
	s, ok := v.(string)
	if !ok {
		r.p.addf(path, "expected a requirement string, got %s", describe(v))
		return Requirement{}, false
	}
	parsed, err := pep508.ParseRequirement(s)
	if err != nil {
		r.p.add(r.p.x.wrap(path, err))
		return Requirement{}, false
	}
	return Requirement{Requirement: parsed, Raw: s, Key: path, Line: r.p.x.line(path)}, true
}

// groupEntry is one item of a dependency group as written: a requirement
// or an include.
type groupEntry struct {
	req     Requirement
	include string // normalized; "" for a requirement
	path    string
}

// groups reads [dependency-groups] and expands includes (PEP 735).
func (r *reader) groups(t *table) map[string]DependencyGroup {
	out := map[string]DependencyGroup{}
	if t == nil {
		return out
	}
	entries := map[string][]groupEntry{}
	raw := map[string]string{}
	seen := map[string]string{}
	for _, name := range sortedKeys(t.m) {
		path := t.keyPath(name)
		norm := r.normalizedName(path, "dependency group", name, seen)
		raw[norm] = name
		arr, ok := asArray(t.m[name])
		if !ok {
			r.p.addf(path, "expected an array of requirement strings and include tables, got %s", describe(t.m[name]))
			continue
		}
		g := DependencyGroup{Name: norm}
		for i, e := range arr {
			ipath := indexKey(path, i)
			switch v := e.(type) {
			case string:
				if req, ok := r.requirement(ipath, v); ok {
					g.Requirements = append(g.Requirements, req)
					entries[norm] = append(entries[norm], groupEntry{req: req, path: ipath})
				}
			case map[string]any:
				inc, ok := v["include-group"].(string)
				if !ok || len(v) != 1 {
					r.p.addf(ipath, `expected {include-group = "NAME"}, got %s`, inlineText(v))
					continue
				}
				n := pep508.NormalizeName(inc)
				g.Includes = append(g.Includes, n)
				entries[norm] = append(entries[norm], groupEntry{include: n, path: joinKey(ipath, "include-group")})
			default:
				r.p.addf(ipath, "expected a requirement string or an include table, got %s", describe(e))
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
				r.p.addf(e.path, "include of unknown dependency group %q (%s)", e.include, strings.Join(append(chain, e.include), " -> "))
				ok = false
				continue
			}
			if i := indexOf(chain, e.include); i >= 0 {
				r.p.addf(e.path, "dependency groups include each other in a cycle: %s", strings.Join(append(chain[i:], e.include), " -> "))
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

func indexOf(list []string, s string) int {
	for i, e := range list {
		if e == s {
			return i
		}
	}
	return -1
}

func (r *reader) uv(t *table) *UV {
	uv := &UV{
		ConstraintDependencies: r.requirements(t, "constraint-dependencies"),
		OverrideDependencies:   r.requirements(t, "override-dependencies"),
		DevDependencies:        r.requirements(t, "dev-dependencies"),
		Sources:                map[string][]Source{},
	}
	if v, ok := t.m["default-groups"]; ok {
		if s, isStr := v.(string); isStr {
			if s == "all" {
				uv.DefaultGroupsAll = true
			} else {
				r.p.addf(t.keyPath("default-groups"), `expected "all" or an array of group names, got %q`, s)
			}
		} else {
			uv.DefaultGroups = []string{}
			for _, g := range r.p.strings(t.keyPath("default-groups"), v) {
				uv.DefaultGroups = append(uv.DefaultGroups, pep508.NormalizeName(g))
			}
		}
	}
	if v, ok := t.m["conflicts"]; ok {
		path := t.keyPath("conflicts")
		sets, isArr := v.([]any)
		if !isArr {
			r.p.addf(path, "expected an array of conflict sets, got %s", describe(v))
		}
		for i, s := range sets {
			setPath := indexKey(path, i)
			members, isArr := asArray(s)
			if !isArr {
				r.p.addf(setPath, "expected an array of conflict items, got %s", describe(s))
				continue
			}
			var items []ConflictItem
			for j, e := range members {
				m, isTable := e.(map[string]any)
				if !isTable {
					r.p.addf(indexKey(setPath, j), "expected a table, got %s", describe(e))
					continue
				}
				it := &table{p: r.p, path: indexKey(setPath, j), m: m}
				item := ConflictItem{
					Package: normalizeIfSet(it.str("package")),
					Extra:   normalizeIfSet(it.str("extra")),
					Group:   normalizeIfSet(it.str("group")),
				}
				if (item.Extra == "") == (item.Group == "") {
					r.p.addf(it.path, "a conflict item names exactly one extra or one group")
				}
				items = append(items, item)
			}
			if len(items) == 1 {
				r.p.addf(setPath, "a conflict set needs at least two items")
			}
			uv.Conflicts = append(uv.Conflicts, items)
		}
	}
	if st := t.sub("sources"); st != nil {
		seen := map[string]string{}
		for _, name := range sortedKeys(st.m) {
			norm := r.normalizedName(st.keyPath(name), "package", name, seen)
			uv.Sources[norm] = r.sources(st, name)
		}
	}
	for _, it := range t.tables("index") {
		ix := Index{Name: it.str("name"), URL: it.requiredStr("url"), Explicit: it.boolean("explicit"), Default: it.boolean("default")}
		uv.Indexes = append(uv.Indexes, ix)
	}
	return uv
}

func normalizeIfSet(s string) string {
	if s == "" {
		return ""
	}
	return pep508.NormalizeName(s)
}

// sources reads one [tool.uv.sources] value: a table, or an array of tables
// told apart by marker, extra or group.
func (r *reader) sources(st *table, name string) []Source {
	var tables []*table
	switch st.m[name].(type) {
	case map[string]any:
		tables = []*table{st.sub(name)}
	case []any:
		tables = st.tables(name)
	default:
		st.wrongType(st.keyPath(name), "a source table or an array of them", st.m[name])
		return nil
	}
	out := make([]Source, 0, len(tables))
	for _, t := range tables {
		for _, k := range sortedKeys(t.m) {
			if !knownSourceKeys[k] {
				r.p.addf(t.keyPath(k), "unknown source key %q", k)
			}
		}
		s := Source{
			Git: t.str("git"), Branch: t.str("branch"), Tag: t.str("tag"), Rev: t.str("rev"),
			Path: t.str("path"), Editable: t.boolean("editable"),
			URL: t.str("url"), Subdirectory: t.str("subdirectory"),
			Index: t.str("index"), Workspace: t.boolean("workspace"),
			Marker: t.str("marker"), Extra: normalizeIfSet(t.str("extra")), Group: normalizeIfSet(t.str("group")),
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

func (r *reader) checkSource(t *table, s Source) {
	var kinds []string
	for _, k := range []string{"git", "path", "url", "index", "workspace"} {
		if t.has(k) {
			kinds = append(kinds, k)
		}
	}
	switch len(kinds) {
	case 0:
		r.p.addf(t.path, "a source needs one of git, path, url, index or workspace")
	case 1:
	default:
		r.p.addf(t.path, "a source has one of git, path, url, index or workspace, not %s", strings.Join(kinds, " and "))
	}
	var refs []string
	for _, k := range []string{"branch", "tag", "rev"} {
		if t.has(k) {
			refs = append(refs, k)
			if s.Git == "" {
				r.p.addf(t.keyPath(k), "%s applies to git sources only", k)
			}
		}
	}
	if len(refs) > 1 {
		r.p.addf(t.path, "a git source has one of branch, tag or rev, not %s", strings.Join(refs, " and "))
	}
	if t.has("subdirectory") && s.Git == "" && s.URL == "" {
		r.p.addf(t.keyPath("subdirectory"), "subdirectory applies to git and url sources only")
	}
	if t.has("editable") && s.Path == "" && !s.Workspace {
		r.p.addf(t.keyPath("editable"), "editable applies to path and workspace sources only")
	}
	if s.Marker != "" {
		if _, err := pep508.ParseMarker(s.Marker); err != nil {
			r.p.add(r.p.x.wrap(t.keyPath("marker"), err))
		}
	}
}

// checkUVReferences checks that conflicts and default-groups name groups
// and extras that exist.
func (r *reader) checkUVReferences(proj *Project, t *table) {
	hasGroup := func(g string) bool {
		_, ok := proj.DependencyGroups[g]
		return ok || g == "dev" && len(proj.UV.DevDependencies) > 0
	}
	for i, g := range proj.UV.DefaultGroups {
		if !hasGroup(g) {
			r.p.addf(indexKey(t.keyPath("default-groups"), i), "default group %q is not defined", g)
		}
	}
	for i, set := range proj.UV.Conflicts {
		for j, it := range set {
			if it.Package != "" && it.Package != pep508.NormalizeName(proj.Name) {
				continue // another workspace member: not visible from here
			}
			path := indexKey(indexKey(t.keyPath("conflicts"), i), j)
			if it.Group != "" && !hasGroup(it.Group) {
				r.p.addf(path, "conflict names undefined dependency group %q", it.Group)
			}
			if _, ok := proj.OptionalDependencies[it.Extra]; it.Extra != "" && !ok {
				r.p.addf(path, "conflict names undefined extra %q", it.Extra)
			}
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// inlineText renders a small decoded table for an error message.
func inlineText(m map[string]any) string {
	parts := make([]string, 0, len(m))
	for _, k := range sortedKeys(m) {
		parts = append(parts, fmt.Sprintf("%s = %v", k, m[k]))
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// validName reports whether s is a valid PEP 508 name (also the rule for
// extras and PEP 735 group names).
func validName(s string) bool {
	if s == "" {
		return false
	}
	alnum := func(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' }
	if !alnum(s[0]) || !alnum(s[len(s)-1]) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !alnum(c) && c != '-' && c != '_' && c != '.' {
			return false
		}
	}
	return true
}
