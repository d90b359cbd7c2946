package resolver

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// This file is the version solver: PubGrub (Natalie Weizenbaum, 2018), a
// conflict-driven search that learns an incompatibility from every
// conflict, so it never repeats a dead end and can explain a failure as a
// chain of facts. Versions are candidate indexes and version sets are
// bitsets (vset), which the problem hands us per package.

// rootPkg is the virtual package that stands for the project itself.
const rootPkg = ""

// problem is what the solver asks about packages. Calls are sequential.
type problem interface {
	// candidates returns how many candidate versions pkg has (indexes
	// ascend by version) and the indexes in order of preference.
	candidates(ctx context.Context, pkg string) (n int, pref []int, err error)
	// dependencies returns what candidate i of pkg depends on. An
	// *unusableError makes that one version unusable instead of failing.
	dependencies(ctx context.Context, pkg string, i int) ([]dependency, error)
	// constraint returns the set a constraint file restricts pkg to.
	constraint(pkg string) (set vset, text string, ok bool)
	// describe renders pkg restricted to s for messages, e.g. "bar>=2.0".
	describe(pkg string, s vset) string
	// versionString names candidate i of pkg.
	versionString(pkg string, i int) string
}

// prefetcher is a problem that can be told, before each decision, what
// every undecided package the partial solution requires may still take:
// it fetches in the background what examining those versions will need.
type prefetcher interface {
	// prefetch is called with the versions pkg allows, whether they
	// changed since the last call, and agrees, which reports whether a
	// dependency agrees with the partial solution (a version whose
	// dependency does not will be rejected when examined).
	prefetch(pkg string, allowed vset, changed bool, agrees func(dependency) bool)
}

// dependency is one requirement of a package version, already evaluated
// for the target (markers) and turned into a set of candidates.
type dependency struct {
	pkg  string
	set  vset
	text string // the requirement as written, for messages
}

// unusableError marks a version the solver must skip, with the reason.
type unusableError struct{ reason string }

func (e *unusableError) Error() string { return e.reason }

// term is a statement about one package: "pkg is selected with a version
// in set" (positive) or its negation, which also holds when pkg is not
// selected at all.
type term struct {
	pkg string
	pos bool
	set vset
}

func (t term) negate() term { return term{t.pkg, !t.pos, t.set} }

func (t term) isEmpty() bool { return t.pos && t.set.isEmpty() }

// intersect is the term that holds when both hold.
func intersect(a, b term) term {
	switch {
	case a.pos && b.pos:
		return term{a.pkg, true, a.set.and(b.set)}
	case a.pos:
		return term{a.pkg, true, a.set.and(b.set.not())}
	case b.pos:
		return term{a.pkg, true, b.set.and(a.set.not())}
	default:
		return term{a.pkg, false, a.set.or(b.set)}
	}
}

// satisfies reports whether a implies b.
func (a term) satisfies(b term) bool { return intersect(a, b.negate()).isEmpty() }

// contradicts reports whether a and b cannot both hold.
func (a term) contradicts(b term) bool { return intersect(a, b).isEmpty() }

type causeKind int

const (
	causeRoot       causeKind = iota // the project's own requirement
	causeDependency                  // a version depends on a package
	causeNoVersions                  // nothing in a set is available
	causeUnusable                    // one version cannot be used
	causeConstraint                  // a constraint file restricts a package
	causeDerived                     // learned from two others
)

// incompat is a set of terms that must not all hold at once.
type incompat struct {
	terms  []term
	kind   causeKind
	c1, c2 *incompat // causes, for derived incompatibilities
	text   string    // requirement text or reason, for messages
}

// term returns the incompatibility's term for pkg.
func (in *incompat) term(pkg string) (term, bool) {
	for _, t := range in.terms {
		if t.pkg == pkg {
			return t, true
		}
	}
	return term{}, false
}

// isFailure reports an incompatibility that rules out the root itself.
func (in *incompat) isFailure() bool {
	return len(in.terms) == 0 || (len(in.terms) == 1 && in.terms[0].pkg == rootPkg && in.terms[0].pos)
}

type assignment struct {
	term
	level    int
	decision bool
	cause    *incompat
}

