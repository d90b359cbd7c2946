package resolver

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"

	"github.com/larder-build/larder/resolver/dist"
	"github.com/larder-build/larder/resolver/pylock"
)

// Graph is the dependency graph recorded in a lock, for explaining why a
// package is in the closure.
type Graph struct {
	versions map[string][]string        // name -> versions in the lock
	parents  map[string]map[string]bool // name -> direct dependents
	roots    map[string]bool            // names the project requires
	targets  map[string][]string        // name -> targets, when not all
}

// GraphFromLock reads the dependency graph out of a lock written by larder.
func GraphFromLock(l *pylock.Lock) *Graph {
	g := &Graph{versions: map[string][]string{}, parents: map[string]map[string]bool{}, roots: map[string]bool{}, targets: map[string][]string{}}
	all := len(l.Targets())
	for _, p := range l.Packages {
		g.versions[p.Name] = append(g.versions[p.Name], p.Version)
		for _, d := range p.Dependencies {
			n := dist.NormalizeName(d.Name)
			if g.parents[n] == nil {
				g.parents[n] = map[string]bool{}
			}
			g.parents[n][p.Name] = true
		}
		if lt := p.Tool.Larder; lt != nil {
			for _, chain := range lt.Via {
				if len(chain) == 0 {
					g.roots[p.Name] = true
				}
			}
			if len(lt.Targets) > 0 && len(lt.Targets) < all {
				g.targets[p.Name] = lt.Targets
			}
		}
	}
	return g
}

// Has reports whether the lock holds the project.
func (g *Graph) Has(name string) bool { return len(g.versions[dist.NormalizeName(name)]) > 0 }

// Chains returns every path from a root requirement to name, roots first,
// at most limit of them, shortest first.
func (g *Graph) Chains(name string, limit int) [][]string {
	name = dist.NormalizeName(name)
	var out [][]string
	var walk func(n string, path []string)
	walk = func(n string, path []string) {
		if len(out) >= limit*4 {
			return
		}
		path = append(path, n)
		if g.roots[n] {
			chain := make([]string, len(path))
			for i := range path {
				chain[i] = path[len(path)-1-i]
			}
			out = append(out, chain)
		}
		for _, p := range sortedKeys(g.parents[n]) {
			if !slices.Contains(path, p) {
				walk(p, path)
			}
		}
	}
	walk(name, nil)
	sort.SliceStable(out, func(i, j int) bool { return len(out[i]) < len(out[j]) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out
}

// WriteTree prints the inverted tree of what pulls name in: the package,
// then each dependent indented below it, up to the project's own
// requirements. A dependent already shown is not expanded again.
func (g *Graph) WriteTree(w io.Writer, name string) error {
	name = dist.NormalizeName(name)
	if !g.Has(name) {
		return fmt.Errorf("%s is not in the lock", name)
	}
	shown := map[string]bool{}
	var walk func(n string, depth int, path []string)
	walk = func(n string, depth int, path []string) {
		line := strings.Repeat("  ", depth)
		if depth > 0 {
			line += "<- "
		}
		line += n + " " + strings.Join(g.versions[n], ", ")
		var notes []string
		if g.roots[n] {
			notes = append(notes, "required by the project")
		}
		if ts := g.targets[n]; len(ts) > 0 && depth == 0 {
			notes = append(notes, "only for "+strings.Join(ts, ", "))
		}
		expanded := shown[n]
		if expanded && len(g.parents[n]) > 0 {
			notes = append(notes, "see above")
		}
		if len(notes) > 0 {
			line += " (" + strings.Join(notes, "; ") + ")"
		}
		fmt.Fprintln(w, line)
		if expanded {
			return
		}
		shown[n] = true
		for _, p := range sortedKeys(g.parents[n]) {
			if !slices.Contains(path, p) {
				walk(p, depth+1, append(path, p))
			}
		}
	}
	walk(name, 0, []string{name})
	return nil
}

// Suggest returns lock names close to name, for "did you mean".
func (g *Graph) Suggest(name string) []string {
	return Closest(dist.NormalizeName(name), sortedKeys(g.versions), 3)
}

// Closest returns up to n candidates within a small edit distance of name,
// closest first.
func Closest(name string, candidates []string, n int) []string {
	type scored struct {
		s string
		d int
	}
	var found []scored
	limit := max(2, len(name)/3)
	for _, c := range candidates {
		if d := editDistance(name, c); d <= limit {
			found = append(found, scored{c, d})
		}
	}
	sort.SliceStable(found, func(i, j int) bool { return found[i].d < found[j].d })
	var out []string
	for i := 0; i < len(found) && i < n; i++ {
		out = append(out, found[i].s)
	}
	return out
}

// editDistance is the Levenshtein distance with adjacent transpositions.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
