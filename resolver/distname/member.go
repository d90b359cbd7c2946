package distname

import (
	"fmt"
	"strings"
)

// CheckMemberPath refuses the path of a distribution archive's member
// (a wheel's or an sdist's) that an installer would write outside the
// folder it installs or unpacks into, or that names different files on
// different systems: absolute (a leading "/"), with a ".." segment, a
// backslash (a separator on Windows), a drive letter ("C:") or a NUL.
// pip refuses such a wheel when it installs it; a server or a fetch that
// keeps one has kept a file nobody can install.
func CheckMemberPath(name string) error {
	why := ""
	switch {
	case name == "":
		why = "an empty name"
	case strings.HasPrefix(name, "/"):
		why = "an absolute path"
	case strings.ContainsRune(name, 0):
		why = "a NUL byte"
	case strings.ContainsRune(name, '\\'):
		why = "a backslash, a separator on Windows"
	case len(name) >= 2 && name[1] == ':' && ('a' <= name[0]|0x20 && name[0]|0x20 <= 'z'):
		why = "a drive letter"
	default:
		for seg := range strings.SplitSeq(name, "/") {
			if seg == ".." {
				why = "a .. segment"
				break
			}
		}
	}
	if why == "" {
		return nil
	}
	return fmt.Errorf("member %q: %s: installers refuse a member outside the folder they unpack into", name, why)
}
