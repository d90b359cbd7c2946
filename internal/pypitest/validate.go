package pypitest

import (
	"fmt"
	"regexp"
	"strings"
)

var (
	validExtra = regexp.MustCompile(`^(?i:[a-z0-9]|[a-z0-9][a-z0-9._-]*[a-z0-9])$`)
	// requirementHead is the part of a PEP 508 requirement every line must
	// start with; the rest is left to the clients under test.
	requirementHead = regexp.MustCompile(`^\s*(?i:[a-z0-9]|[a-z0-9][a-z0-9._-]*[a-z0-9])\s*($|[\[(;@<>=!~ \t])`)
)

// Validate reports the first problem that would make the spec produce an
// index a strict client must reject: invalid or duplicate names, versions
// that are not canonical PEP 440, bad tag sets, negative sizes, and text that
// would break the line-based core metadata format.
func (idx *Index) Validate() error {
	if idx == nil {
		return fmt.Errorf("validating index: nil index")
	}
	projects := map[string]string{}
	for i := range idx.Projects {
		p := &idx.Projects[i]
		if err := checkName(p.Name); err != nil {
			return fmt.Errorf("validating project %d: %w", i, err)
		}
		if prev, dup := projects[Normalize(p.Name)]; dup {
			return fmt.Errorf("validating project %q: same normalized name as %q", p.Name, prev)
		}
		projects[Normalize(p.Name)] = p.Name
		if err := validateProject(p); err != nil {
			return fmt.Errorf("validating project %q: %w", p.Name, err)
		}
	}
	return nil
}

func validateProject(p *Project) error {
	versions := map[string]bool{}
	for i := range p.Releases {
		r := &p.Releases[i]
		if _, err := parseVersion(r.Version); err != nil {
			return err
		}
		if versions[r.Version] {
			return fmt.Errorf("duplicate version %q", r.Version)
		}
		versions[r.Version] = true
		if err := validateRelease(r); err != nil {
			return fmt.Errorf("validating release %q: %w", r.Version, err)
		}
	}
	return nil
}

func validateRelease(r *Release) error {
	if err := checkLine("requires_python", r.RequiresPython); err != nil {
		return err
	}
	if err := checkLine("yanked", r.Yanked); err != nil {
		return err
	}
	for _, req := range r.Requires {
		if err := checkLine("requirement", req); err != nil {
			return err
		}
		if !requirementHead.MatchString(req) {
			return fmt.Errorf("invalid requirement %q", req)
		}
	}
	for _, e := range r.Extras {
		if !validExtra.MatchString(e) {
			return fmt.Errorf("invalid extra %q", e)
		}
	}
	if r.SdistSize < 0 {
		return fmt.Errorf("negative sdist size %d", r.SdistSize)
	}
	if r.SdistSize > 0 && !r.Sdist {
		return fmt.Errorf("sdist size %d given without sdist", r.SdistSize)
	}
	tags := map[string]bool{}
	for _, w := range r.Wheels {
		if _, err := ExpandTags(w.Tags); err != nil {
			return err
		}
		if tags[w.Tags] {
			return fmt.Errorf("duplicate wheel tag set %q", w.Tags)
		}
		tags[w.Tags] = true
		if w.Size < 0 {
			return fmt.Errorf("negative wheel size %d for %q", w.Size, w.Tags)
		}
	}
	return nil
}

// checkLine rejects text that cannot sit on one core metadata header line or
// in a TOML or HTML attribute without changing meaning.
func checkLine(what, s string) error {
	if strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return fmt.Errorf("invalid %s %q: control character", what, s)
	}
	if strings.TrimSpace(s) != s {
		return fmt.Errorf("invalid %s %q: surrounding space", what, s)
	}
	return nil
}
