package build

import (
	"fmt"
	"regexp"
)

// aptPackage is what apt-get install takes as one package: a Debian
// package name (lowercase letters, digits, '+', '.' and '-', at least two
// characters, starting with a letter or digit), optionally ":ARCH" and
// "=VERSION" (Debian's version characters: letters, digits, '.', '+',
// '~', ':' and '-').
var aptPackage = regexp.MustCompile(`^[a-z0-9][a-z0-9+.-]+(:[a-z0-9][a-z0-9-]*)?(=[A-Za-z0-9][A-Za-z0-9.+~:-]*)?$`)

// CheckAptPackage refuses anything but one Debian package for apt-get
// install (NAME, NAME:ARCH, NAME=VERSION or NAME:ARCH=VERSION): the
// packages of [build.NAME] apt go into a Dockerfile RUN line, where a
// newline would add instructions and a space, ';' or '$' shell words.
func CheckAptPackage(p string) error {
	if !aptPackage.MatchString(p) {
		return fmt.Errorf("%q is not a Debian package for apt-get install: want NAME, NAME:ARCH or NAME=VERSION, such as libxml2-dev (a name is lowercase letters, digits, '+', '.' and '-')", p)
	}
	return nil
}
