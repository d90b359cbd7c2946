package uvlock

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/larder-build/larder/resolver/dist"
	"github.com/larder-build/larder/resolver/pep508"
)

// Selection is the part of a lock that installing its workspace members
// with some extras and dependency groups takes, read the way uv sync reads
// the lock: from the members along the dependency edges whose markers can
// hold, an edge with extras taking the target's optional dependencies too.
type Selection struct {
	// Roots are the edges from the members to the packages they install,
	// with the markers that only a target can settle.
	Roots []Root
	// Packages are the packages the selection reaches, in lock order.
	Packages []Reached
}

// Root is one dependency of a member in the selection.
type Root struct {
	// Package is the package the edge points at.
	Package *Package
	// Extras are the target's extras the edge asks for.
	Extras []string
	// Marker is what remains of the edge's marker once the chosen extras
	// and groups are settled; nil when it holds everywhere.
	Marker *pep508.Marker
	// From says where the edge is, such as "openedx-platform group testing".
	From string
}

// Reached is a package the selection installs on some target.
type Reached struct {
	Package *Package
	// Markers are the package's resolution markers that can still hold
	// (the forks in which this version is the one); nil when the package
	// has no resolution markers or one of them holds everywhere.
	Markers []*pep508.Marker
}

// Choices returns the extras and dependency groups of the lock's
// workspace members and of a non-project workspace root, normalized and
// sorted: what Select takes.
func (l *Lock) Choices() (extras, groups []string) {
	e, g := l.choices(l.members())
	return sortedKeys(e), sortedKeys(g)
}

func (l *Lock) choices(members []*Package) (haveExtras, haveGroups map[string]bool) {
	haveExtras, haveGroups = map[string]bool{}, map[string]bool{}
	for _, m := range members {
		for e := range m.OptionalDependencies {
			haveExtras[dist.NormalizeName(e)] = true
		}
		for _, e := range m.Metadata.ProvidesExtras {
			haveExtras[dist.NormalizeName(e)] = true
		}
		for g := range m.DevDependencies {
			haveGroups[dist.NormalizeName(g)] = true
		}
		for g := range m.Metadata.RequiresDev {
			haveGroups[dist.NormalizeName(g)] = true
		}
	}
	// A workspace root without [project] has no package entry: uv records
	// its dependency groups in [manifest.dependency-groups].
	for g := range l.Manifest.DependencyGroups {
		haveGroups[dist.NormalizeName(g)] = true
	}
	return haveExtras, haveGroups
}

