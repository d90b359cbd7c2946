package resolver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/larder-build/larder/resolver/dist"
	"github.com/larder-build/larder/resolver/pep517"

	"github.com/larder-build/larder/resolver/pep440"
	"github.com/larder-build/larder/resolver/pep508"
	"github.com/larder-build/larder/resolver/pylock"
	"github.com/larder-build/larder/resolver/pyproject"
	"github.com/larder-build/larder/resolver/reqfile"
	"github.com/larder-build/larder/resolver/simple"
	"github.com/larder-build/larder/resolver/target"
	"github.com/larder-build/larder/resolver/uvlock"
)

// Inputs are a project's requirements, read from its files.
type Inputs struct {
	Requirements []Requirement
	Constraints  []Requirement
	// Overrides are uv's override-dependencies, from a pyproject.toml or
	// a uv.lock's [manifest].
	Overrides []Override
	// Excludes are uv's exclude-dependencies, from a pyproject.toml or a
	// uv.lock's [manifest].
	Excludes []Exclude
	// StaticMetadata is uv's dependency-metadata, from a pyproject.toml
	// or a uv.lock's [manifest].
	StaticMetadata []StaticMetadata
	// Pinned reports that every requirement pins one exact version: the
	// inputs are already a closure (pip-compile output, uv.lock,
	// pylock.toml), so resolving them verifies them.
	Pinned bool
	// Files lists every file read.
	Files []string
	// Pre, OnlyBinary and NoBinary come from the files' option lines.
	Pre        bool
	OnlyBinary []string
	NoBinary   []string
	// Warnings are things accepted that were probably not meant.
	Warnings []string
	// RequiresPython are the Python versions the input files allow.
	RequiresPython []RequiresPython
}

// RequiresPython is a requires-python specifier set and the file that
// declares it.
type RequiresPython struct {
	File      string
	Specifier string
}

// InputOptions say how inputs are read.
type InputOptions struct {
	// IgnoreMissing turns a missing -r/-c file into a warning.
	IgnoreMissing bool
	// Extras and Groups select optional dependencies and PEP 735
	// dependency groups of a pyproject.toml, of the members of a uv.lock
	// or of a pylock.toml (its `extras` and `dependency_groups` markers);
	// without Groups, a pyproject.toml's uv default-groups and a
	// pylock.toml's default-groups apply (a uv.lock does not record them:
	// no group is taken).
	Extras []string
	Groups []string
	// Python runs a pyproject.toml's build backend when its dependencies
	// are dynamic and not setuptools file references; "" refuses them.
	Python string
}

// ReadInputs reads requirement files (pip requirement files,
// pyproject.toml, uv.lock or pylock.toml) and constraint files.
func ReadInputs(requirements, constraints []string, o InputOptions) (*Inputs, error) {
	return ReadInputsContext(context.Background(), requirements, constraints, o)
}

// ReadInputsContext is ReadInputs that stops, with ctx's error, once ctx
// is done: a huge requirement tree must not outlive an interrupt.
func ReadInputsContext(ctx context.Context, requirements, constraints []string, o InputOptions) (*Inputs, error) {
	in := &Inputs{Pinned: len(requirements) > 0}
	ignoreMissing := o.IgnoreMissing
	var opts []reqfile.Option
	if ignoreMissing {
		opts = append(opts, reqfile.IgnoreMissing())
	}
	for _, name := range requirements {
		base := filepath.Base(name)
		switch {
		case base == "pylock.toml" || strings.HasPrefix(base, "pylock.") && strings.HasSuffix(base, ".toml"):
			if err := in.readPylock(name, o); err != nil {
				return nil, err
			}
		case base == "pyproject.toml":
			if err := in.readPyproject(ctx, name, o, opts); err != nil {
				return nil, err
			}
		case base == "uv.lock":
			if err := in.readUVLock(name, o); err != nil {
				return nil, err
			}
		default:
			f, err := reqfile.ParseFileContext(ctx, name, opts...)
			if err != nil {
				return nil, err
			}
			if err := in.addReqfile(f, false); err != nil {
				return nil, err
			}
		}
	}
	for _, name := range constraints {
		f, err := reqfile.ParseFileContext(ctx, name, opts...)
		if err != nil {
			return nil, err
		}
		if err := in.addReqfile(f, true); err != nil {
			return nil, err
		}
	}
	if err := checkGitSources(in.Requirements, in.Constraints); err != nil {
		return nil, err
	}
	return in, nil
}

