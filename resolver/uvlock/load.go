package uvlock

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/larder-build/larder/resolver/pep440"
	"github.com/larder-build/larder/resolver/pep508"
	toml "github.com/pelletier/go-toml/v2"
)

// SupportedVersion is the uv.lock format version this package reads.
const SupportedVersion = 1

// Load reads and checks the uv.lock at path. Errors name the file, the line
// and the key, such as `uv.lock:57: package[4].wheels[2].hash: ...`.
func Load(path string) (*Lock, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading uv lock: %w", err)
	}
	return decode(path, data)
}

// Decode reads and checks a uv.lock document; errors name the line and key.
func Decode(r io.Reader) (*Lock, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("reading uv lock: %w", err)
	}
	return decode("", data)
}

func decode(file string, data []byte) (*Lock, error) {
	x := indexKeyLines(file, data)
	var doc map[string]any
	if err := toml.NewDecoder(bytes.NewReader(data)).Decode(&doc); err != nil {
		return nil, x.decodeError(err)
	}
	p := &problems{x: x}
	l := readLock(&table{p: p, m: doc})
	if err := p.err(); err != nil {
		return nil, err
	}
	return l, nil
}

func readLock(t *table) *Lock {
	l := &Lock{}
	if !t.has("version") {
		t.p.addf("version", "missing required key")
		return l
	}
	l.Version = t.integer("version")
	if l.Version != SupportedVersion {
		if _, isInt := t.m["version"].(int64); isInt {
			t.p.addf("version", "unsupported uv.lock version %d: this reader knows version %d", l.Version, SupportedVersion)
		}
		return l // another format version may mean anything below
	}
	l.Revision = t.integer("revision")
	l.RequiresPython = t.str("requires-python")
	if l.RequiresPython != "" {
		if _, err := pep440.ParseSpecifiers(l.RequiresPython); err != nil {
			t.p.add(t.p.x.wrap("requires-python", err))
		}
	}
	l.ResolutionMarkers = markers(t, "resolution-markers")
	l.SupportedMarkers = markers(t, "supported-markers")
	l.RequiredMarkers = markers(t, "required-markers")
	l.Conflicts = conflicts(t)
	if ot := t.sub("options"); ot != nil {
		l.Options = Options{
			ResolutionMode: ot.str("resolution-mode"),
			PrereleaseMode: ot.str("prerelease-mode"),
			ExcludeNewer:   ot.str("exclude-newer"),
		}
	}
	if mt := t.sub("manifest"); mt != nil {
		l.Manifest = Manifest{
			Members:      mt.strs("members"),
			Requirements: requirements(mt, "requirements"),
			Constraints:  requirements(mt, "constraints"),
			Overrides:    requirements(mt, "overrides"),
		}
		if gt := mt.sub("dependency-groups"); gt != nil {
			l.Manifest.DependencyGroups = map[string][]Requirement{}
			for _, g := range sortedKeys(gt.m) {
				l.Manifest.DependencyGroups[g] = requirements(gt, g)
			}
		}
	}
	for _, pt := range t.tables("package") {
		l.Packages = append(l.Packages, readPackage(pt))
	}
	checkReferences(t, l)
	return l
}

func markers(t *table, key string) []string {
	ms := t.strs(key)
	for i, m := range ms {
		checkMarker(t.p, indexKey(t.keyPath(key), i), m)
	}
	return ms
}

func checkMarker(p *problems, path, m string) {
	if _, err := pep508.ParseMarker(m); err != nil {
		p.add(p.x.wrap(path, err))
	}
}

