package uvlock

import (
	"fmt"
	"github.com/larder-build/larder/resolver/dist"
	"github.com/larder-build/larder/resolver/gitsrc"
	"github.com/larder-build/larder/resolver/tomldoc"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/larder-build/larder/resolver/pep440"
	"github.com/larder-build/larder/resolver/pep508"
)

// SupportedVersion is the uv.lock format version this package reads.
const SupportedVersion = 1

var schema = tomldoc.Schema[*Lock]{What: "uv lock", Read: readLock}

// Load reads and checks the uv.lock at path. Errors name the file, the line
// and the key, such as `uv.lock:57: package[4].wheels[2].hash: ...`.
func Load(path string) (*Lock, error) { return schema.Load(path) }

// Decode reads and checks a uv.lock document; errors name the line and key.
func Decode(r io.Reader) (*Lock, error) { return schema.Decode(r) }

func readLock(t *tomldoc.Table) *Lock {
	l := &Lock{}
	if !t.Has("version") {
		t.P.Addf("version", "missing required key")
		return l
	}
	l.Version = t.Integer("version")
	if l.Version != SupportedVersion {
		if _, isInt := t.M["version"].(int64); isInt {
			t.P.Addf("version", "unsupported uv.lock version %d: this reader knows version %d", l.Version, SupportedVersion)
		}
		return l // another format version may mean anything below
	}
	l.Revision = t.Integer("revision")
	l.RequiresPython = t.Str("requires-python")
	if l.RequiresPython != "" {
		if _, err := pep440.ParseSpecifiers(l.RequiresPython); err != nil {
			t.P.Add(t.P.X.Wrap("requires-python", err))
		}
	}
	l.ResolutionMarkers = markers(t, "resolution-markers")
	l.SupportedMarkers = markers(t, "supported-markers")
	l.RequiredMarkers = markers(t, "required-markers")
	l.Conflicts = conflicts(t)
	if ot := t.Sub("options"); ot != nil {
		l.Options = Options{
			ResolutionMode: ot.Str("resolution-mode"),
			PrereleaseMode: ot.Str("prerelease-mode"),
			ExcludeNewer:   ot.Str("exclude-newer"),
		}
	}
	if mt := t.Sub("manifest"); mt != nil {
		l.Manifest = Manifest{
			Members:      mt.Strs("members"),
			Requirements: requirements(mt, "requirements"),
			Constraints:  requirements(mt, "constraints"),
		}
		l.Manifest.Overrides, l.Manifest.ScopedOverrides = overrides(mt)
		l.Manifest.DependencyGroups = tableMap(mt, "dependency-groups", readRequirement)
		l.Manifest.Excludes = ReadExcludes(mt, "excludes")
		l.Manifest.DependencyMetadata = ReadDependencyMetadata(mt, "dependency-metadata")
	}
	if t.Has("distribution") && !t.Has("package") {
		// uv before 0.3 wrote version 1 locks with [[distribution]]
		// tables, which uv itself no longer reads.
		t.P.Addf("distribution", "a uv.lock from uv before 0.3 ([[distribution]] tables, not [[package]]): run 'uv lock' with a current uv to rewrite it")
		return l
	}
	l.Packages = tomldoc.ReadTables(t, "package", readPackage)
	checkReferences(t, l)
	return l
}

func markers(t *tomldoc.Table, key string) []string {
	ms := t.Strs(key)
	for i, m := range ms {
		checkMarker(t.P, tomldoc.IndexKey(t.KeyPath(key), i), m)
	}
	return ms
}

func checkMarker(p *tomldoc.Problems, path, m string) {
	if _, err := pep508.ParseMarker(m); err != nil {
		p.Add(p.X.Wrap(path, err))
	}
}

func conflicts(t *tomldoc.Table) [][]ConflictItem {
	v, ok := t.M["conflicts"]
	if !ok {
		return nil
	}
	path := t.KeyPath("conflicts")
	sets, ok := v.([]any)
	if !ok {
		t.WrongType(path, "an array of conflict sets", v)
		return nil
	}
	var out [][]ConflictItem
	for i, s := range sets {
		members, ok := s.([]any)
		if !ok {
			t.WrongType(tomldoc.IndexKey(path, i), "an array of conflict items", s)
			continue
		}
		var set []ConflictItem
		for j, e := range members {
			m, ok := e.(map[string]any)
			if !ok {
				t.WrongType(tomldoc.IndexKey(tomldoc.IndexKey(path, i), j), "a table", e)
				continue
			}
			it := &tomldoc.Table{P: t.P, Path: tomldoc.IndexKey(tomldoc.IndexKey(path, i), j), M: m}
			set = append(set, ConflictItem{Package: it.Str("package"), Extra: it.Str("extra"), Group: it.Str("group")})
		}
		out = append(out, set)
	}
	return out
}

