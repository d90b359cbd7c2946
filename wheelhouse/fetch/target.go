package fetch

import (
	"fmt"
	"strings"

	"github.com/larder-build/larder/resolver/pylock"
)

// Target picks one of the lock's targets: the one named, in full or by a
// leading part that only it has ("linux/amd64", "linux/amd64:3.11"), or
// the only one when want is "". Otherwise the error is a *TargetError.
func Target(l *pylock.Lock, want string) (string, error) {
	names := l.Targets()
	if len(names) == 0 {
		return "", &TargetError{Want: want}
	}
	if want == "" {
		if len(names) == 1 {
			return names[0], nil
		}
		return "", &TargetError{Targets: names}
	}
	var match []string
	for _, n := range names {
		if n == want {
			return n, nil
		}
		// A leading part ends at a field: "linux/amd64" or
		// "linux/amd64:3.11" names "linux/amd64:3.11.2:glibc2.36", and
		// "linux/amd" names nothing.
		if rest, ok := strings.CutPrefix(n, want); ok && (rest[0] == ':' || rest[0] == '.') {
			match = append(match, n)
		}
	}
	if len(match) == 1 {
		return match[0], nil
	}
	return "", &TargetError{Want: want, Targets: names, Matches: match}
}

// TargetError reports a target name that picks none or several of the
// lock's targets, or a lock that records none.
type TargetError struct {
	// Want is the name asked for ("" for none).
	Want string
	// Targets are the lock's; Matches those Want names, when several.
	Targets, Matches []string
}

func (e *TargetError) Error() string {
	switch {
	case len(e.Targets) == 0:
		return "the lock names no targets"
	case e.Want == "":
		return fmt.Sprintf("the lock has %d targets: %s", len(e.Targets), strings.Join(e.Targets, ", "))
	case len(e.Matches) > 1:
		return fmt.Sprintf("target %s: the lock has several such targets: %s", e.Want, strings.Join(e.Matches, ", "))
	}
	return fmt.Sprintf("target %s: the lock has no such target; its targets: %s", e.Want, strings.Join(e.Targets, ", "))
}