func conflicts(t *table) [][]ConflictItem {
	v, ok := t.m["conflicts"]
	if !ok {
		return nil
	}
	path := t.keyPath("conflicts")
	sets, ok := v.([]any)
	if !ok {
		t.wrongType(path, "an array of conflict sets", v)
		return nil
	}
	var out [][]ConflictItem
	for i, s := range sets {
		members, ok := s.([]any)
		if !ok {
			t.wrongType(indexKey(path, i), "an array of conflict items", s)
			continue
		}
		var set []ConflictItem
		for j, e := range members {
			m, ok := e.(map[string]any)
			if !ok {
				t.wrongType(indexKey(indexKey(path, i), j), "a table", e)
				continue
			}
			it := &table{p: t.p, path: indexKey(indexKey(path, i), j), m: m}
			set = append(set, ConflictItem{Package: it.str("package"), Extra: it.str("extra"), Group: it.str("group")})
		}
		out = append(out, set)
	}
	return out
}

func readPackage(t *table) Package {
	p := Package{
		Name:              t.requiredStr("name"),
		Version:           t.str("version"),
		ResolutionMarkers: markers(t, "resolution-markers"),
	}
	if p.Name != "" && !validName(p.Name) {
		t.p.addf(t.keyPath("name"), "invalid project name %q", p.Name)
	}
	if st := t.sub("source"); st != nil {
		p.Source = readSource(st)
	} else if !t.has("source") {
		t.p.addf(t.keyPath("source"), "missing required key")
	}
	if p.Version != "" {
		if _, err := pep440.Parse(p.Version); err != nil {
			t.p.add(t.p.x.wrap(t.keyPath("version"), err))
		}
	} else if p.Source.Kind == SourceRegistry || p.Source.Kind == SourceGit || p.Source.Kind == SourceURL {
		t.p.addf(t.keyPath("version"), "missing: required for a %s source", p.Source.Kind)
	}
	p.Dependencies = dependencies(t, "dependencies")
	p.OptionalDependencies = dependencyMap(t, "optional-dependencies")
	p.DevDependencies = dependencyMap(t, "dev-dependencies")
	if st := t.sub("sdist"); st != nil {
		f := readFile(st)
		p.Sdist = &f
	}
	for _, wt := range t.tables("wheels") {
		p.Wheels = append(p.Wheels, readFile(wt))
	}
	if mt := t.sub("metadata"); mt != nil {
		p.Metadata = Metadata{
			RequiresDist:   requirements(mt, "requires-dist"),
			ProvidesExtras: mt.strs("provides-extras"),
		}
		if rt := mt.sub("requires-dev"); rt != nil {
			p.Metadata.RequiresDev = map[string][]Requirement{}
			for _, g := range sortedKeys(rt.m) {
				p.Metadata.RequiresDev[g] = requirements(rt, g)
			}
		}
	}
	return p
}

// readSource reads source = { KIND = "value" }, with exactly one kind.
func readSource(t *table) Source {
	var s Source
	var kinds []string
	for _, k := range SourceKinds {
		if t.has(k) {
			kinds = append(kinds, k)
			s.Kind, s.Value = k, t.str(k)
		}
	}
	s.Subdirectory = t.str("subdirectory")
	switch len(kinds) {
	case 0:
		t.p.addf(t.path, "a source needs one of %s", strings.Join(SourceKinds, ", "))
	case 1:
		if s.Kind == SourceGit {
			if _, err := parseGit(s.Value); err != nil {
				t.p.add(t.p.x.wrap(t.keyPath("git"), err))
			}
		}
	default:
		t.p.addf(t.path, "a source has one kind, not %s", strings.Join(kinds, " and "))
	}
	return s
}

func dependencies(t *table, key string) []Dependency {
	var out []Dependency
	for _, dt := range t.tables(key) {
		d := Dependency{
			Name:    dt.requiredStr("name"),
			Version: dt.str("version"),
			Extra:   dt.strs("extra"),
			Marker:  dt.str("marker"),
		}
		if st := dt.sub("source"); st != nil {
			s := readSource(st)
			d.Source = &s
		}
		if d.Marker != "" {
			checkMarker(t.p, dt.keyPath("marker"), d.Marker)
		}
		out = append(out, d)
	}
	return out
}

func dependencyMap(t *table, key string) map[string][]Dependency {
	mt := t.sub(key)
	if mt == nil {
		return nil
	}
	out := map[string][]Dependency{}
	for _, name := range sortedKeys(mt.m) {
		out[name] = dependencies(mt, name)
	}
	return out
}

