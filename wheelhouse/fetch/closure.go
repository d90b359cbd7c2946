package fetch

import (
	"fmt"
	"sort"
	"strings"

	"github.com/larder-build/larder/resolver/pylock"
	"github.com/larder-build/larder/wheelhouse"
)

// Closure returns the store entries that the lock's targets install, each
// with Targets set from the lock (nil when the lock names no target for
// its package, so that every platform may install it): the wheel each
// target ranks best, the sdist a target builds from, and the wheels built
// for the targets. It reads no file content (Verify does); a file the lock
// needs that the store lacks, or holds with another hash, is an
// *IncompleteError.
func Closure(store *wheelhouse.Store, lock *pylock.Lock) ([]wheelhouse.Entry, error) {
	p, err := makePlan(lock)
	if err != nil {
		return nil, fmt.Errorf("reading the lock: %w", err)
	}
	var out []wheelhouse.Entry
	var problems []string
	for _, w := range p.wants {
		if len(w.targets) == 0 && !w.anyTarget {
			continue // listed, but no target installs it
		}
		e, ok := store.Lookup(w.name)
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("%s (%s %s) is missing", w.name, w.project, w.version))
			continue
		case e.SHA256 != w.sha256:
			problems = append(problems, fmt.Sprintf("%s has sha256 %s, the lock says %s", w.name, e.SHA256, w.sha256))
			continue
		}
		e.Targets = append([]string(nil), w.targets...)
		if w.anyTarget {
			e.Targets = nil
		}
		e.Private = e.Private || w.private
		out = append(out, e)
	}
	entries := store.Entries()
	built := map[string]int{} // file name -> index in out
	for _, j := range p.jobs {
		for _, t := range j.targets {
			e, ok := p.builtFor(j, entries, t)
			if !ok {
				problems = append(problems, fmt.Sprintf("no wheel of %s is built for %s", j, t))
				continue
			}
			if i, seen := built[e.Filename]; seen {
				out[i].Targets = mergeTargets(out[i].Targets, []string{t.String()})
				continue
			}
			e.Targets = []string{t.String()}
			e.Private = e.Private || j.private
			built[e.Filename] = len(out)
			out = append(out, e)
		}
	}
	if len(problems) > 0 {
		return nil, &IncompleteError{Dir: store.Dir(), Problems: problems}
	}
	for i := range out {
		sort.Strings(out[i].Targets)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Filename < out[j].Filename })
	return out, nil
}

// IncompleteError reports a store that lacks files the lock needs.
type IncompleteError struct {
	Dir      string
	Problems []string
}

func (e *IncompleteError) Error() string {
	n := min(len(e.Problems), 5)
	msg := fmt.Sprintf("wheelhouse %s does not hold what the lock needs: %s", e.Dir, strings.Join(e.Problems[:n], "; "))
	if len(e.Problems) > n {
		msg += fmt.Sprintf(" (and %d more)", len(e.Problems)-n)
	}
	return msg
}

// Requirements is what larder export --requirements writes: what target (one
// of the lock's targets, as Target names it) installs, as a pip requirements
// file that pins every project with == and lists the sha256 of each of its
// files in store. It fails with an IncompleteError when store lacks a file of
// the lock. The header lines become comments at the top.
func Requirements(store *wheelhouse.Store, lock *pylock.Lock, target string, header ...string) (data []byte, projects int, err error) {
	entries, err := Closure(store, lock)
	if err != nil {
		return nil, 0, err
	}
	return wheelhouse.Requirements(entries, target, header...)
}