func readPackage(t *tomldoc.Table) Package {
	p := Package{
		Name:              t.RequiredStr("name"),
		Version:           t.Str("version"),
		ResolutionMarkers: markers(t, "resolution-markers"),
	}
	if p.Name != "" && !dist.ValidName(p.Name) {
		t.P.Addf(t.KeyPath("name"), "invalid project name %q", p.Name)
	}
	if st := t.Sub("source"); st != nil {
		p.Source = readSource(st)
	} else if !t.Has("source") {
		t.P.Addf(t.KeyPath("source"), "missing required key")
	}
	if p.Version != "" {
		if _, err := pep440.Parse(p.Version); err != nil {
			t.P.Add(t.P.X.Wrap(t.KeyPath("version"), err))
		}
	} else if p.Source.Kind == SourceRegistry || p.Source.Kind == SourceGit || p.Source.Kind == SourceURL {
		t.P.Addf(t.KeyPath("version"), "missing: required for a %s source", p.Source.Kind)
	}
	p.Dependencies = tomldoc.ReadTables(t, "dependencies", readDependency)
	p.OptionalDependencies = tableMap(t, "optional-dependencies", readDependency)
	p.DevDependencies = tableMap(t, "dev-dependencies", readDependency)
	if st := t.Sub("sdist"); st != nil {
		// A package from a URL, a local archive or an archive in a git
		// repository is its own sdist: uv writes only the hash (and
		// size), the location being the source's, such as
		// `sdist = { hash = "sha256:..." }`.
		f := readFile(st, !p.isArchive())
		p.Sdist = &f
	}
	p.Wheels = tomldoc.ReadTables(t, "wheels", func(wt *tomldoc.Table) File { return readFile(wt, true) })
	if mt := t.Sub("metadata"); mt != nil {
		p.Metadata = Metadata{
			RequiresDist:   requirements(mt, "requires-dist"),
			ProvidesExtras: mt.Strs("provides-extras"),
		}
		p.Metadata.RequiresDev = tableMap(mt, "requires-dev", readRequirement)
	}
	return p
}

// isArchive reports whether the package's source is an archive: a URL, a
// local file, or a file in a git repository (a git source with a path).
func (p *Package) isArchive() bool {
	switch p.Source.Kind {
	case SourceURL, SourcePath:
		return true
	case SourceGit:
		g, err := parseGit(p.Source.Value)
		return err == nil && g.Path != ""
	}
	return false
}

// readSource reads source = { KIND = "value" }, with exactly one kind.
func readSource(t *tomldoc.Table) Source {
	var s Source
	var kinds []string
	for _, k := range SourceKinds {
		if t.Has(k) {
			kinds = append(kinds, k)
			s.Kind, s.Value = k, t.Str(k)
		}
	}
	s.Subdirectory = t.Str("subdirectory")
	if err := gitsrc.CheckSubdirectory(s.Subdirectory); err != nil {
		t.P.Add(t.P.X.Wrap(t.KeyPath("subdirectory"), err))
	}
	switch len(kinds) {
	case 0:
		t.P.Addf(t.Path, "a source needs one of %s", strings.Join(SourceKinds, ", "))
	case 1:
		if s.Kind == SourceGit {
			if _, err := parseGit(s.Value); err != nil {
				t.P.Add(t.P.X.Wrap(t.KeyPath("git"), err))
			}
		}
	default:
		t.P.Addf(t.Path, "a source has one kind, not %s", strings.Join(kinds, " and "))
	}
	return s
}

func readDependency(t *tomldoc.Table) Dependency {
	d := Dependency{
		Name:    t.RequiredStr("name"),
		Version: t.Str("version"),
		Extra:   t.Strs("extra"),
		Marker:  t.Str("marker"),
	}
	d.Source = tomldoc.ReadTable(t, "source", readSource)
	if d.Marker != "" {
		checkMarker(t.P, t.KeyPath("marker"), d.Marker)
	}
	return d
}

// tableMap reads key = { NAME = [{...}, ...], ... }, uv's form for extras and
// groups, with read for each table; nil when key is absent.
func tableMap[T any](t *tomldoc.Table, key string, read func(*tomldoc.Table) T) map[string][]T {
	mt := t.Sub(key)
	if mt == nil {
		return nil
	}
	out := map[string][]T{}
	for _, name := range sortedKeys(mt.M) {
		out[name] = tomldoc.ReadTables(mt, name, read)
	}
	return out
}

// readFile reads a file table; located says it must name where the file
// is (url, path or filename).
func readFile(t *tomldoc.Table, located bool) File {
	f := File{
		URL:      t.Str("url"),
		Path:     t.Str("path"),
		Filename: t.Str("filename"),
		Hash:     t.Str("hash"),
		Size:     t.Integer("size"),
	}
	if located && f.URL == "" && f.Path == "" && f.Filename == "" {
		t.P.Addf(t.Path, "missing url, path or filename")
	}
	if t.Has("hash") {
		if err := checkHash(f.Hash); err != nil {
			t.P.Add(t.P.X.Wrap(t.KeyPath("hash"), err))
		}
	}
	if f.Size < 0 {
		t.P.Addf(t.KeyPath("size"), "negative size %d", f.Size)
	}
	// uv writes upload-time as a quoted RFC 3339 string; a TOML datetime
	// is taken too.
	if v, ok := t.M["upload-time"]; ok {
		if s, isStr := v.(string); isStr {
			ut, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				t.P.Addf(t.KeyPath("upload-time"), "invalid upload time %q: want RFC 3339 such as \"2024-03-22T14:39:36.863Z\"", s)
			}
			f.UploadTime = ut
		} else {
			f.UploadTime = t.Datetime("upload-time")
		}
	}
	return f
}