func (in *Inputs) addReqfile(f *reqfile.File, asConstraints bool) error {
	in.Files = append(in.Files, f.Files...)
	for _, w := range f.Warnings {
		in.Warnings = append(in.Warnings, w.String())
	}
	in.Pre = in.Pre || f.Options.Pre
	in.OnlyBinary = append(in.OnlyBinary, f.Options.OnlyBinary...)
	in.NoBinary = append(in.NoBinary, f.Options.NoBinary...)
	for _, r := range f.Constraints {
		c, err := convert(r)
		if err != nil {
			return err
		}
		in.Constraints = append(in.Constraints, c)
	}
	for _, r := range f.Requirements {
		c, err := convert(r)
		if err != nil {
			return err
		}
		if asConstraints {
			in.Constraints = append(in.Constraints, c)
			continue
		}
		if !isExactPin(c.Specifiers) && c.VCS == nil {
			in.Pinned = false
		}
		in.Requirements = append(in.Requirements, c)
	}
	return nil
}

func convert(r reqfile.Requirement) (Requirement, error) {
	if r.Req == nil {
		return Requirement{}, fmt.Errorf("%s: %s: a requirement without a project name is not supported; write it as \"name @ %s\"", r.Source, r.Raw, r.URL)
	}
	if r.Editable || r.LocalPath != "" {
		return Requirement{}, fmt.Errorf("%s: %s: local and editable requirements are not supported yet", r.Source, r.Raw)
	}
	req := *r.Req
	req.Marker = r.Marker
	req.Extras = r.Extras
	if r.URL != "" {
		req.URL = r.URL
	}
	out := Requirement{Requirement: req, Source: r.Source.String(), Hashes: r.Hashes}
	if r.VCS != nil {
		if r.VCS.Kind != "git" {
			return Requirement{}, fmt.Errorf("%s: %s: only git is supported among version control systems, not %s", r.Source, r.Raw, r.VCS.Kind)
		}
		out.VCS = &VCS{URL: r.VCS.URL, Rev: r.VCS.Rev, Subdirectory: r.VCS.Subdirectory}
		// A fork's version comes from its checkout, not from a pin.
		out.Specifiers = nil
	}
	return out, nil
}

func isExactPin(ss pep440.Specifiers) bool {
	return len(ss) == 1 && isPin(ss)
}

