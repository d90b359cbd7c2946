package distname

import (
	"fmt"
	"regexp"
	"strings"
)

// SdistName is a parsed source distribution filename, NAME-VERSION.EXT.
type SdistName struct {
	// Name is the project name as the filename spells it. PEP 625 names are
	// normalized with "_" for "-"; legacy ones may be anything, dashes
	// included. Compare it with NormalizeName.
	Name string
	// Version is the version as written; legacy sdists may have versions
	// that are not PEP 440 (and may contain "-").
	Version string
	// Ext is the archive extension as written, with its leading dot:
	// ".tar.gz", ".zip", ".tar.bz2", ".tgz", ...
	Ext string
}

// sdistExts are the archive forms pip unpacks as source distributions. The
// ".tar.*" forms come before ".tar" and pip, like this, matches case.
var sdistExts = []string{
	".tar.gz", ".zip", ".tar.bz2", ".tgz", ".tar.xz", ".tbz", ".txz",
	".tlz", ".tar.lz", ".tar.lzma", ".tar",
}

// splitSdistExt cuts a known archive extension off a filename.
func splitSdistExt(filename string) (stem, ext string, ok bool) {
	for _, e := range sdistExts {
		if stem, ok := strings.CutSuffix(filename, e); ok && stem != "" {
			return stem, e, true
		}
	}
	return "", "", false
}

// ParseSdistName parses a source distribution filename for a known project.
// The name and version are split at the first "-" whose left side
// normalizes to the project's name, which is how pip reads legacy
// filenames where both sides may contain dashes ("python-dateutil-2.8.2.tar.gz").
func ParseSdistName(filename, project string) (SdistName, error) {
	stem, ext, ok := splitSdistExt(filename)
	if !ok {
		return SdistName{}, fmt.Errorf("sdist filename %q: want an archive extension such as .tar.gz or .zip", filename)
	}
	want := NormalizeName(project)
	if want == "" {
		return SdistName{}, fmt.Errorf("sdist filename %q: empty project name", filename)
	}
	for i := 0; i < len(stem); i++ {
		if stem[i] != '-' || NormalizeName(stem[:i]) != want {
			continue
		}
		if i+1 == len(stem) {
			return SdistName{}, fmt.Errorf("sdist filename %q: no version after the project name", filename)
		}
		return SdistName{Name: stem[:i], Version: stem[i+1:], Ext: ext}, nil
	}
	return SdistName{}, fmt.Errorf("sdist filename %q: not NAME-VERSION for project %q", filename, project)
}

// pep440 is the version pattern of the version specifiers specification
// (its appendix), anchored and case-insensitive; only GuessSdistName uses
// it, to tell where a name ends.
var pep440 = regexp.MustCompile(`(?i)^v?(?:[0-9]+!)?[0-9]+(?:\.[0-9]+)*` +
	`(?:[-_.]?(?:a|b|c|rc|alpha|beta|pre|preview)[-_.]?[0-9]*)?` +
	`(?:-[0-9]+|[-_.]?(?:post|rev|r)[-_.]?[0-9]*)?` +
	`(?:[-_.]?dev[-_.]?[0-9]*)?` +
	`(?:\+[a-z0-9]+(?:[-_.][a-z0-9]+)*)?$`)

// GuessSdistName parses a source distribution filename without knowing the
// project, at best effort. The version is what follows a "-" and is a whole
// PEP 440 version: the leftmost such with a "." in it, which keeps legacy
// versions with dashes whole ("django-googlecharts-1.0-alpha-1"), else the
// rightmost, for names with number parts ("square-1-4-9" is square-1-4 at
// 9); failing all, what follows the last "-" and a digit
// ("plonetheme-python-0.1dev-r57597"). Use ParseSdistName when the project
// is known.
func GuessSdistName(filename string) (SdistName, error) {
	stem, ext, ok := splitSdistExt(filename)
	if !ok {
		return SdistName{}, fmt.Errorf("sdist filename %q: want an archive extension such as .tar.gz or .zip", filename)
	}
	split := func(i int) (SdistName, error) {
		return SdistName{Name: stem[:i], Version: stem[i+1:], Ext: ext}, nil
	}
	lastVersion, lastDigit := -1, -1
	for i := 1; i+1 < len(stem); i++ {
		if stem[i] != '-' {
			continue
		}
		rest := stem[i+1:]
		if pep440.MatchString(rest) {
			if strings.Contains(rest, ".") {
				return split(i)
			}
			lastVersion = i
		}
		if c := rest[0]; c >= '0' && c <= '9' {
			lastDigit = i
		}
	}
	switch {
	case lastVersion >= 0:
		return split(lastVersion)
	case lastDigit >= 0:
		return split(lastDigit)
	}
	return SdistName{}, fmt.Errorf("sdist filename %q: no NAME-VERSION split", filename)
}

// String returns the filename the sdist name was parsed from.
func (s SdistName) String() string {
	return s.Name + "-" + s.Version + s.Ext
}

// Project returns the normalized project name.
func (s SdistName) Project() string {
	return NormalizeName(s.Name)
}