// checkHash checks uv's "algorithm:hexdigest" form.
func checkHash(h string) error {
	alg, digest, ok := strings.Cut(h, ":")
	if !ok || alg == "" || !isHex(digest) || len(digest)%2 != 0 {
		return fmt.Errorf("invalid hash %q: want ALGORITHM:HEXDIGEST such as \"sha256:...\"", h)
	}
	switch alg {
	case "md5", "sha256", "sha384", "sha512":
	default:
		return fmt.Errorf("invalid hash %q: unknown algorithm %q", h, alg)
	}
	return nil
}

// overrides reads [manifest] overrides: requirement tables, and tables
// with a package key for an override scoped to that package's
// dependencies.
func overrides(mt *tomldoc.Table) (global []Requirement, scoped []ScopedOverride) {
	for _, t := range mt.Tables("overrides") {
		pt := t.Sub("package")
		if pt == nil {
			if !t.Has("package") { // else Sub said what is wrong with it
				global = append(global, readRequirement(t))
			}
			continue
		}
		o := ScopedOverride{Name: pt.RequiredStr("name"), Version: pt.Str("version")}
		if o.Name != "" && !dist.ValidName(o.Name) {
			t.P.Addf(pt.KeyPath("name"), "invalid project name %q", o.Name)
		}
		if o.Version != "" {
			if _, err := pep440.Parse(o.Version); err != nil {
				t.P.Add(t.P.X.Wrap(pt.KeyPath("version"), err))
			}
		}
		if !t.Has("dependencies") {
			// An override scoped to a package that overrides nothing is
			// a mistake, as in pyproject.toml.
			t.P.Addf(t.KeyPath("dependencies"), "missing required key")
		}
		o.Dependencies = requirements(t, "dependencies")
		scoped = append(scoped, o)
	}
	return global, scoped
}

func requirements(t *tomldoc.Table, key string) []Requirement {
	return tomldoc.ReadTables(t, key, readRequirement)
}

func readRequirement(t *tomldoc.Table) Requirement {
	r := Requirement{
		Name:         t.RequiredStr("name"),
		Extras:       t.Strs("extras"),
		Specifier:    t.Str("specifier"),
		Marker:       t.Str("marker"),
		Index:        t.Str("index"),
		Git:          t.Str("git"),
		URL:          t.Str("url"),
		Path:         t.Str("path"),
		Directory:    t.Str("directory"),
		Editable:     t.Str("editable"),
		Virtual:      t.Str("virtual"),
		Subdirectory: t.Str("subdirectory"),
	}
	if r.Name != "" {
		if _, err := pep508.ParseRequirement(r.PEP508()); err != nil {
			t.P.Add(t.P.X.Wrap(t.Path, err))
		}
	}
	if r.Git != "" {
		if err := checkRequirementGit(r.Git); err != nil {
			t.P.Add(t.P.X.Wrap(t.KeyPath("git"), err))
		}
	}
	if err := gitsrc.CheckSubdirectory(r.Subdirectory); err != nil {
		t.P.Add(t.P.X.Wrap(t.KeyPath("subdirectory"), err))
	}
	return r
}

// checkReferences checks that every dependency names a package of the lock
// (and a version of it, when it gives one).
func checkReferences(t *tomldoc.Table, l *Lock) {
	versions := map[string][]string{}
	for _, p := range l.Packages {
		versions[p.Name] = append(versions[p.Name], p.Version)
	}
	check := func(path string, d Dependency) {
		vs, ok := versions[d.Name]
		switch {
		case d.Name == "":
		case !ok:
			t.P.Addf(path, "dependency on %q, which is not in the lock", d.Name)
		case d.Version != "" && slices.Index(vs, d.Version) < 0:
			t.P.Addf(path, "dependency on %s %s, which is not in the lock (it has %s)", d.Name, d.Version, strings.Join(vs, ", "))
		case d.Version == "" && len(vs) > 1:
			t.P.Addf(path, "dependency on %q is ambiguous: the lock has versions %s", d.Name, strings.Join(vs, ", "))
		}
	}
	for i, p := range l.Packages {
		ppath := tomldoc.IndexKey("package", i)
		for j, d := range p.Dependencies {
			check(tomldoc.IndexKey(tomldoc.JoinKey(ppath, "dependencies"), j), d)
		}
		for _, kind := range []string{"optional-dependencies", "dev-dependencies"} {
			m := p.OptionalDependencies
			if kind == "dev-dependencies" {
				m = p.DevDependencies
			}
			for _, name := range sortedKeys(m) {
				for j, d := range m[name] {
					check(tomldoc.IndexKey(tomldoc.JoinKey(tomldoc.JoinKey(ppath, kind), name), j), d)
				}
			}
		}
	}
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