// readPylock takes a PEP 751 lock as pinned requirements: every package
// the chosen extras and groups install (by default the lock's
// default-groups) at its version, with its file hashes as --hash pins.
func (in *Inputs) readPylock(name string, o InputOptions) error {
	l, err := pylock.Load(name)
	if err != nil {
		return err
	}
	in.Files = append(in.Files, name)
	choice, err := l.Choose(o.Extras, o.Groups)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	read, local := len(in.Requirements), 0
	for i, p := range l.Packages {
		src := fmt.Sprintf("%s: packages[%d] (%s)", name, i, p.Name)
		marker, installed, err := choice.Settle(p.Marker)
		if err != nil {
			return fmt.Errorf("%s: %w", src, err)
		}
		if !installed {
			continue
		}
		p.Marker = marker
		switch {
		case p.Directory != nil:
			local++
			continue // the project itself, or a local tree: nothing to fetch
		case p.Archive != nil:
			where := p.Archive.Path
			if p.Archive.URL != "" {
				where = simple.RedactURL(p.Archive.URL)
			}
			return fmt.Errorf("%s: a source archive (%s) is not supported yet: larder takes packages from indexes and git; name its git repository, or upload a wheel built from it to an index", src, where)
		case p.VCS != nil:
			if p.VCS.Type != "git" {
				return fmt.Errorf("%s: only git is supported among version control systems, not %s", src, p.VCS.Type)
			}
			r, err := pep508.ParseRequirement(p.Name + markerSuffix(p.Marker))
			if err != nil {
				return fmt.Errorf("%s: %w", src, err)
			}
			rev := p.VCS.CommitID
			if rev == "" {
				rev = p.VCS.RequestedRevision
			}
			in.Requirements = append(in.Requirements, Requirement{Requirement: r, Source: src,
				VCS: &VCS{URL: p.VCS.URL, Rev: rev, Subdirectory: p.VCS.Subdirectory}})
			continue
		case p.Version == "":
			return fmt.Errorf("%s: a package from an index needs a version", src)
		}
		text := p.Name + "==" + p.Version
		r, err := pep508.ParseRequirement(text + markerSuffix(p.Marker))
		if err != nil {
			return fmt.Errorf("%s: %w", src, err)
		}
		req := Requirement{Requirement: r, Source: src}
		files := append(p.Wheels, derefFile(p.Sdist)...)
		for _, f := range files {
			if h := f.Hashes["sha256"]; h != "" {
				req.Hashes = append(req.Hashes, "sha256:"+h)
			}
		}
		if f, ok := onlyLocal(files); ok {
			return fmt.Errorf("%s: its files are local (%s), with no URL; larder fetches from indexes and git, not from local files", src, f.Path)
		}
		in.Requirements = append(in.Requirements, req)
	}
	if len(in.Requirements) == read {
		if local > 0 {
			return fmt.Errorf("%s: nothing to fetch: the lock's packages for the chosen extras and groups are local folders (%d), which larder does not fetch", name, local)
		}
		if len(l.Packages) > 0 {
			return fmt.Errorf("%s: none of the lock's %d packages is installed with the chosen extras and groups", name, len(l.Packages))
		}
		return errors.New(name + ": the lock has no packages")
	}
	return nil
}

// onlyLocal returns a file of files given by a local path, when none of
// them has a URL.
func onlyLocal(files []pylock.File) (pylock.File, bool) {
	var local pylock.File
	for _, f := range files {
		if f.URL != "" {
			return pylock.File{}, false
		}
		if f.Path != "" && local.Path == "" {
			local = f
		}
	}
	return local, local.Path != ""
}

func derefFile(f *pylock.File) []pylock.File {
	if f == nil {
		return nil
	}
	return []pylock.File{*f}
}

