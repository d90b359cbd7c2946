package resolver

import (
	"fmt"
	"sort"
	"strings"
)

// verifyClosed checks that every package of the solution was pinned by
// the inputs, and names the chain that pulls in the first one that was
// not. The unsafe packages (IsUnsafe) are the exception: pip-compile
// leaves them out on purpose and pip installs them anyway, so their
// resolved versions are kept and returned, for the caller to report.
func (p *targetProblem) verifyClosed(sol map[string]int) (map[string]bool, error) {
	var missing []string
	unpinned := map[string]bool{}
	for pkg := range sol {
		if name, extra := pkgName(pkg); extra == "" && !p.roots[name] {
			if IsUnsafe(name) {
				unpinned[name] = true
				continue
			}
			missing = append(missing, name)
		}
	}
	if len(missing) == 0 {
		return unpinned, nil
	}
	sort.Strings(missing)
	version := func(name string) string {
		return name + "==" + p.listings[name].versions[sol[name]]
	}
	// Breadth first from the roots through the chosen versions.
	prev := map[string]string{}
	var queue []string
	for name := range p.roots {
		if _, ok := sol[name]; ok {
			prev[name] = ""
			queue = append(queue, name)
		}
	}
	sort.Strings(queue)
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		for _, d := range p.deps[version(n)] {
			if _, seen := prev[d]; !seen {
				prev[d] = n
				queue = append(queue, d)
			}
		}
	}
	var chain []string
	for n := missing[0]; n != ""; n = prev[n] {
		chain = append([]string{version(n)}, chain...)
	}
	more := ""
	if len(missing) > 1 {
		more = fmt.Sprintf(" (and %d more: %s)", len(missing)-1, strings.Join(missing[1:], ", "))
	}
	return nil, fmt.Errorf("the inputs pin every version but miss %s%s, required through %s; "+
		"they are not a complete closure: regenerate them (pip-compile) or add the pin",
		version(missing[0]), more, strings.Join(chain, " -> "))
}
