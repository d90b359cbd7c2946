package resolver

import (
	"fmt"
	"strings"
)

// NoSolutionError reports that the requirements cannot all hold, with
// the chain of facts that proves it.
type NoSolutionError struct {
	root *incompat
	p    problem
}

// Error explains the failure in words, one derivation step a line:
// "Because a==2.0 depends on b<1 and the project requires b>=1, a<2 is
// required."
func (e *NoSolutionError) Error() string {
	return "no solution:\n" + explain(e.root, e.p)
}

// explainer renders a derivation graph as numbered sentences, following
// PubGrub's reporting: an incompatibility used more than once gets a line
// number and is referred to by it.
type explainer struct {
	p     problem
	refs  map[*incompat]int
	lines map[*incompat]int
	out   []string
}

func explain(root *incompat, p problem) string {
	x := &explainer{p: p, refs: map[*incompat]int{}, lines: map[*incompat]int{}}
	x.count(root)
	x.visit(root, true)
	return strings.Join(x.out, "\n")
}

func (x *explainer) count(in *incompat) {
	if in.kind != causeDerived {
		return
	}
	x.refs[in]++
	if x.refs[in] > 1 {
		return
	}
	x.count(in.c1)
	x.count(in.c2)
}

func (x *explainer) write(in *incompat, msg string, numbered bool) {
	if numbered && x.refs[in] > 1 {
		n := len(x.lines) + 1
		x.lines[in] = n
		msg = fmt.Sprintf("%s (%d)", msg, n)
	}
	x.out = append(x.out, msg)
}

func (x *explainer) ref(in *incompat) string {
	if n, ok := x.lines[in]; ok {
		return fmt.Sprintf("%s (%d)", x.describe(in), n)
	}
	return x.describe(in)
}

func (x *explainer) visit(in *incompat, conclusion bool) {
	numbered := conclusion || x.refs[in] > 1
	c1, c2 := in.c1, in.c2
	d1, d2 := c1.kind == causeDerived, c2.kind == causeDerived
	_, n1 := x.lines[c1]
	_, n2 := x.lines[c2]
	switch {
	case d1 && d2:
		switch {
		case n1 && n2:
			x.write(in, fmt.Sprintf("Because %s and %s, %s.", x.ref(c1), x.ref(c2), x.describe(in)), numbered)
		case n1 || n2:
			numberedOne, other := c1, c2
			if n2 {
				numberedOne, other = c2, c1
			}
			x.visit(other, false)
			x.write(in, fmt.Sprintf("And because %s, %s.", x.ref(numberedOne), x.describe(in)), numbered)
		default:
			x.visit(c1, false)
			if _, ok := x.lines[c1]; !ok {
				x.out = append(x.out, "")
			}
			x.visit(c2, false)
			x.write(in, fmt.Sprintf("And because %s, %s.", x.ref(c1), x.describe(in)), numbered)
		}
	case d1 || d2:
		derived, external := c1, c2
		if d2 {
			derived, external = c2, c1
		}
		if _, ok := x.lines[derived]; ok {
			x.write(in, fmt.Sprintf("Because %s and %s, %s.", x.describe(external), x.ref(derived), x.describe(in)), numbered)
			return
		}
		x.visit(derived, false)
		x.write(in, fmt.Sprintf("And because %s, %s.", x.describe(external), x.describe(in)), numbered)
	default:
		x.write(in, fmt.Sprintf("Because %s and %s, %s.", x.describe(c1), x.describe(c2), x.describe(in)), numbered)
	}
}

// describe says what an incompatibility means.
func (x *explainer) describe(in *incompat) string {
	switch in.kind {
	case causeRoot:
		return "the project requires " + in.text
	case causeDependency:
		// The depending side is always one version: name it, even when
		// the package has no other candidate.
		self := in.terms[0]
		if m := self.set.members(); len(m) == 1 {
			return fmt.Sprintf("%s==%s depends on %s", self.pkg, x.p.versionString(self.pkg, m[0]), in.text)
		}
		return fmt.Sprintf("%s depends on %s", x.termText(self), in.text)
	case causeNoVersions:
		return fmt.Sprintf("no version of %s is available", x.termText(in.terms[0]))
	case causeUnusable:
		return fmt.Sprintf("%s cannot be used (%s)", x.termText(in.terms[0]), in.text)
	case causeConstraint:
		return "the constraints require " + in.text
	}
	return x.derivedText(in)
}

func (x *explainer) derivedText(in *incompat) string {
	var pos, neg []term
	for _, t := range in.terms {
		if t.pkg == rootPkg {
			continue
		}
		if t.pos {
			pos = append(pos, t)
		} else {
			neg = append(neg, t)
		}
	}
	hasRoot := len(pos)+len(neg) < len(in.terms)
	list := func(ts []term, sep string) string {
		var s []string
		for _, t := range ts {
			s = append(s, x.termText(t))
		}
		return strings.Join(s, sep)
	}
	switch {
	case len(pos) == 0 && len(neg) == 0:
		return "no set of versions satisfies the requirements"
	case hasRoot && len(pos) == 0:
		return "the project requires " + list(neg, " or ")
	case hasRoot:
		return list(pos, " and ") + " cannot be used with the project"
	case len(neg) == 0 && len(pos) == 1:
		return x.termText(pos[0]) + " cannot be used"
	case len(neg) == 0:
		return list(pos, " and ") + " are incompatible"
	case len(pos) == 0:
		return list(neg, " or ") + " is required"
	default:
		return list(pos, " and ") + " requires " + list(neg, " or ")
	}
}

// termText renders a term as its package restricted to the term's set,
// e.g. "django>=4.2,<=5.1". In an incompatibility a negative term
// "not B in S" reads as what is required, B in S, so both polarities
// render the set itself.
func (x *explainer) termText(t term) string {
	if t.pkg == rootPkg {
		return "the project"
	}
	return x.p.describe(t.pkg, t.set)
}
