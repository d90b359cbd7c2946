package pypitest

import (
	"fmt"
	"regexp"
	"strings"
)

var (
	extraClause = regexp.MustCompile(`extra\s*==\s*(?:"([^"]*)"|'([^']*)')`)
	extraWord   = regexp.MustCompile(`\bextra\b`)
	andExtra    = regexp.MustCompile(`^(.*?)\s+and\s+X$`)
	extraAnd    = regexp.MustCompile(`^X\s+and\s+(.*)$`)
	orWord      = regexp.MustCompile(`\bor\b`)
)

// pyprojectTOML writes a pyproject.toml with static [project] metadata equal
// to the release's core metadata; requirements conditional on an extra move
// to [project.optional-dependencies], where setuptools adds the extra marker
// back.
func pyprojectTOML(p *Project, r *Release) ([]byte, error) {
	var deps []string
	optional := map[string][]string{}
	var extras []string
	for _, e := range r.Extras {
		if _, ok := optional[e]; !ok {
			optional[e] = nil
			extras = append(extras, e)
		}
	}
	for _, req := range r.Requires {
		extra, rest, err := splitExtra(req)
		if err != nil {
			return nil, err
		}
		if extra == "" {
			deps = append(deps, req)
			continue
		}
		if _, ok := optional[extra]; !ok {
			extras = append(extras, extra)
		}
		optional[extra] = append(optional[extra], rest)
	}
	var b strings.Builder
	b.WriteString("[build-system]\nrequires = [\"setuptools\"]\nbuild-backend = \"setuptools.build_meta\"\n\n")
	fmt.Fprintf(&b, "[project]\nname = %s\nversion = %s\ndescription = %s\n", tomlString(p.Name), tomlString(r.Version), tomlString(summary(p, r)))
	if r.RequiresPython != "" {
		fmt.Fprintf(&b, "requires-python = %s\n", tomlString(r.RequiresPython))
	}
	fmt.Fprintf(&b, "dependencies = %s\n", tomlArray(deps))
	if len(extras) > 0 {
		b.WriteString("\n[project.optional-dependencies]\n")
		for _, e := range extras {
			fmt.Fprintf(&b, "%s = %s\n", tomlString(e), tomlArray(optional[e]))
		}
	}
	// Naming the package keeps setuptools' discovery away from padding.bin.
	fmt.Fprintf(&b, "\n[tool.setuptools]\npackages = [%s]\n", tomlString(moduleName(p.Name)))
	return []byte(b.String()), nil
}

// splitExtra returns the extra a requirement is conditional on and the
// requirement without that clause, or "" and the requirement when it has no
// extra. It handles "extra == 'x'" alone or joined by "and" to the rest of a
// marker without a top-level "or"; anything else has no faithful static
// pyproject.toml form and is an error.
func splitExtra(req string) (extra, rest string, err error) {
	spec, marker, found := strings.Cut(req, ";")
	if !found || !extraWord.MatchString(marker) {
		return "", req, nil
	}
	marker = strings.TrimSpace(marker)
	locs := extraClause.FindAllStringSubmatchIndex(marker, -1)
	if len(locs) != 1 {
		return "", "", fmt.Errorf("requirement %q: want exactly one `extra == \"...\"` clause", req)
	}
	l := locs[0]
	if l[2] >= 0 {
		extra = marker[l[2]:l[3]]
	} else {
		extra = marker[l[4]:l[5]]
	}
	shape := marker[:l[0]] + "X" + marker[l[1]:]
	var others string
	switch {
	case shape == "X" || shape == "(X)":
	case andExtra.MatchString(shape):
		others = andExtra.FindStringSubmatch(shape)[1]
	case extraAnd.MatchString(shape):
		others = extraAnd.FindStringSubmatch(shape)[1]
	default:
		return "", "", fmt.Errorf("requirement %q: extra clause not at the top level of the marker", req)
	}
	if others != "" && orWord.MatchString(others) && !parenthesized(others) {
		return "", "", fmt.Errorf("requirement %q: marker mixes `or` with the extra clause", req)
	}
	rest = strings.TrimSpace(spec)
	if others != "" {
		rest += "; " + others
	}
	return extra, rest, nil
}

// parenthesized reports whether s is one group "( ... )" as a whole.
func parenthesized(s string) bool {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "(") || !strings.HasSuffix(s, ")") {
		return false
	}
	depth := 0
	for i, c := range s {
		switch c {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 && i != len(s)-1 {
				return false
			}
		}
	}
	return depth == 0
}

// tomlString quotes s as a TOML basic string.
func tomlString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, "\\u%04X", r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func tomlArray(items []string) string {
	quoted := make([]string, len(items))
	for i, s := range items {
		quoted[i] = tomlString(s)
	}
	return "[" + strings.Join(quoted, ", ") + "]"
}
