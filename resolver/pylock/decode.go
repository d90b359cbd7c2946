package pylock

import (
	"bytes"
	"fmt"
	"io"
	"os"

	toml "github.com/pelletier/go-toml/v2"
)

// Load reads and validates the pylock.toml file at path. Errors name the
// file, the line and the key.
func Load(path string) (*Lock, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading lock: %w", err)
	}
	return decode(path, data)
}

// Decode reads and validates a pylock.toml document. Errors name the line and
// the key.
func Decode(r io.Reader) (*Lock, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("reading lock: %w", err)
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
	if err := validate(l, x); err != nil {
		return nil, err
	}
	return l, nil
}

func readLock(t *table) *Lock {
	l := &Lock{
		LockVersion:      t.requiredStr("lock-version"),
		Environments:     t.strs("environments"),
		RequiresPython:   t.str("requires-python"),
		Extras:           t.strs("extras"),
		DependencyGroups: t.strs("dependency-groups"),
		DefaultGroups:    t.strs("default-groups"),
		CreatedBy:        t.str("created-by"),
	}
	// A major version this reader does not know may change anything below,
	// so nothing else is read.
	if err := checkLockVersion(l.LockVersion); err != nil && l.LockVersion != "" {
		t.p.add(t.p.x.wrap("lock-version", err))
		return l
	}
	for _, pt := range t.tables("packages") {
		l.Packages = append(l.Packages, readPackage(pt))
	}
	l.Tool = readTool(t.sub("tool"))
	return l
}

func readPackage(t *table) Package {
	p := Package{
		Name:           t.str("name"),
		Version:        t.str("version"),
		Marker:         t.str("marker"),
		RequiresPython: t.str("requires-python"),
		Index:          t.str("index"),
	}
	for _, dt := range t.tables("dependencies") {
		d := Dependency{Name: dt.str("name"), Version: dt.str("version")}
		d.Other = others(dt.m, "name", "version")
		p.Dependencies = append(p.Dependencies, d)
	}
	if vt := t.sub("vcs"); vt != nil {
		p.VCS = &VCS{
			Type:              vt.str("type"),
			URL:               vt.str("url"),
			Path:              vt.str("path"),
			RequestedRevision: vt.str("requested-revision"),
			CommitID:          vt.str("commit-id"),
			Subdirectory:      vt.str("subdirectory"),
		}
	}
	if dt := t.sub("directory"); dt != nil {
		p.Directory = &Directory{
			Path:         dt.str("path"),
			Editable:     dt.boolean("editable"),
			Subdirectory: dt.str("subdirectory"),
		}
	}
	if at := t.sub("archive"); at != nil {
		p.Archive = &Archive{
			URL:          at.str("url"),
			Path:         at.str("path"),
			Size:         at.integer("size"),
			UploadTime:   at.datetime("upload-time"),
			Hashes:       readHashes(at),
			Subdirectory: at.str("subdirectory"),
		}
	}
	if st := t.sub("sdist"); st != nil {
		f := readFile(st)
		p.Sdist = &f
	}
	for _, wt := range t.tables("wheels") {
		p.Wheels = append(p.Wheels, readFile(wt))
	}
	for _, it := range t.tables("attestation-identities") {
		p.AttestationIdentities = append(p.AttestationIdentities, AttestationIdentity{
			Kind:  it.str("kind"),
			Other: others(it.m, "kind"),
		})
	}
	p.Tool = readTool(t.sub("tool"))
	return p
}

func readFile(t *table) File {
	return File{
		Name:       t.str("name"),
		UploadTime: t.datetime("upload-time"),
		URL:        t.str("url"),
		Path:       t.str("path"),
		Size:       t.integer("size"),
		Hashes:     readHashes(t),
	}
}

// readHashes returns nil when the key is absent, so that validation can tell
// a missing table from an empty one.
func readHashes(t *table) Hashes {
	ht := t.sub("hashes")
	if ht == nil {
		return nil
	}
	h := Hashes{}
	for alg := range ht.m {
		if s := ht.str(alg); s != "" || isString(ht.m[alg]) {
			h[alg] = s
		}
	}
	return h
}

func readTool(t *table) Tool {
	if t == nil {
		return Tool{}
	}
	tool := Tool{Other: others(t.m, "larder")}
	if lt := t.sub("larder"); lt != nil {
		lar := &LarderTool{
			Targets: lt.strs("targets"),
			Private: lt.boolean("private"),
			Build:   lt.str("build"),
			Other:   others(lt.m, "targets", "private", "via", "build"),
		}
		if v, ok := lt.m["via"]; ok {
			path := lt.keyPath("via")
			if arr, ok := v.([]any); ok {
				for i, chain := range arr {
					lar.Via = append(lar.Via, lt.p.strings(indexKey(path, i), chain))
				}
			} else {
				lt.wrongType(path, "an array of arrays of strings", v)
			}
		}
		tool.Larder = lar
	}
	return tool
}

// others returns the entries of m except the known keys, or nil.
func others(m map[string]any, known ...string) map[string]any {
	var out map[string]any
next:
	for k, v := range m {
		for _, kn := range known {
			if k == kn {
				continue next
			}
		}
		if out == nil {
			out = map[string]any{}
		}
		out[k] = v
	}
	return out
}
