package pyproject

import (
	"errors"
	"fmt"
	"github.com/larder-build/larder/resolver/dist"
	"strings"
)

// Requirements returns the loose requirements of installing the project
// with the given extras and dependency groups, in this order: [project]
// dependencies, each extra's optional dependencies, each group's expanded
// requirements (the "dev" group also takes tool.uv.dev-dependencies, as uv
// does). Names are matched normalized; an unknown extra or group is an error.
//
// A requirement on the project itself, such as `myproject[postgres,redis]`
// (a common way to combine extras), stands for those extras' requirements
// and is replaced by them. A requirement that appears twice (same parsed
// form) is kept once, where it first appears. Dynamic dependencies (or
// optional dependencies, when extras are asked for) are an error unless
// setuptools file references give them; see DynamicFiles.
func (p *Project) Requirements(extras []string, groups []string) ([]Requirement, error) {
	// A dynamic list is filled in by the build backend: reading the file
	// alone would silently miss requirements. setuptools' file references
	// are requirement files the caller reads (DynamicFiles).
	if _, err := p.DynamicFiles(extras); err != nil {
		return nil, err
	}
	c := &collector{p: p, self: dist.NormalizeName(p.Name), seen: map[string]bool{}, extrasDone: map[string]bool{}}
	if err := c.add(p.Dependencies); err != nil {
		return nil, err
	}
	for _, e := range extras {
		if _, static := p.OptionalDependencies[dist.NormalizeName(e)]; !static && p.isDynamic("optional-dependencies") {
			continue // in the extra's files
		}
		if err := c.extra(dist.NormalizeName(e)); err != nil {
			return nil, located(p.File, "", 0, err)
		}
	}
	for _, g := range groups {
		name := dist.NormalizeName(g)
		group, ok := p.DependencyGroups[name]
		var dev []Requirement
		if name == "dev" && p.UV != nil {
			dev = p.UV.DevDependencies
		}
		if !ok && dev == nil {
			return nil, located(p.File, "", 0, fmt.Errorf("unknown dependency group %q: %s", g, known(p.groupNames())))
		}
		if err := c.add(group.Expanded); err != nil {
			return nil, err
		}
		if err := c.add(dev); err != nil {
			return nil, err
		}
	}
	return c.out, nil
}

type collector struct {
	p          *Project
	self       string
	seen       map[string]bool
	extrasDone map[string]bool
	out        []Requirement
}

func (c *collector) extra(name string) error {
	if c.extrasDone[name] {
		return nil
	}
	reqs, ok := c.p.OptionalDependencies[name]
	if !ok {
		return fmt.Errorf("unknown extra %q: %s", name, known(sortedKeys(c.p.OptionalDependencies)))
	}
	c.extrasDone[name] = true
	return c.add(reqs)
}

func (c *collector) add(reqs []Requirement) error {
	for _, r := range reqs {
		if c.p.HasProject && r.NormalizedName() == c.self {
			// Expanding extras under a marker would need marker
			// conjunction; nobody writes that, so it is refused, not
			// guessed.
			if r.Marker != nil {
				return located(c.p.File, r.Key, r.Line, fmt.Errorf("%q: a requirement on the project itself with a marker is not supported", r.Raw))
			}
			for _, e := range r.Extras {
				if err := c.extra(e); err != nil {
					return located(c.p.File, r.Key, r.Line, err)
				}
			}
			continue
		}
		key := r.Requirement.String()
		if c.seen[key] {
			continue
		}
		c.seen[key] = true
		c.out = append(c.out, r)
	}
	return nil
}

// located places err in the file unless it already is an *Error.
func located(file, key string, line int, err error) error {
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	return &Error{File: file, Line: line, Key: key, Err: err}
}

func (p *Project) groupNames() []string {
	names := sortedKeys(p.DependencyGroups)
	if p.UV != nil && len(p.UV.DevDependencies) > 0 {
		if _, ok := p.DependencyGroups["dev"]; !ok {
			names = append(names, "dev")
		}
	}
	return names
}

func known(names []string) string {
	if len(names) == 0 {
		return "the project defines none"
	}
	return "known are " + strings.Join(names, ", ")
}
