package resolver

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/larder-build/larder/resolver/gitsrc"
	"github.com/larder-build/larder/resolver/index"
	"github.com/larder-build/larder/resolver/pylock"
	"github.com/larder-build/larder/resolver/simple"
	"github.com/larder-build/larder/resolver/target"
)

// TargetMarker is the PEP 508 marker that holds exactly in a target's
// environment, as far as the lock needs to tell targets apart.
func TargetMarker(t target.Target) string {
	return fmt.Sprintf(`sys_platform == "linux" and platform_machine == "%s" and python_version == "%d.%d"`,
		t.Machine(), t.Python.Major, t.Python.Minor)
}

// Lock turns a resolution into a PEP 751 lock: one [[packages]] entry per
// project version, with every file some target installs (a pure-Python
// wheel shared by all targets appears once), a marker when only some
// targets install it, and larder's own data under [packages.tool.larder].
func (r *Result) Lock() *pylock.Lock {
	l := &pylock.Lock{LockVersion: "1.0", CreatedBy: "larder"}
	minor := -1
	var targets []string
	for _, t := range r.Targets {
		l.Environments = append(l.Environments, TargetMarker(t))
		targets = append(targets, t.String())
		if minor < 0 || t.Python.Minor < minor {
			minor = t.Python.Minor
		}
	}
	l.RequiresPython = fmt.Sprintf(">=3.%d", minor)
	l.Tool.Larder = &pylock.LarderTool{Targets: targets}
	via := r.viaChains()
	for _, p := range r.Packages {
		pkg := pylock.Package{Name: p.Name, Version: p.Version.String(), Index: simple.WithoutCredentials(p.Index)}
		if len(p.Targets) < len(r.Targets) {
			var ms []string
			for _, ti := range p.Targets {
				ms = append(ms, "("+TargetMarker(r.Targets[ti])+")")
			}
			pkg.Marker = strings.Join(ms, " or ")
		}
		seen := map[string]bool{}
		var tnames []string
		deps := map[string]bool{}
		for _, ti := range p.Targets {
			tnames = append(tnames, r.Targets[ti].String())
			for _, d := range p.Deps[ti] {
				deps[d] = true
			}
			f := p.Files[ti]
			if seen[f.Filename] {
				continue
			}
			seen[f.Filename] = true
			lf := lockFile(f)
			if strings.HasSuffix(f.Filename, ".whl") {
				pkg.Wheels = append(pkg.Wheels, lf)
			} else {
				pkg.Sdist = &lf
			}
		}
		sort.Slice(pkg.Wheels, func(i, j int) bool { return pkg.Wheels[i].Name < pkg.Wheels[j].Name })
		for _, d := range sortedKeys(deps) {
			pkg.Dependencies = append(pkg.Dependencies, pylock.Dependency{Name: d})
		}
		lt := &pylock.LarderTool{Targets: tnames, Via: via[p.Name], Private: p.Private, Unpinned: p.Unpinned}
		if p.Build {
			lt.Build = "sdist"
		}
		if p.VCS != nil {
			lt.Build = "vcs"
			pkg.Index, pkg.Wheels, pkg.Sdist = "", nil, nil
			pkg.VCS = &pylock.VCS{Type: "git", URL: gitsrc.WithoutCredentials(p.VCS.URL), RequestedRevision: p.VCS.Rev,
				CommitID: p.VCS.Commit, Subdirectory: p.VCS.Subdirectory}
		}
		pkg.Tool.Larder = lt
		l.Packages = append(l.Packages, pkg)
	}
	return l
}

func lockFile(f index.File) pylock.File {
	lf := pylock.File{Name: f.Filename, URL: simple.WithoutCredentials(f.URL), UploadTime: f.UploadTime.UTC()}
	if f.Size > 0 {
		lf.Size = f.Size
	}
	if h := f.SHA256(); h != "" {
		lf.Hashes = pylock.Hashes{"sha256": h}
	}
	return lf
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// viaChains returns, for every package, one shortest chain from the
// project through each of its direct dependents: enough to say why it is
// in the closure without listing every path.
func (r *Result) viaChains() map[string][][]string {
	parents := map[string]map[string]bool{}
	isRoot := map[string]bool{}
	for _, p := range r.Packages {
		for ti, deps := range p.Deps {
			if p.Root[ti] {
				isRoot[p.Name] = true
			}
			for _, d := range deps {
				if parents[d] == nil {
					parents[d] = map[string]bool{}
				}
				parents[d][p.Name] = true
			}
		}
	}
	// Shortest chains from the roots, breadth first.
	shortest := map[string][]string{}
	var queue []string
	for _, n := range sortedKeys(isRoot) {
		shortest[n] = []string{n}
		queue = append(queue, n)
	}
	children := map[string][]string{}
	for child, ps := range parents {
		for p := range ps {
			children[p] = append(children[p], child)
		}
	}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		kids := children[n]
		sort.Strings(kids)
		for _, k := range kids {
			if _, ok := shortest[k]; !ok {
				shortest[k] = append(append([]string{}, shortest[n]...), k)
				queue = append(queue, k)
			}
		}
	}
	out := map[string][][]string{}
	for _, p := range r.Packages {
		if _, done := out[p.Name]; done {
			continue
		}
		var chains [][]string
		if isRoot[p.Name] {
			chains = append(chains, []string{})
		}
		for _, par := range sortedKeys(parents[p.Name]) {
			if c, ok := shortest[par]; ok {
				chains = append(chains, c)
			}
		}
		out[p.Name] = chains
	}
	return out
}
