package pypitest

import (
	"fmt"
	"regexp"
	"strings"
)

// validName is the project name rule of the core metadata specification.
var validName = regexp.MustCompile(`^(?i:[a-z0-9]|[a-z0-9][a-z0-9._-]*[a-z0-9])$`)

var nameSeparators = regexp.MustCompile(`[-_.]+`)

// Normalize returns the PEP 503 normalized form of a project name, the form
// used in /simple/<name>/ URLs.
func Normalize(name string) string {
	return strings.ToLower(nameSeparators.ReplaceAllString(name, "-"))
}

// FilenameName returns the project name as it appears in wheel and sdist
// file names and in the .dist-info directory: normalized, with every run of
// separators written as "_" (the binary distribution format and PEP 625),
// so that "-" only ever separates the fields of a file name.
func FilenameName(name string) string {
	return strings.ReplaceAll(Normalize(name), "-", "_")
}

// moduleName is the importable package each generated distribution ships.
func moduleName(name string) string {
	return FilenameName(name)
}

func checkName(name string) error {
	if !validName.MatchString(name) {
		return fmt.Errorf("invalid project name %q", name)
	}
	return nil
}

// WheelFilename returns the file name of the wheel of project at version
// with the compressed tag set tags.
func WheelFilename(project, version, tags string) string {
	return FilenameName(project) + "-" + version + "-" + tags + ".whl"
}

// SdistFilename returns the PEP 625 file name of the sdist of project at version.
func SdistFilename(project, version string) string {
	return FilenameName(project) + "-" + version + ".tar.gz"
}