// readPyproject takes a pyproject.toml's dependencies (with the chosen
// extras and groups) as loose requirements, uv's constraint-dependencies
// as constraints, and its git sources as forks.
//
// Dynamic dependencies that setuptools reads from requirement files
// ([tool.setuptools.dynamic] file = ...) are read from those files,
// relative to the pyproject.toml, with their own -r and -c lines.
func (in *Inputs) readPyproject(ctx context.Context, name string, o InputOptions, opts []reqfile.Option) error {
	p, err := pyproject.Load(name)
	if err != nil {
		return err
	}
	in.Files = append(in.Files, name)
	if p.RequiresPython != "" {
		in.RequiresPython = append(in.RequiresPython, RequiresPython{File: name, Specifier: p.RequiresPython})
	}
	groups := o.Groups
	if groups == nil && p.UV != nil {
		groups = p.UV.DefaultGroups
	}
	reqs, err := p.Requirements(o.Extras, groups)
	var dyn *pyproject.DynamicError
	if errors.As(err, &dyn) {
		return in.readBuiltMetadata(ctx, name, p, dyn, o)
	}
	if err != nil {
		return err
	}
	files, err := p.DynamicFiles(o.Extras)
	if err != nil {
		return err
	}
	nreq, ncons := len(in.Requirements), len(in.Constraints)
	for _, f := range files {
		rf, err := reqfile.ParseFileContext(ctx, filepath.Join(filepath.Dir(name), filepath.FromSlash(f)), opts...)
		if err != nil {
			return fmt.Errorf("%s: reading a dynamic dependency file of [tool.setuptools.dynamic]: %w", name, err)
		}
		if err := in.addReqfile(rf, false); err != nil {
			return err
		}
	}
	// An extra's file usually includes the dependencies' file (-r
	// base.txt): what several files say is kept once.
	in.Requirements = append(in.Requirements[:nreq], uniqueRequirements(in.Requirements[nreq:])...)
	in.Constraints = append(in.Constraints[:ncons], uniqueRequirements(in.Constraints[ncons:])...)
	in.Pinned = false
	sources := map[string][]pyproject.Source{}
	if p.UV != nil {
		sources = p.UV.Sources
		for _, c := range p.UV.ConstraintDependencies {
			in.Constraints = append(in.Constraints, Requirement{Requirement: c.Requirement, Source: fmt.Sprintf("%s:%d", name, c.Line)})
		}
		for _, o := range p.UV.OverrideDependencies {
			in.Overrides = append(in.Overrides, Override{Requirement: Requirement{Requirement: o.Requirement, Source: fmt.Sprintf("%s:%d", name, o.Line)}})
		}
		for _, so := range p.UV.ScopedOverrides {
			for _, o := range so.Dependencies {
				in.Overrides = append(in.Overrides, Override{Requirement: Requirement{Requirement: o.Requirement, Source: fmt.Sprintf("%s:%d", name, o.Line)},
					Scope: so.Name, ScopeVersion: so.Version})
			}
		}
		in.addExcludes(p.UV.ExcludeDependencies, name+": [tool.uv] exclude-dependencies")
		in.addStaticMetadata(p.UV.DependencyMetadata, name+": [[tool.uv.dependency-metadata]]")
	}
	for _, r := range reqs {
		req := Requirement{Requirement: r.Requirement, Source: fmt.Sprintf("%s:%d", name, r.Line)}
		for _, src := range sources[r.NormalizedName()] {
			switch src.Kind() {
			case "git":
				rev := src.Rev
				if rev == "" {
					rev = src.Tag
				}
				if rev == "" {
					rev = src.Branch
				}
				req.VCS = &VCS{URL: strings.TrimPrefix(src.Git, "git+"), Rev: rev, Subdirectory: src.Subdirectory}
				req.Specifiers = nil
			case "index":
				// Served by the configured indexes; pinning a project to a
				// named index is configured in larder.toml.
				in.Warnings = append(in.Warnings, fmt.Sprintf("%s: [tool.uv.sources] %s: index %q is not followed; the project comes from the configured indexes",
					req.Source, r.NormalizedName(), src.Index))
			default:
				return fmt.Errorf("%s: [tool.uv.sources] %s: %s sources are not supported yet", req.Source, r.NormalizedName(), src.Kind())
			}
		}
		in.Requirements = append(in.Requirements, req)
	}
	return nil
}

// addExcludes adds uv's exclusions, read from source.
func (in *Inputs) addExcludes(ex uvlock.Excludes, source string) {
	for _, n := range ex.Global {
		in.Excludes = append(in.Excludes, Exclude{Name: n, Source: source})
	}
	for _, s := range ex.Scoped {
		for _, n := range s.Dependencies {
			in.Excludes = append(in.Excludes, Exclude{Name: n, Scope: s.Name, ScopeVersion: s.Version, Source: source})
		}
	}
}

// addStaticMetadata adds uv's dependency-metadata, read from source.
func (in *Inputs) addStaticMetadata(ms []uvlock.StaticMetadata, source string) {
	for _, m := range ms {
		in.StaticMetadata = append(in.StaticMetadata, StaticMetadata{StaticMetadata: m, Source: source})
	}
}