// solver is one run of PubGrub.
type solver struct {
	p        problem
	incompat map[string][]*incompat
	known    map[string]int // pkg -> number of candidates
	pref     map[string][]int

	assigns   []assignment
	acc       map[string]term // intersection of all assignments per pkg
	decisions map[string]int  // pkg -> chosen candidate
	level     int
	steps     int
	// changed are the packages whose allowed versions changed since the
	// problem was last told about them (prefetcher).
	changed map[string]bool
	// pendingBuf and othersBuf are choose's scratch space.
	pendingBuf, othersBuf []pending
}

// maxSteps bounds the search; real problems need far fewer.
const maxSteps = 200000

// solve finds a candidate for every package reachable from the root's
// dependencies, or returns a *NoSolutionError that explains why none
// exists.
func solve(ctx context.Context, p problem, rootDeps []dependency) (map[string]int, error) {
	s := &solver{
		p:         p,
		incompat:  map[string][]*incompat{},
		known:     map[string]int{rootPkg: 1},
		pref:      map[string][]int{rootPkg: {0}},
		acc:       map[string]term{},
		decisions: map[string]int{},
		changed:   map[string]bool{},
	}
	rootTerm := term{rootPkg, true, singleSet(1, 0)}
	for _, d := range rootDeps {
		if err := s.learnPackage(ctx, d.pkg); err != nil {
			return nil, err
		}
		s.add(&incompat{terms: []term{rootTerm, {d.pkg, false, d.set}}, kind: causeRoot, text: d.text})
	}
	s.decide(rootPkg, 0)
	next := rootPkg
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if s.steps++; s.steps > maxSteps {
			return nil, fmt.Errorf("resolution gave up after %d steps", maxSteps)
		}
		if err := s.propagate(next); err != nil {
			return nil, err
		}
		pkg, done, err := s.choose(ctx)
		if err != nil {
			return nil, err
		}
		if done {
			out := make(map[string]int, len(s.decisions))
			for k, v := range s.decisions {
				if k != rootPkg {
					out[k] = v
				}
			}
			return out, nil
		}
		next = pkg
	}
}

// learnPackage registers a package the first time it is mentioned: its
// candidates, and its constraint if any.
func (s *solver) learnPackage(ctx context.Context, pkg string) error {
	if _, ok := s.known[pkg]; ok {
		return nil
	}
	n, pref, err := s.p.candidates(ctx, pkg)
	if err != nil {
		return err
	}
	s.known[pkg], s.pref[pkg] = n, pref
	if set, text, ok := s.p.constraint(pkg); ok {
		s.add(&incompat{terms: []term{{pkg, true, set.not()}}, kind: causeConstraint, text: text})
	}
	return nil
}

func (s *solver) add(in *incompat) {
	for _, t := range in.terms {
		s.incompat[t.pkg] = append(s.incompat[t.pkg], in)
	}
}

func (s *solver) assign(a assignment) {
	s.changed[a.pkg] = true
	s.assigns = append(s.assigns, a)
	if prev, ok := s.acc[a.pkg]; ok {
		s.acc[a.pkg] = intersect(prev, a.term)
	} else {
		s.acc[a.pkg] = a.term
	}
}

func (s *solver) decide(pkg string, i int) {
	s.level++
	s.decisions[pkg] = i
	s.assign(assignment{term: term{pkg, true, singleSet(s.known[pkg], i)}, level: s.level, decision: true})
}

func (s *solver) derive(t term, cause *incompat) {
	s.assign(assignment{term: t, level: s.level, cause: cause})
}

type relation int

const (
	satisfied relation = iota
	contradicted
	inconclusive
	almostSatisfied
)

// relationOf classifies an incompatibility against the partial solution;
// for almostSatisfied it also returns the one term not yet satisfied.
func (s *solver) relationOf(in *incompat) (relation, term) {
	var unsatisfied term
	found := false
	for _, t := range in.terms {
		acc, ok := s.acc[t.pkg]
		switch {
		case ok && acc.satisfies(t):
			continue
		case ok && acc.contradicts(t):
			return contradicted, term{}
		}
		// No assignment at all: a negative term is undecided too, and a
		// positive one is neither satisfied nor contradicted.
		if found {
			return inconclusive, term{}
		}
		unsatisfied, found = t, true
	}
	if !found {
		return satisfied, term{}
	}
	return almostSatisfied, unsatisfied
}

