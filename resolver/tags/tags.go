package tags

import (
	"fmt"
	"slices"
	"strings"
)

// Tag is one compatibility tag triple, such as cp311-cp311-manylinux_2_17_x86_64.
// Parsed tags are lower case, as installers compare them.
type Tag struct {
	Interpreter string // "cp311", "py3"
	ABI         string // "cp311", "abi3", "none"
	Platform    string // "manylinux_2_17_x86_64", "any"
}

// String returns the tag as written in a wheel filename,
// e.g. "cp311-cp311-manylinux_2_17_x86_64".
func (t Tag) String() string {
	return t.Interpreter + "-" + t.ABI + "-" + t.Platform
}

// maxTagSetSize bounds the expansion of one compressed tag set: real wheels
// carry a handful of tags, and a filename of dotted garbage must not expand
// into millions.
const maxTagSetSize = 4096

// ParseTagSet expands a compressed tag set, such as "py2.py3-none-any" or
// "cp311-abi3-manylinux_2_17_x86_64.manylinux2014_x86_64", into its tags in
// the order the specification's nested loops give (interpreters, then ABIs,
// then platforms), without duplicates and lower-cased.
//
// Each component must be non-empty and made of ASCII letters, digits and
// underscores: the specification replaces every other character of a
// platform name with an underscore, and "-" and "." are separators.
func ParseTagSet(s string) ([]Tag, error) {
	parts := strings.Split(s, "-")
	if len(parts) != 3 {
		return nil, fmt.Errorf("tag set %q: want PYTHON-ABI-PLATFORM, e.g. py3-none-any", s)
	}
	var sets [3][]string
	for i, p := range parts {
		set, err := splitTagPart(p)
		if err != nil {
			return nil, fmt.Errorf("tag set %q: %w", s, err)
		}
		sets[i] = set
	}
	if n := len(sets[0]) * len(sets[1]) * len(sets[2]); n > maxTagSetSize {
		return nil, fmt.Errorf("tag set %q: expands to %d tags, more than the %d allowed", s, n, maxTagSetSize)
	}
	out := make([]Tag, 0, len(sets[0])*len(sets[1])*len(sets[2]))
	for _, in := range sets[0] {
		for _, abi := range sets[1] {
			for _, pl := range sets[2] {
				out = append(out, Tag{in, abi, pl})
			}
		}
	}
	return out, nil
}

// splitTagPart splits one dotted part of a tag set, checks and lower-cases
// its components and drops repeats, which would only yield duplicate tags.
func splitTagPart(p string) ([]string, error) {
	comps := strings.Split(p, ".")
	if len(comps) > maxTagSetSize {
		return nil, fmt.Errorf("%d tags in %q, more than the %d allowed", len(comps), p, maxTagSetSize)
	}
	out := comps[:0]
	var seen map[string]bool // only for long sets; short ones are scanned
	if len(comps) > 16 {
		seen = make(map[string]bool, len(comps))
	}
	for _, c := range comps {
		if c == "" {
			return nil, fmt.Errorf("empty tag in %q", p)
		}
		for i := 0; i < len(c); i++ {
			if !isTagByte(c[i]) {
				return nil, fmt.Errorf("tag %q: character %q is not a letter, digit or underscore", c, c[i])
			}
		}
		c = lowerASCII(c)
		if seen != nil {
			if seen[c] {
				continue
			}
			seen[c] = true
		} else if slices.Contains(out, c) {
			continue
		}
		out = append(out, c)
	}
	return out, nil
}

func isTagByte(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= '0' && b <= '9' || b == '_' || b >= 'A' && b <= 'Z'
}

// lowerASCII lower-cases s, allocating only when s has an upper-case letter
// (which real tags never have).
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] >= 'A' && s[i] <= 'Z' {
			return strings.ToLower(s)
		}
	}
	return s
}