// Select walks the lock from its workspace members with the given extras
// and dependency groups (names as users write them), and from what the
// workspace root itself requires when it is no package ([manifest]
// requirements and dependency-groups). An extra or group no
// member has is an error naming those that exist, and so is choosing
// together extras or groups the lock declares conflicting.
func (l *Lock) Select(extras, groups []string) (*Selection, error) {
	members := l.members()
	if len(members) == 0 && len(l.Manifest.Requirements) == 0 && len(l.Manifest.DependencyGroups) == 0 {
		return nil, fmt.Errorf("no workspace member (editable, virtual or directory package) and no [manifest] requirements or dependency-groups to take requirements from")
	}
	active := map[string]bool{}
	haveExtras, haveGroups := l.choices(members)
	for _, e := range extras {
		if !haveExtras[dist.NormalizeName(e)] {
			return nil, fmt.Errorf("unknown extra %q: %s", e, known("extras", haveExtras))
		}
	}
	for _, g := range groups {
		if !haveGroups[dist.NormalizeName(g)] {
			return nil, fmt.Errorf("unknown dependency group %q: %s", g, known("dependency groups", haveGroups))
		}
	}
	// uv writes a conflicting extra or group into markers as the extra
	// "extra-LEN-PACKAGE-NAME" or "group-LEN-PACKAGE-NAME" (LEN is the
	// length of the package name, which may itself hold dashes).
	for _, m := range members {
		name := dist.NormalizeName(m.Name)
		for _, e := range extras {
			active[conflictMarkerName("extra", name, e)] = true
		}
		for _, g := range groups {
			active[conflictMarkerName("group", name, g)] = true
		}
	}
	if err := l.checkConflicts(members, extras, groups); err != nil {
		return nil, err
	}
	decide := func(variable, op, value string) (bool, bool) {
		if variable != pep508.Extra || op != "==" && op != "!=" {
			return false, false
		}
		return active[dist.NormalizeName(value)] == (op == "=="), true
	}
	w := &walker{l: l, decide: decide, seen: map[string]bool{}, reached: map[*Package]bool{}, byName: l.byName(),
		extras: map[*Package]map[string][]Dependency{}}
	for _, m := range members {
		w.reached[m] = true
		var edges []edge
		for _, d := range m.Dependencies {
			edges = append(edges, edge{d, m.Name})
		}
		for _, e := range extras {
			for _, d := range w.optional(m, e) {
				edges = append(edges, edge{d, m.Name + " extra " + e})
			}
		}
		dev := byNormalizedName(m.DevDependencies)
		for _, g := range groups {
			for _, d := range dev[dist.NormalizeName(g)] {
				edges = append(edges, edge{d, m.Name + " group " + g})
			}
		}
		// The member's own dependencies and chosen extras are edges
		// already; a group may still ask for the member with other
		// extras ("project[test]" in a dev group).
		done := map[localVisit]bool{{m, ""}: true}
		for _, e := range extras {
			done[localVisit{m, dist.NormalizeName(e)}] = true
		}
		if err := w.roots(edges, done); err != nil {
			return nil, err
		}
	}
	// uv sync installs what the workspace root itself requires when it is
	// not a package: [manifest] requirements (a PEP 723 script's, or a
	// non-project root's) always, its dependency groups when chosen.
	var edges []edge
	for _, r := range l.Manifest.Requirements {
		edges = append(edges, edge{r.dependency(), "[manifest] requirements"})
	}
	rootGroups := byNormalizedName(l.Manifest.DependencyGroups)
	for _, g := range groups {
		for _, r := range rootGroups[dist.NormalizeName(g)] {
			edges = append(edges, edge{r.dependency(), "workspace root group " + g})
		}
	}
	if err := w.roots(edges, map[localVisit]bool{}); err != nil {
		return nil, err
	}
	if err := w.walk(); err != nil {
		return nil, err
	}
	for i := range l.Packages {
		p := &l.Packages[i]
		if !w.reached[p] || p.isLocal() {
			continue
		}
		r := Reached{Package: p}
		always := len(p.ResolutionMarkers) == 0
		for _, s := range p.ResolutionMarkers {
			m, err := pep508.ParseMarker(s)
			if err != nil {
				return nil, fmt.Errorf("package %s %s: resolution marker %q: %w", p.Name, p.Version, s, err)
			}
			rest, never := m.Partial(decide)
			switch {
			case never:
			case rest == nil:
				always = true
			default:
				r.Markers = append(r.Markers, rest)
			}
		}
		if always {
			r.Markers = nil
		} else if len(r.Markers) == 0 {
			continue // only in forks of extras or groups not chosen
		}
		w.sel.Packages = append(w.sel.Packages, r)
	}
	return &w.sel, nil
}

// localVisit is a local package, or one of its extras, whose edges
// roots has taken.
type localVisit struct {
	p     *Package
	extra string // normalized; "" for the package's own dependencies
}

// roots makes the edges roots, except that an edge to a local package (a
// path dependency, or a member itself in one of its groups) stands for
// that package's own edges and those of the extras it asks for: it has no
// index to be found on. Its marker is then not carried over to them.
func (w *walker) roots(edges []edge, local map[localVisit]bool) error {
	for _, e := range edges {
		target, rest, ok, err := w.follow(e.dep)
		if err != nil {
			return fmt.Errorf("%s: %w", e.from, err)
		}
		if !ok {
			continue
		}
		if !target.isLocal() {
			w.sel.Roots = append(w.sel.Roots, Root{Package: target, Extras: e.dep.Extra, Marker: rest, From: e.from})
			continue
		}
		var sub []edge
		if !local[localVisit{target, ""}] {
			local[localVisit{target, ""}] = true
			for _, d := range target.Dependencies {
				sub = append(sub, edge{d, target.Name})
			}
		}
		for _, x := range e.dep.Extra {
			if local[localVisit{target, dist.NormalizeName(x)}] {
				continue
			}
			local[localVisit{target, dist.NormalizeName(x)}] = true
			for _, d := range w.optional(target, x) {
				sub = append(sub, edge{d, target.Name + " extra " + x})
			}
		}
		if err := w.roots(sub, local); err != nil {
			return err
		}
	}
	return nil
}

