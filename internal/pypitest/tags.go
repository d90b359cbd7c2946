package pypitest

import (
	"fmt"
	"regexp"
	"strings"
)

var tagPart = regexp.MustCompile(`^[A-Za-z0-9_]+$`)

// ExpandTags expands a compressed tag set such as "py2.py3-none-any" into its
// tags ("py2-none-any", "py3-none-any"), in the order a WHEEL file lists them.
func ExpandTags(compressed string) ([]string, error) {
	fields := strings.Split(compressed, "-")
	if len(fields) != 3 {
		return nil, fmt.Errorf("invalid tag set %q: want python-abi-platform", compressed)
	}
	var parts [3][]string
	for i, f := range fields {
		for _, p := range strings.Split(f, ".") {
			if !tagPart.MatchString(p) {
				return nil, fmt.Errorf("invalid tag set %q: bad component %q", compressed, p)
			}
			parts[i] = append(parts[i], p)
		}
	}
	var tags []string
	for _, py := range parts[0] {
		for _, abi := range parts[1] {
			for _, plat := range parts[2] {
				tags = append(tags, py+"-"+abi+"-"+plat)
			}
		}
	}
	return tags, nil
}

// isPurelib reports whether every tag of the set is pure Python
// (py*-none-any), which decides the WHEEL file's Root-Is-Purelib.
func isPurelib(tags []string) bool {
	for _, t := range tags {
		f := strings.Split(t, "-")
		if !strings.HasPrefix(f[0], "py") || f[1] != "none" || f[2] != "any" {
			return false
		}
	}
	return len(tags) > 0
}
