package pylock

import (
	"strings"

	"github.com/larder-build/larder/resolver/pep508"
)

// checkMarker validates an environment marker expression with pep508.
//
// PEP 751 adds two marker variables for locks, `extras` and
// `dependency_groups` (sets of names, used as `'test' in
// dependency_groups`). pep508 does not know them, so for this syntax check
// they stand in as `extra`, which takes the same `"x" in VAR` forms.
func checkMarker(s string) error {
	if _, err := pep508.ParseMarker(lockMarkerVariables(s)); err != nil {
		if lockMarkerVariables(s) != s {
			_, err = pep508.ParseMarker(s) // report the marker as written
			if err == nil {
				return nil
			}
		}
		return err
	}
	return nil
}

// lockMarkerVariables replaces the PEP 751 variables outside quoted strings.
func lockMarkerVariables(s string) string {
	var b strings.Builder
	var quote byte
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case isIdentStart(c) && (i == 0 || !isIdent(s[i-1])):
			j := i
			for j < len(s) && isIdent(s[j]) {
				j++
			}
			switch s[i:j] {
			case "extras", "dependency_groups":
				b.WriteString("extra")
			default:
				b.WriteString(s[i:j])
			}
			i = j
			continue
		}
		b.WriteByte(c)
		i++
	}
	return b.String()
}

func isIdentStart(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' }
func isIdent(c byte) bool      { return isIdentStart(c) || c >= '0' && c <= '9' || c == '.' }