type edge struct {
	dep  Dependency
	from string
}

type walker struct {
	l       *Lock
	decide  pep508.Decide
	sel     Selection
	seen    map[string]bool // "index[extra]" visited
	queue   []visit
	reached map[*Package]bool
	// byName holds the lock's packages by normalized name, so that an
	// edge finds its package without reading every package of the lock
	// (a lock of 100,000 packages took hours).
	byName map[string][]*Package
	// extras holds each package's optional dependencies by normalized
	// extra name, made when the walk first asks for one of them: a
	// package's extras may name it again with other extras, thousands of
	// times in a hostile lock.
	extras map[*Package]map[string][]Dependency
}

// optional returns the dependencies p's extra (as users write it) adds.
func (w *walker) optional(p *Package, extra string) []Dependency {
	ix, ok := w.extras[p]
	if !ok {
		ix = byNormalizedName(p.OptionalDependencies)
		w.extras[p] = ix
	}
	return ix[dist.NormalizeName(extra)]
}

type visit struct {
	p     *Package
	extra string // "" for the package itself
}

// follow finds the package an edge points at and settles its marker; ok
// is false when the edge cannot hold with the chosen extras and groups.
func (w *walker) follow(d Dependency) (*Package, *pep508.Marker, bool, error) {
	var rest *pep508.Marker
	if d.Marker != "" {
		m, err := pep508.ParseMarker(d.Marker)
		if err != nil {
			return nil, nil, false, fmt.Errorf("dependency on %s: marker %q: %w", d.Name, d.Marker, err)
		}
		r, never := m.Partial(w.decide)
		if never {
			return nil, nil, false, nil
		}
		rest = r
	}
	targets := findAll(w.byName, d)
	if len(targets) == 0 {
		return nil, nil, false, fmt.Errorf("dependency on %s %s: not in the lock", d.Name, d.Version)
	}
	// Several targets only for a [manifest] requirement, which names no
	// version: each fork's version is reached, under its resolution markers.
	for _, target := range targets {
		w.push(target, "")
		for _, e := range d.Extra {
			w.push(target, e)
		}
	}
	return targets[0], rest, true, nil
}

func (w *walker) push(p *Package, extra string) {
	key := p.Name + "\x00" + p.Version + "\x00" + p.Source.String() + "\x00" + dist.NormalizeName(extra)
	if w.seen[key] {
		return
	}
	w.seen[key] = true
	w.reached[p] = true
	w.queue = append(w.queue, visit{p, extra})
}

// walk follows edges until nothing new is reached; each package and extra
// is visited once, so it ends after at most packages x extras visits.
func (w *walker) walk() error {
	for len(w.queue) > 0 {
		v := w.queue[0]
		w.queue = w.queue[1:]
		deps := v.p.Dependencies
		if v.extra != "" {
			deps = w.optional(v.p, v.extra)
		}
		for _, d := range deps {
			if _, _, _, err := w.follow(d); err != nil {
				return fmt.Errorf("package %s %s: %w", v.p.Name, v.p.Version, err)
			}
		}
	}
	return nil
}

// byName returns the lock's packages by normalized name, in lock order.
func (l *Lock) byName() map[string][]*Package {
	out := map[string][]*Package{}
	for i := range l.Packages {
		p := &l.Packages[i]
		n := dist.NormalizeName(p.Name)
		out[n] = append(out[n], p)
	}
	return out
}