// propagate is unit propagation from the package that just changed.
func (s *solver) propagate(start string) error {
	changed := []string{start}
	for len(changed) > 0 {
		pkg := changed[len(changed)-1]
		changed = changed[:len(changed)-1]
		list := s.incompat[pkg]
		for i := len(list) - 1; i >= 0; i-- {
			in := list[i]
			rel, t := s.relationOf(in)
			switch rel {
			case satisfied:
				root, err := s.resolveConflict(in)
				if err != nil {
					return err
				}
				rel, t = s.relationOf(root)
				if rel != almostSatisfied {
					return errors.New("internal error: learned incompatibility is not almost satisfied")
				}
				s.derive(t.negate(), root)
				changed = []string{t.pkg}
				i = -1 // restart from the new package
			case almostSatisfied:
				s.derive(t.negate(), in)
				changed = append(changed, t.pkg)
			}
		}
	}
	return nil
}

// resolveConflict learns from a satisfied incompatibility until it finds
// one that backjumping makes almost satisfied, or proves failure.
func (s *solver) resolveConflict(in *incompat) (*incompat, error) {
	original := in
	for !in.isFailure() {
		satIdx, t := s.satisfier(in)
		sat := s.assigns[satIdx]
		prevLevel := s.previousSatisfierLevel(in, satIdx)
		if sat.decision || prevLevel != sat.level {
			if in != original {
				s.add(in)
			}
			s.backtrack(prevLevel)
			return in, nil
		}
		// Resolve in with the satisfier's cause to get a new, more
		// general incompatibility that no longer mentions sat's package
		// except through what sat does not imply.
		var terms []term
		seen := map[string]int{}
		addTerm := func(t term) {
			if i, ok := seen[t.pkg]; ok {
				terms[i] = intersect(terms[i], t)
				return
			}
			seen[t.pkg] = len(terms)
			terms = append(terms, t)
		}
		for _, x := range in.terms {
			if x.pkg != sat.pkg {
				addTerm(x)
			}
		}
		for _, x := range sat.cause.terms {
			if x.pkg != sat.pkg {
				addTerm(x)
			}
		}
		if !sat.satisfies(t) {
			addTerm(intersect(sat.term, t.negate()).negate())
		}
		// A negative term that allows everything says nothing: drop it.
		kept := terms[:0]
		for _, x := range terms {
			if !x.pos && x.set.isEmpty() {
				continue
			}
			kept = append(kept, x)
		}
		in = &incompat{terms: kept, kind: causeDerived, c1: in, c2: sat.cause}
	}
	return nil, &NoSolutionError{root: in, p: s.p}
}

// satisfier finds the earliest assignment after which every term of in is
// satisfied, and in's term for that assignment's package.
func (s *solver) satisfier(in *incompat) (int, term) {
	acc := map[string]term{}
	for i, a := range s.assigns {
		t, ok := in.term(a.pkg)
		if !ok {
			continue
		}
		if prev, ok := acc[a.pkg]; ok {
			acc[a.pkg] = intersect(prev, a.term)
		} else {
			acc[a.pkg] = a.term
		}
		if !acc[a.pkg].satisfies(t) {
			continue
		}
		all := true
		for _, x := range in.terms {
			v, ok := acc[x.pkg]
			if !ok || !v.satisfies(x) {
				all = false
				break
			}
		}
		if all {
			return i, t
		}
	}
	panic("satisfier: incompatibility is not satisfied") // unreachable: callers check
}

// previousSatisfierLevel is the decision level at which in was already
// satisfied but for the satisfier; 1 when the satisfier alone suffices.
func (s *solver) previousSatisfierLevel(in *incompat, satIdx int) int {
	sat := s.assigns[satIdx]
	acc := map[string]term{sat.pkg: sat.term}
	check := func() bool {
		for _, x := range in.terms {
			v, ok := acc[x.pkg]
			if !ok || !v.satisfies(x) {
				return false
			}
		}
		return true
	}
	if check() {
		return 1
	}
	for i := 0; i < satIdx; i++ {
		a := s.assigns[i]
		if _, ok := in.term(a.pkg); !ok {
			continue
		}
		if prev, ok := acc[a.pkg]; ok {
			acc[a.pkg] = intersect(prev, a.term)
		} else {
			acc[a.pkg] = a.term
		}
		if check() {
			return max(a.level, 1)
		}
	}
	return 1
}

