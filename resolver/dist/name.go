package dist

import (
	"strings"

	"github.com/larder-build/larder/resolver/distname"
)

// NormalizeName returns the PEP 503 normalized form of a project name, as
// distname.NormalizeName does: "Zope.Interface" and "zope_interface" give
// "zope-interface".
func NormalizeName(s string) string { return distname.NormalizeName(s) }

// ValidName reports whether s is a valid project name, as
// distname.ValidName does.
func ValidName(s string) bool { return distname.ValidName(s) }

// SdistName is a parsed source distribution filename, NAME-VERSION.EXT.
type SdistName = distname.SdistName

// ParseSdistName parses a source distribution filename for a known
// project, as distname.ParseSdistName does.
func ParseSdistName(filename, project string) (SdistName, error) {
	return distname.ParseSdistName(filename, project)
}

// GuessSdistName parses a source distribution filename without knowing
// the project, at best effort, as distname.GuessSdistName does.
func GuessSdistName(filename string) (SdistName, error) {
	return distname.GuessSdistName(filename)
}

// FileName returns name, or else the last part of url, or else of path
// (after the last '/' or '\'): the file name a lock entry gives or implies.
func FileName(name, url, path string) string {
	if name != "" {
		return name
	}
	s := url
	if s == "" {
		s = path
	}
	if i := strings.LastIndexAny(s, "/\\"); i >= 0 {
		return s[i+1:]
	}
	return s
}
