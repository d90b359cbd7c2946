package pylock

import (
	"fmt"
	"slices"
	"strings"

	"github.com/larder-build/larder/resolver/dist"
	"github.com/larder-build/larder/resolver/pep508"
)

// Choice is the extras and dependency groups an install of a lock asks
// for: what PEP 751's marker variables `extras` and `dependency_groups`
// hold when a package's marker is evaluated.
type Choice struct {
	extras, groups map[string]bool
}

// Choose checks extras and groups against those the lock declares and
// returns the choice. With no groups, the lock's default-groups are
// chosen, as PEP 751 says an installer does; they need not be among its
// dependency-groups (PEP 751: they SHOULD NOT be, being no group a user
// names), and naming one is not refused.
func (l *Lock) Choose(extras, groups []string) (Choice, error) {
	if len(groups) == 0 {
		groups = l.DefaultGroups
	}
	c := Choice{extras: map[string]bool{}, groups: map[string]bool{}}
	for _, x := range []struct {
		what    string
		chosen  []string
		have    []string
		also    []string // known too, not listed in errors
		members map[string]bool
	}{
		{"extra", extras, l.Extras, nil, c.extras},
		{"dependency group", groups, l.DependencyGroups, l.DefaultGroups, c.groups},
	} {
		have := map[string]bool{}
		for _, h := range append(slices.Clip(x.have), x.also...) {
			have[dist.NormalizeName(h)] = true
		}
		for _, name := range x.chosen {
			n := dist.NormalizeName(name)
			if !have[n] {
				known := "none"
				if len(x.have) > 0 {
					known = strings.Join(x.have, ", ")
				}
				return Choice{}, fmt.Errorf("unknown %s %q: the lock has %s", x.what, name, known)
			}
			x.members[n] = true
		}
	}
	return c, nil
}

// Settle settles the `extras` and `dependency_groups` comparisons of a
// package marker with the choice: installed is false when the package is
// not part of it, and rest is what remains for a target to settle, ""
// when the package is installed everywhere.
func (c Choice) Settle(marker string) (rest string, installed bool, err error) {
	if marker == "" {
		return "", true, nil
	}
	m, err := pep508.ParseMarker(marker)
	if err != nil {
		return "", false, fmt.Errorf("marker %q: %w", marker, err)
	}
	r, never := m.Partial(func(variable, op, value string) (bool, bool) {
		var set map[string]bool
		switch variable {
		case pep508.Extras:
			set = c.extras
		case pep508.DependencyGroups:
			set = c.groups
		default:
			return false, false
		}
		if op != "in" && op != "not in" {
			return false, false
		}
		return set[dist.NormalizeName(value)] == (op == "in"), true
	})
	switch {
	case never:
		return "", false, nil
	case r == nil:
		return "", true, nil
	}
	return r.String(), true, nil
}