// readUVLock takes from a uv.lock what uv sync would install with the
// chosen extras and groups: the members' edges as requirements (git
// packages pinned to their locked commit), and every package the
// selection reaches constrained to its locked version (under the markers
// of its forks when the selection reaches several versions), so that
// resolving reproduces uv's closure for each target. Packages the
// selection cannot reach are left out: nothing is fetched for them.
func (in *Inputs) readUVLock(name string, o InputOptions) error {
	l, err := uvlock.Load(name)
	if err != nil {
		return err
	}
	in.Files = append(in.Files, name)
	in.Pinned = false
	if l.RequiresPython != "" {
		in.RequiresPython = append(in.RequiresPython, RequiresPython{File: name, Specifier: l.RequiresPython})
	}
	sel, err := l.Select(o.Extras, o.Groups)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	// The lock's versions were chosen under its overrides: resolving
	// them again needs the same.
	addOverride := func(r uvlock.Requirement, scope, version string) error {
		pr, err := pep508.ParseRequirement(r.PEP508())
		if err != nil {
			return fmt.Errorf("%s: [manifest] overrides: %s: %w", name, r.PEP508(), err)
		}
		in.Overrides = append(in.Overrides, Override{Requirement: Requirement{Requirement: pr, Source: name + ": [manifest] overrides"}, Scope: scope, ScopeVersion: version})
		return nil
	}
	for _, r := range l.Manifest.Overrides {
		if err := addOverride(r, "", ""); err != nil {
			return err
		}
	}
	for _, so := range l.Manifest.ScopedOverrides {
		for _, r := range so.Dependencies {
			if err := addOverride(r, so.Name, so.Version); err != nil {
				return err
			}
		}
	}
	in.addExcludes(l.Manifest.Excludes, name+": [manifest] excludes")
	in.addStaticMetadata(l.Manifest.DependencyMetadata, name+": [[manifest.dependency-metadata]]")
	for _, r := range sel.Roots {
		p := r.Package
		text := p.Name
		if len(r.Extras) > 0 {
			text += "[" + strings.Join(r.Extras, ",") + "]"
		}
		if r.Marker != nil {
			text += " ; " + r.Marker.String()
		}
		pr, err := pep508.ParseRequirement(text)
		if err != nil {
			return fmt.Errorf("%s: %s: %w", name, r.From, err)
		}
		req := Requirement{Requirement: pr, Source: fmt.Sprintf("%s: %s", name, r.From)}
		switch p.Source.Kind {
		case uvlock.SourceGit:
			g, err := p.Source.Git()
			if err != nil {
				return fmt.Errorf("%s: package %s: %w", name, p.Name, err)
			}
			if g.Path != "" {
				return fmt.Errorf("%s: package %s: git sources with path (an archive inside the repository, %s) are not supported yet", name, p.Name, g.Path)
			}
			req.VCS = &VCS{URL: g.URL, Rev: g.Commit, Subdirectory: g.Subdirectory}
		case uvlock.SourceRegistry:
		default:
			return fmt.Errorf("%s: package %s: %s sources are not supported yet", name, p.Name, p.Source.Kind)
		}
		in.Requirements = append(in.Requirements, req)
	}
	byName := map[string][]uvlock.Reached{}
	var order []string
	for _, r := range sel.Packages {
		if r.Package.Source.Kind != uvlock.SourceRegistry {
			continue
		}
		n := r.Package.Name
		if byName[n] == nil {
			order = append(order, n)
		}
		byName[n] = append(byName[n], r)
	}
	for _, n := range order {
		rs := byName[n]
		for _, r := range rs {
			text := n + "==" + r.Package.Version
			if len(rs) > 1 {
				if len(r.Markers) == 0 {
					// Versions the lock does not tell apart by fork:
					// resolution picks among them.
					continue
				}
				var ms []string
				for _, m := range r.Markers {
					ms = append(ms, "("+m.String()+")")
				}
				text += " ; " + strings.Join(ms, " or ")
			}
			c, err := pep508.ParseRequirement(text)
			if err != nil {
				return fmt.Errorf("%s: package %s: %w", name, n, err)
			}
			in.Constraints = append(in.Constraints, Requirement{Requirement: c, Source: name})
		}
	}
	return nil
}