func (s *solver) backtrack(level int) {
	for len(s.assigns) > 0 && s.assigns[len(s.assigns)-1].level > level {
		a := s.assigns[len(s.assigns)-1]
		s.assigns = s.assigns[:len(s.assigns)-1]
		s.changed[a.pkg] = true
		if a.decision {
			delete(s.decisions, a.pkg)
		}
	}
	s.level = level
	s.acc = map[string]term{}
	for _, a := range s.assigns {
		if prev, ok := s.acc[a.pkg]; ok {
			s.acc[a.pkg] = intersect(prev, a.term)
		} else {
			s.acc[a.pkg] = a.term
		}
	}
}

// pending is an undecided package the partial solution requires, with
// how many versions it allows.
type pending struct {
	pkg   string
	count int
}

// agrees reports whether a dependency agrees with the partial solution:
// whether a version that has it can be decided now.
func (s *solver) agrees(d dependency) bool {
	acc, ok := s.acc[d.pkg]
	return !ok || !acc.satisfies(term{d.pkg, false, d.set})
}

// prefetch tells the problem, if it prefetches, what the undecided
// packages may still take: those whose allowed versions just changed
// first, in the order choose will decide them (fewest versions, then by
// name), then the others.
func (s *solver) prefetch(changed, others []pending) {
	pf, ok := s.p.(prefetcher)
	if !ok {
		return
	}
	slices.SortFunc(changed, func(a, b pending) int {
		if a.count != b.count {
			return a.count - b.count
		}
		return strings.Compare(a.pkg, b.pkg)
	})
	agrees := s.agrees
	for _, a := range changed {
		pf.prefetch(a.pkg, s.acc[a.pkg].set, true, agrees)
	}
	for _, a := range others {
		pf.prefetch(a.pkg, s.acc[a.pkg].set, false, agrees)
	}
}

// choose makes the next decision: the undecided required package with the
// fewest allowed candidates, at its most preferred allowed version.
func (s *solver) choose(ctx context.Context) (string, bool, error) {
	// One pass, ties to the smallest name so that the order of the map
	// never decides: this runs once per step, over every package seen.
	best, bestCount := "", -1
	changed, others := s.pendingBuf[:0], s.othersBuf[:0]
	for pkg, t := range s.acc {
		if !t.pos {
			continue
		}
		if _, ok := s.decisions[pkg]; ok {
			continue
		}
		c := t.set.count()
		if bestCount < 0 || c < bestCount || (c == bestCount && pkg < best) {
			best, bestCount = pkg, c
		}
		if s.changed[pkg] {
			changed = append(changed, pending{pkg, c})
		} else {
			others = append(others, pending{pkg, c})
		}
	}
	clear(s.changed)
	s.prefetch(changed, others)
	s.pendingBuf, s.othersBuf = changed, others
	if bestCount < 0 {
		return "", true, nil
	}
	pkg := best
	allowed := s.acc[pkg].set
	choice := -1
	for _, i := range s.pref[pkg] {
		if allowed.has(i) {
			choice = i
			break
		}
	}
	if choice < 0 {
		s.add(&incompat{terms: []term{{pkg, true, allowed}}, kind: causeNoVersions})
		return pkg, false, nil
	}
	deps, err := s.p.dependencies(ctx, pkg, choice)
	var unusable *unusableError
	if errors.As(err, &unusable) {
		s.add(&incompat{terms: []term{{pkg, true, singleSet(s.known[pkg], choice)}}, kind: causeUnusable, text: unusable.reason})
		return pkg, false, nil
	}
	if err != nil {
		return "", false, err
	}
	self := term{pkg, true, singleSet(s.known[pkg], choice)}
	conflict := false
	for _, d := range deps {
		if err := s.learnPackage(ctx, d.pkg); err != nil {
			return "", false, err
		}
		in := &incompat{terms: []term{self, {d.pkg, false, d.set}}, kind: causeDependency, text: d.text}
		s.add(in)
		// If the dependency already contradicts the partial solution,
		// deciding would only produce a conflict: let propagation learn.
		if acc, ok := s.acc[d.pkg]; ok && acc.satisfies(term{d.pkg, false, d.set}) {
			conflict = true
		}
	}
	if !conflict {
		s.decide(pkg, choice)
	}
	return pkg, false, nil
}
