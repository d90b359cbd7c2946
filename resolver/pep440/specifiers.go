package pep440

import (
	"fmt"
	"sort"
	"strings"
)

// Prereleases says how Filter treats pre-releases and development releases.
type Prereleases int

const (
	// PrereleasesAuto is pip's default and PEP 440's: pre-releases are
	// admitted when a clause names one (see Specifiers.AllowsPrereleases)
	// or when no final or post-release satisfies the set.
	PrereleasesAuto Prereleases = iota
	// PrereleasesAllow admits every pre-release that satisfies the set,
	// like pip's --pre.
	PrereleasesAllow
	// PrereleasesDeny admits no pre-release, even one a clause names.
	PrereleasesDeny
)

// String returns "auto", "allow" or "deny".
func (p Prereleases) String() string {
	switch p {
	case PrereleasesAuto:
		return "auto"
	case PrereleasesAllow:
		return "allow"
	case PrereleasesDeny:
		return "deny"
	}
	return fmt.Sprintf("Prereleases(%d)", int(p))
}

// Specifiers is a version specifier: a set of clauses that must all hold,
// written comma-separated, such as ">=1.0,!=1.3.*,<2". The empty set
// matches every version.
type Specifiers []Specifier

// ParseSpecifiers parses a comma-separated version specifier. Empty clauses
// are skipped, so "" gives the empty set. Clauses that state the same
// constraint (">=1.0" and ">=1.0.0") are kept once, the first spelling
// winning, and the result is in the canonical order of String.
func ParseSpecifiers(s string) (Specifiers, error) {
	var ss Specifiers
	for _, part := range strings.Split(s, ",") {
		if strings.TrimFunc(part, pyIsSpace) == "" {
			continue
		}
		sp, reason := parseSpecifier(part)
		if reason != "" {
			return nil, fmt.Errorf("parsing specifier %q: %w: %q: %s", s, ErrInvalidSpecifier, strings.TrimFunc(part, pyIsSpace), reason)
		}
		ss = append(ss, sp)
	}
	return ss.canonical(), nil
}

// MustParseSpecifiers is like ParseSpecifiers but panics if s is invalid.
// It is meant for constants in tests and tables.
func MustParseSpecifiers(s string) Specifiers { return must(ParseSpecifiers(s)) }

// identity returns what makes two clauses the same constraint: the operator
// and the version, compared as versions except where the text matters (===
// compares text, a wildcard's trailing zeros matter, and so do ~='s).
func (s Specifier) identity() string {
	switch {
	case s.op == opArbitrary || s.wildcard:
		return operatorText[s.op] + "\x00" + s.text
	case s.op == opCompatible:
		return operatorText[s.op] + "\x00" + s.v.text
	default:
		return operatorText[s.op] + "\x01" + s.v.key
	}
}

// canonical returns the clauses without repeated constraints, sorted by
// their text.
func (ss Specifiers) canonical() Specifiers {
	if len(ss) == 0 {
		return nil
	}
	seen := make(map[string]bool, len(ss))
	out := make(Specifiers, 0, len(ss))
	for _, s := range ss {
		id := s.identity()
		if seen[id] {
			continue
		}
		seen[id] = true
		out = append(out, s)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

// String returns the clauses comma-separated, in sorted order, each as
// written: ">=1.0,<2" for "<2, >= 1.0". The empty set gives "".
func (ss Specifiers) String() string {
	parts := make([]string, len(ss))
	for i, s := range ss {
		parts[i] = s.String()
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

// AllowsPrereleases reports whether a clause admits pre-releases by itself,
// as ">=2.0b1" does (see Specifier.AllowsPrereleases).
func (ss Specifiers) AllowsPrereleases() bool {
	for _, s := range ss {
		if s.namesPre {
			return true
		}
	}
	return false
}

// Contains reports whether v satisfies every clause. A pre-release (or
// development release) v is admitted only when prereleases is true or a
// clause names a pre-release; for the PEP's fallback to pre-releases when
// nothing else matches, use Filter.
func (ss Specifiers) Contains(v Version, prereleases bool) bool {
	if !prereleases && v.IsPrerelease() && !ss.AllowsPrereleases() {
		return false
	}
	return ss.matches(v)
}

// matches applies every clause's operator, ignoring the pre-release policy.
func (ss Specifiers) matches(v Version) bool {
	for i := range ss {
		if !ss[i].matches(v) {
			return false
		}
	}
	return true
}

// Filter returns the versions of vs that satisfy the set, in their order,
// under the pre-release policy p. With PrereleasesAuto a pre-release is
// kept when a clause names one, or when no final or post-release of vs
// satisfies the set ("accept remotely available pre-releases for version
// specifiers where there is no final or post release that satisfies the
// version specifier", PEP 440).
func (ss Specifiers) Filter(vs []Version, p Prereleases) []Version {
	allow := p == PrereleasesAllow || (p == PrereleasesAuto && ss.AllowsPrereleases())
	var out, pre []Version
	for _, v := range vs {
		if !ss.matches(v) {
			continue
		}
		switch {
		case allow || !v.IsPrerelease():
			out = append(out, v)
		case p == PrereleasesAuto && len(out) == 0:
			pre = append(pre, v)
		}
	}
	if len(out) == 0 {
		return pre
	}
	return out
}

// Intersect returns the set of versions satisfying both ss and other: the
// clauses of both, without repeated constraints, in canonical order.
func (ss Specifiers) Intersect(other Specifiers) Specifiers {
	all := make(Specifiers, 0, len(ss)+len(other))
	all = append(all, ss...)
	return append(all, other...).canonical()
}

// And is Intersect, named after Python's & on specifier sets.
func (ss Specifiers) And(other Specifiers) Specifiers { return ss.Intersect(other) }