// readBuiltMetadata takes a project's requirements from the metadata its
// build backend reports through the PEP 517 hook
// prepare_metadata_for_build_wheel, run by o.Python: the only way to know
// dynamic dependencies other than setuptools' file references.
func (in *Inputs) readBuiltMetadata(ctx context.Context, name string, p *pyproject.Project, dyn *pyproject.DynamicError, o InputOptions) error {
	if o.Python == "" {
		return fmt.Errorf("%s: %w; larder runs the backend's prepare_metadata_for_build_wheel hook when given a Python with the build requirements, "+
			"or reads requirement files or a uv.lock instead, or setuptools' [tool.setuptools.dynamic] file references", name, dyn)
	}
	raw, err := pep517.Metadata(ctx, o.Python, filepath.Dir(name))
	if err != nil {
		return fmt.Errorf("%s: %w, and running its prepare_metadata_for_build_wheel hook failed: %w", name, dyn, err)
	}
	md, err := dist.ParseMetadata(bytes.NewReader(raw))
	if err != nil {
		return fmt.Errorf("%s: reading the metadata its build backend prepared: %w", name, err)
	}
	provided := map[string]bool{}
	for _, e := range md.ProvidesExtra {
		provided[dist.NormalizeName(e)] = true
	}
	chosen := map[string]bool{}
	for _, e := range o.Extras {
		n := dist.NormalizeName(e)
		if !provided[n] {
			var known []string
			for k := range provided {
				known = append(known, k)
			}
			sort.Strings(known)
			return fmt.Errorf("%s: unknown extra %q: the built metadata provides %s", name, e, strings.Join(known, ", "))
		}
		chosen[n] = true
	}
	decide := func(variable, op, value string) (bool, bool) {
		if variable != pep508.Extra || op != "==" && op != "!=" {
			return false, false
		}
		return chosen[dist.NormalizeName(value)] == (op == "=="), true
	}
	for i, text := range md.RequiresDist {
		r, err := pep508.ParseRequirement(text)
		if err != nil {
			return fmt.Errorf("%s: built metadata Requires-Dist[%d]: %w", name, i, err)
		}
		rest, never := r.Marker.Partial(decide)
		if never {
			continue
		}
		r.Marker = rest
		in.Requirements = append(in.Requirements, Requirement{Requirement: r, Source: fmt.Sprintf("%s: built metadata Requires-Dist[%d]", name, i)})
	}
	if md.RequiresPython != "" {
		in.RequiresPython = append(in.RequiresPython, RequiresPython{File: name + " (built metadata)", Specifier: md.RequiresPython})
	}
	in.Pinned = false
	return nil
}

// CheckTargets refuses a target whose Python the input files do not
// allow (their requires-python), naming both: a lock made for it would
// describe an installation the project forbids.
func (in *Inputs) CheckTargets(targets []target.Target) error {
	for _, rp := range in.RequiresPython {
		ss, err := pep440.ParseSpecifiers(rp.Specifier)
		if err != nil {
			return fmt.Errorf("%s: requires-python %q: %w", rp.File, rp.Specifier, err)
		}
		for _, t := range targets {
			if !AllowsPython(ss, t.Python) {
				return fmt.Errorf("target %s: Python %s is outside requires-python %q of %s", t, t.Python, rp.Specifier, rp.File)
			}
		}
	}
	return nil
}

// AllowsPython reports whether a requires-python specifier set allows p;
// a p without a patch level (a target's "3.12") stands for any 3.12.x, so
// it is allowed when its first or a late patch release is.
func AllowsPython(ss pep440.Specifiers, p target.Python) bool {
	if p.Patch >= 0 {
		return ss.Contains(pep440.MustParse(p.Full()), true)
	}
	for _, patch := range []int{0, 99} {
		v := target.Python{Major: p.Major, Minor: p.Minor, Patch: patch}
		if ss.Contains(pep440.MustParse(v.Full()), true) {
			return true
		}
	}
	return false
}

func uniqueRequirements(rs []Requirement) []Requirement {
	seen := map[string]bool{}
	var out []Requirement
	for _, r := range rs {
		key := r.String()
		if r.VCS != nil {
			key += " @ " + r.VCS.URL + "@" + r.VCS.Rev + "#" + r.VCS.Subdirectory
		}
		if seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, r)
	}
	return out
}

func markerSuffix(m string) string {
	if m == "" {
		return ""
	}
	return " ; " + m
}
