package distname

import (
	"fmt"
	"strconv"
	"strings"
)

// WheelName is a parsed wheel filename,
// NAME-VERSION[-BUILD]-PYTHON-ABI-PLATFORM.whl.
type WheelName struct {
	// Name is the project name as the filename spells it: escaped, with
	// "_" for runs of "-_.", and in older wheels with "." and capitals.
	// Compare it with NormalizeName.
	Name string
	// Version is the version as written; parse it with resolver/pep440.
	Version string
	// Build is the optional build tag, "" when absent; it starts with a digit.
	Build string
	// TagSet is the compressed tag set as written, e.g. "py2.py3-none-any";
	// resolver/dist expands it.
	TagSet string
}

// maxBuildDigits keeps a build number within an int; real ones are small.
const maxBuildDigits = 18

// ParseWheelName parses a wheel filename (a base name, not a path or URL).
//
// The project name must be made of ASCII letters, digits, "_" and "." with
// no "__" (which escaping never produces). The version is not parsed, only
// checked to start as every PEP 440 version does, with a digit or "v" and
// a digit, which catches names that carry an unescaped "-". The tag set is
// only cut out, not checked.
func ParseWheelName(filename string) (WheelName, error) {
	stem, ok := strings.CutSuffix(filename, ".whl")
	if !ok {
		return WheelName{}, fmt.Errorf("wheel filename %q: want the .whl extension", filename)
	}
	parts := strings.Split(stem, "-")
	if len(parts) != 5 && len(parts) != 6 {
		return WheelName{}, fmt.Errorf("wheel filename %q: want NAME-VERSION[-BUILD]-PYTHON-ABI-PLATFORM.whl, found %d dash-separated parts", filename, len(parts))
	}
	w := WheelName{Name: parts[0], Version: parts[1]}
	if err := checkWheelProject(w.Name); err != nil {
		return WheelName{}, fmt.Errorf("wheel filename %q: %w", filename, err)
	}
	if err := checkVersionStart(w.Version); err != nil {
		return WheelName{}, fmt.Errorf("wheel filename %q: %w", filename, err)
	}
	if len(parts) == 6 {
		w.Build = parts[2]
		if err := checkBuild(w.Build); err != nil {
			return WheelName{}, fmt.Errorf("wheel filename %q: %w", filename, err)
		}
	}
	n := len(stem)
	for range 3 {
		n = strings.LastIndexByte(stem[:n], '-')
	}
	w.TagSet = stem[n+1:]
	return w, nil
}

func checkWheelProject(name string) error {
	if name == "" {
		return fmt.Errorf("empty project name")
	}
	if strings.Contains(name, "__") {
		return fmt.Errorf("project name %q: \"__\" is not an escaped name", name)
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; !isAlnum(c) && c != '_' && c != '.' {
			return fmt.Errorf("project name %q: character %q is not allowed", name, c)
		}
	}
	if !isAlnum(name[0]) || !isAlnum(name[len(name)-1]) {
		return fmt.Errorf("project name %q: must start and end with a letter or digit", name)
	}
	return nil
}

// checkVersionStart rejects what cannot be a version without parsing it:
// the caller does that with the PEP 440 package.
func checkVersionStart(v string) error {
	if v == "" {
		return fmt.Errorf("empty version")
	}
	d := v
	if d[0] == 'v' || d[0] == 'V' {
		d = d[1:]
	}
	if d == "" || d[0] < '0' || d[0] > '9' {
		return fmt.Errorf("version %q: must start with a digit", v)
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; !isAlnum(c) && !strings.ContainsRune("._!+", rune(c)) {
			return fmt.Errorf("version %q: character %q is not allowed", v, c)
		}
	}
	return nil
}

func checkBuild(b string) error {
	digits := leadingDigits(b)
	if digits == 0 {
		return fmt.Errorf("build tag %q: must start with a digit", b)
	}
	if digits > maxBuildDigits {
		return fmt.Errorf("build tag %q: number too large", b)
	}
	for i := digits; i < len(b); i++ {
		if c := b[i]; !isAlnum(c) && c != '_' && c != '.' {
			return fmt.Errorf("build tag %q: character %q is not allowed", b, c)
		}
	}
	return nil
}

func leadingDigits(s string) int {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i
}

// String returns the filename the wheel name was parsed from.
func (w WheelName) String() string {
	var b strings.Builder
	b.Grow(len(w.Name) + len(w.Version) + len(w.Build) + len(w.TagSet) + 8)
	b.WriteString(w.Name)
	b.WriteByte('-')
	b.WriteString(w.Version)
	if w.Build != "" {
		b.WriteByte('-')
		b.WriteString(w.Build)
	}
	b.WriteByte('-')
	b.WriteString(w.TagSet)
	b.WriteString(".whl")
	return b.String()
}

// Project returns the normalized project name.
func (w WheelName) Project() string {
	return NormalizeName(w.Name)
}

// BuildNumber splits the build tag into its leading number and the rest,
// the two keys the specification sorts build tags by. A wheel without a
// build tag gives (-1, ""), which sorts before every build tag as the
// specification's empty tuple does.
func (w WheelName) BuildNumber() (int, string) {
	d := leadingDigits(w.Build)
	if d == 0 {
		return -1, ""
	}
	n, err := strconv.Atoi(w.Build[:d])
	if err != nil {
		return -1, "" // only for a WheelName not made by ParseWheelName
	}
	return n, w.Build[d:]
}
