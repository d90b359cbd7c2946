package wheelhouse

import (
	"bytes"
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Requirements renders the entries one target installs as a pip
// requirements file: a line per project, pinned with ==, carrying the
// sha256 of every file the wheelhouse holds for it on that target, sorted by
// project. The entries are a complete closure (fetch.Closure), so pip can
// install the file with --no-deps, which skips its resolver, and in
// hash-checking mode, which --hash turns on. Forks and sdist-only projects
// appear by name and version with the hash of the wheel larder built, so
// pip takes that wheel instead of cloning or building. Entries with no
// Targets belong to every target. header lines are written first, each
// prefixed with "# ". It returns the file and how many projects it pins.
func Requirements(entries []Entry, target string, header ...string) ([]byte, int, error) {
	type pin struct {
		version string
		hashes  []string
	}
	pins := map[string]*pin{}
	for _, e := range entries {
		if len(e.Targets) > 0 && !slices.Contains(e.Targets, target) {
			continue
		}
		if e.Project == "" || e.Version == "" || e.SHA256 == "" {
			return nil, 0, fmt.Errorf("requirements for %s: %s has no project, version or sha256 in the manifest", target, e.Filename)
		}
		p := pins[e.Project]
		switch {
		case p == nil:
			pins[e.Project] = &pin{version: e.Version, hashes: []string{e.SHA256}}
		case p.version != e.Version:
			return nil, 0, fmt.Errorf("requirements for %s: %s is in the closure twice, as %s and %s", target, e.Project, p.version, e.Version)
		case !slices.Contains(p.hashes, e.SHA256):
			p.hashes = append(p.hashes, e.SHA256)
		}
	}
	if len(pins) == 0 {
		return nil, 0, fmt.Errorf("requirements for %s: the closure installs nothing on this target", target)
	}
	names := make([]string, 0, len(pins))
	for name := range pins {
		names = append(names, name)
	}
	sort.Strings(names)
	var b bytes.Buffer
	for _, h := range header {
		b.WriteString(strings.TrimRight("# "+h, " ") + "\n")
	}
	for _, name := range names {
		p := pins[name]
		sort.Strings(p.hashes)
		fmt.Fprintf(&b, "%s==%s", name, p.version)
		for _, h := range p.hashes {
			fmt.Fprintf(&b, " \\\n    --hash=sha256:%s", h)
		}
		b.WriteByte('\n')
	}
	return b.Bytes(), len(names), nil
}