// findAll returns the packages a dependency points at, among packages by
// normalized name (Lock.byName): by name, then version and source when
// the lock holds several of that name. Load refuses a package's
// dependency that matches several; a [manifest] requirement, which has no
// version, matches every version of its name.
func findAll(byName map[string][]*Package, d Dependency) []*Package {
	var found []*Package
	for _, p := range byName[dist.NormalizeName(d.Name)] {
		if d.Version != "" && p.Version != d.Version || d.Source != nil && p.Source.String() != d.Source.String() {
			continue
		}
		found = append(found, p)
	}
	return found
}

// dependency is the lock edge a [manifest] requirement stands for: by
// name, with its extras and marker.
func (r Requirement) dependency() Dependency {
	return Dependency{Name: r.Name, Extra: r.Extras, Marker: r.Marker}
}

// members returns the workspace members: those [manifest] names, else
// every local package that no other package depends on.
func (l *Lock) members() []*Package {
	var out []*Package
	if len(l.Manifest.Members) > 0 {
		names := map[string]bool{}
		for _, n := range l.Manifest.Members {
			names[dist.NormalizeName(n)] = true
		}
		for i := range l.Packages {
			if p := &l.Packages[i]; p.isLocal() && names[dist.NormalizeName(p.Name)] {
				out = append(out, p)
			}
		}
		return out
	}
	// A project may depend on itself (a group holding "project[test]"):
	// that does not make it some other package's dependency.
	dependedOn := map[string]bool{}
	for _, p := range l.Packages {
		for _, d := range p.allDependencies() {
			if n := dist.NormalizeName(d.Name); n != dist.NormalizeName(p.Name) {
				dependedOn[n] = true
			}
		}
	}
	for i := range l.Packages {
		if p := &l.Packages[i]; p.isLocal() && !dependedOn[dist.NormalizeName(p.Name)] {
			out = append(out, p)
		}
	}
	return out
}

func (p *Package) isLocal() bool {
	switch p.Source.Kind {
	case SourceEditable, SourceVirtual, SourceDirectory:
		return true
	}
	return false
}

func (p *Package) allDependencies() []Dependency {
	out := append([]Dependency(nil), p.Dependencies...)
	for _, k := range sortedKeys(p.OptionalDependencies) {
		out = append(out, p.OptionalDependencies[k]...)
	}
	for _, k := range sortedKeys(p.DevDependencies) {
		out = append(out, p.DevDependencies[k]...)
	}
	return out
}

// checkConflicts refuses extras or groups of one [conflicts] set chosen
// together: uv resolved each of them without the others.
func (l *Lock) checkConflicts(members []*Package, extras, groups []string) error {
	chosen := map[string]bool{}
	for _, m := range members {
		for _, e := range extras {
			chosen["extra "+dist.NormalizeName(m.Name)+" "+dist.NormalizeName(e)] = true
		}
		for _, g := range groups {
			chosen["group "+dist.NormalizeName(m.Name)+" "+dist.NormalizeName(g)] = true
		}
	}
	for i, set := range l.Conflicts {
		var both []string
		for _, it := range set {
			kind, name := "extra", it.Extra
			if it.Group != "" {
				kind, name = "group", it.Group
			}
			if chosen[kind+" "+dist.NormalizeName(it.Package)+" "+dist.NormalizeName(name)] {
				both = append(both, kind+" "+name)
			}
		}
		if len(both) > 1 {
			return fmt.Errorf("%s conflict (conflicts[%d]): uv locked each without the other; choose one", strings.Join(both, " and "), i)
		}
	}
	return nil
}

func conflictMarkerName(kind, pkg, name string) string {
	return kind + "-" + strconv.Itoa(len(pkg)) + "-" + pkg + "-" + dist.NormalizeName(name)
}

// byNormalizedName returns m keyed by normalized names; entries whose
// names normalize alike are joined, in the order of their names.
func byNormalizedName[T any](m map[string][]T) map[string][]T {
	out := make(map[string][]T, len(m))
	for _, k := range sortedKeys(m) {
		n := dist.NormalizeName(k)
		out[n] = append(out[n], m[k]...)
	}
	return out
}

func known(what string, names map[string]bool) string {
	if len(names) == 0 {
		return "the lock's members have no " + what
	}
	return "the lock's members have " + what + " " + strings.Join(sortedKeys(names), ", ")
}