func readFile(t *table) File {
	f := File{
		URL:      t.str("url"),
		Path:     t.str("path"),
		Filename: t.str("filename"),
		Hash:     t.str("hash"),
		Size:     t.integer("size"),
	}
	if f.URL == "" && f.Path == "" && f.Filename == "" {
		t.p.addf(t.path, "missing url, path or filename")
	}
	if t.has("hash") {
		if err := checkHash(f.Hash); err != nil {
			t.p.add(t.p.x.wrap(t.keyPath("hash"), err))
		}
	}
	if f.Size < 0 {
		t.p.addf(t.keyPath("size"), "negative size %d", f.Size)
	}
	// uv writes upload-time as a quoted RFC 3339 string; a TOML datetime
	// is taken too.
	if v, ok := t.m["upload-time"]; ok {
		if s, isStr := v.(string); isStr {
			ut, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				t.p.addf(t.keyPath("upload-time"), "invalid upload time %q: want RFC 3339 such as \"2024-03-22T14:39:36.863Z\"", s)
			}
			f.UploadTime = ut
		} else {
			f.UploadTime = t.datetime("upload-time")
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

func requirements(t *table, key string) []Requirement {
	var out []Requirement
	for _, rt := range t.tables(key) {
		r := Requirement{
			Name:         rt.requiredStr("name"),
			Extras:       rt.strs("extras"),
			Specifier:    rt.str("specifier"),
			Marker:       rt.str("marker"),
			Index:        rt.str("index"),
			Git:          rt.str("git"),
			URL:          rt.str("url"),
			Path:         rt.str("path"),
			Directory:    rt.str("directory"),
			Editable:     rt.str("editable"),
			Virtual:      rt.str("virtual"),
			Subdirectory: rt.str("subdirectory"),
		}
		if r.Name != "" {
			if _, err := pep508.ParseRequirement(r.PEP508()); err != nil {
				rt.p.add(rt.p.x.wrap(rt.path, err))
			}
		}
		out = append(out, r)
	}
	return out
}

// checkReferences checks that every dependency names a package of the lock
// (and a version of it, when it gives one).
func checkReferences(t *table, l *Lock) {
	versions := map[string][]string{}
	for _, p := range l.Packages {
		versions[p.Name] = append(versions[p.Name], p.Version)
	}
	check := func(path string, d Dependency) {
		vs, ok := versions[d.Name]
		switch {
		case d.Name == "":
		case !ok:
			t.p.addf(path, "dependency on %q, which is not in the lock", d.Name)
		case d.Version != "" && indexOf(vs, d.Version) < 0:
			t.p.addf(path, "dependency on %s %s, which is not in the lock (it has %s)", d.Name, d.Version, strings.Join(vs, ", "))
		case d.Version == "" && len(vs) > 1:
			t.p.addf(path, "dependency on %q is ambiguous: the lock has versions %s", d.Name, strings.Join(vs, ", "))
		}
	}
	for i, p := range l.Packages {
		ppath := indexKey("package", i)
		for j, d := range p.Dependencies {
			check(indexKey(joinKey(ppath, "dependencies"), j), d)
		}
		for _, kind := range []string{"optional-dependencies", "dev-dependencies"} {
			m := p.OptionalDependencies
			if kind == "dev-dependencies" {
				m = p.DevDependencies
			}
			for _, name := range sortedKeys(m) {
				for j, d := range m[name] {
					check(indexKey(joinKey(joinKey(ppath, kind), name), j), d)
				}
			}
		}
	}
}

func indexOf(list []string, s string) int {
	for i, e := range list {
		if e == s {
			return i
		}
	}
	return -1
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// validName reports whether s is a valid PEP 508 project name.
func validName(s string) bool {
	if s == "" {
		return false
	}
	alnum := func(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' }
	if !alnum(s[0]) || !alnum(s[len(s)-1]) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !alnum(c) && c != '-' && c != '_' && c != '.' {
			return false
		}
	}
	return true
}
