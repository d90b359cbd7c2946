package pylock

import (
	"fmt"
	"io"
	"strings"

	"github.com/larder-build/larder/resolver/pep508"
	"github.com/larder-build/larder/resolver/tomldoc"
)

var schema = tomldoc.Schema[*Lock]{What: "lock", Read: readLock, Check: validate, NotTOML: notTOML}

// Load reads and validates the pylock.toml file at path. Errors name the
// file, the line and the key.
func Load(path string) (*Lock, error) { return schema.Load(path) }

// Decode reads and validates a pylock.toml document. Errors name the line and
// the key.
func Decode(r io.Reader) (*Lock, error) { return schema.Decode(r) }

func readLock(t *tomldoc.Table) *Lock {
	if !t.Has("lock-version") {
		if what := otherLock(t); what != "" {
			t.P.Addf("lock-version", "missing required key: %s", what)
			return &Lock{}
		}
	}
	l := &Lock{
		LockVersion:      t.RequiredStr("lock-version"),
		Environments:     t.Strs("environments"),
		RequiresPython:   t.Str("requires-python"),
		Extras:           t.Strs("extras"),
		DependencyGroups: t.Strs("dependency-groups"),
		DefaultGroups:    t.Strs("default-groups"),
		CreatedBy:        t.Str("created-by"),
	}
	// A major version this reader does not know may change anything below,
	// so nothing else is read.
	if err := checkLockVersion(l.LockVersion); err != nil && l.LockVersion != "" {
		t.P.Add(t.P.X.Wrap("lock-version", err))
		return l
	}
	l.Packages = tomldoc.ReadTables(t, "packages", readPackage)
	l.Tool = readTool(t.Sub("tool"))
	return l
}

func readPackage(t *tomldoc.Table) Package {
	p := Package{
		Name:           t.Str("name"),
		Version:        t.Str("version"),
		Marker:         t.Str("marker"),
		RequiresPython: t.Str("requires-python"),
		Index:          t.Str("index"),
	}
	p.Dependencies = tomldoc.ReadTables(t, "dependencies", func(dt *tomldoc.Table) Dependency {
		return Dependency{Name: dt.Str("name"), Version: dt.Str("version"), Other: others(dt.M, "name", "version")}
	})
	p.VCS = tomldoc.ReadTable(t, "vcs", readVCS)
	p.Directory = tomldoc.ReadTable(t, "directory", readDirectory)
	p.Archive = tomldoc.ReadTable(t, "archive", readArchive)
	p.Sdist = tomldoc.ReadTable(t, "sdist", readFile)
	p.Wheels = tomldoc.ReadTables(t, "wheels", readFile)
	p.AttestationIdentities = tomldoc.ReadTables(t, "attestation-identities", func(it *tomldoc.Table) AttestationIdentity {
		return AttestationIdentity{Kind: it.Str("kind"), Other: others(it.M, "kind")}
	})
	p.Tool = readTool(t.Sub("tool"))
	return p
}

func readVCS(t *tomldoc.Table) VCS {
	return VCS{
		Type:              t.Str("type"),
		URL:               t.Str("url"),
		Path:              t.Str("path"),
		RequestedRevision: t.Str("requested-revision"),
		CommitID:          t.Str("commit-id"),
		Subdirectory:      t.Str("subdirectory"),
	}
}

func readDirectory(t *tomldoc.Table) Directory {
	return Directory{
		Path:         t.Str("path"),
		Editable:     t.Boolean("editable"),
		Subdirectory: t.Str("subdirectory"),
	}
}

func readArchive(t *tomldoc.Table) Archive {
	return Archive{
		URL:          t.Str("url"),
		Path:         t.Str("path"),
		Size:         t.Integer("size"),
		UploadTime:   t.Datetime("upload-time"),
		Hashes:       readHashes(t),
		Subdirectory: t.Str("subdirectory"),
	}
}

func readFile(t *tomldoc.Table) File {
	return File{
		Name:       t.Str("name"),
		UploadTime: t.Datetime("upload-time"),
		URL:        t.Str("url"),
		Path:       t.Str("path"),
		Size:       t.Integer("size"),
		Hashes:     readHashes(t),
	}
}

// readHashes returns nil when the key is absent, so that validation can tell
// a missing table from an empty one.
func readHashes(t *tomldoc.Table) Hashes {
	ht := t.Sub("hashes")
	if ht == nil {
		return nil
	}
	h := Hashes{}
	for alg := range ht.M {
		if s := ht.Str(alg); s != "" || tomldoc.IsString(ht.M[alg]) {
			h[alg] = s
		}
	}
	return h
}

func readTool(t *tomldoc.Table) Tool {
	if t == nil {
		return Tool{}
	}
	tool := Tool{Other: others(t.M, "larder")}
	if lt := t.Sub("larder"); lt != nil {
		lar := &LarderTool{
			Targets:  lt.Strs("targets"),
			Private:  lt.Boolean("private"),
			Build:    lt.Str("build"),
			Unpinned: lt.Boolean("unpinned"),
			Other:    others(lt.M, "targets", "private", "via", "build", "unpinned"),
		}
		if v, ok := lt.M["via"]; ok {
			path := lt.KeyPath("via")
			if arr, ok := v.([]any); ok {
				for i, chain := range arr {
					lar.Via = append(lar.Via, lt.P.Strings(tomldoc.IndexKey(path, i), chain))
				}
			} else {
				lt.WrongType(path, "an array of arrays of strings", v)
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

// otherLock says what a TOML document without lock-version is when it is
// another tool's lock, named like a PEP 751 one, and how to get a PEP 751
// lock from that tool; "" when it is none known.
func otherLock(t *tomldoc.Table) string {
	meta, _ := t.M["metadata"].(map[string]any)
	_, arrayOfPackages := t.M["package"].([]any)
	switch {
	case len(t.M) == 0:
		return "the document is empty, not a PEP 751 lock"
	case meta["lock_version"] != nil:
		return "this is a PDM lock (pdm.lock's format, [metadata] lock_version), not a PEP 751 lock: write one with `pdm export -f pylock -o pylock.toml`"
	case meta["lock-version"] != nil && meta["content-hash"] != nil:
		return "this is a Poetry lock (poetry.lock's format, [metadata] lock-version), not a PEP 751 lock: give larder the project's pyproject.toml, or the requirements file `poetry export` writes"
	case t.Has("version") && arrayOfPackages:
		return "this is a uv lock (uv.lock's format: version and [[package]]), not a PEP 751 lock: name it uv.lock, or write one with `uv export --format pylock.toml -o pylock.toml`"
	}
	return ""
}

// notTOML says what a document named like a PEP 751 lock that is not
// TOML is when it is a pip requirements file, as `uv export -o
// pylock.toml` wrote without --format pylock.toml; "" otherwise.
func notTOML(data []byte) string {
	for i, line := range strings.SplitN(string(data), "\n", 50) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if requirementLine(line) {
			return fmt.Sprintf("this is a pip requirements file (line %d: %.60q), not a PEP 751 lock: name it requirements.txt, or write a lock with `uv export --format pylock.toml -o pylock.toml` or `pip lock -o pylock.toml`", i+1, line)
		}
		return ""
	}
	return ""
}

// requirementLine reports whether line is an option line or a
// requirement of a pip requirements file, and no TOML key-value pair or
// table header.
func requirementLine(line string) bool {
	if strings.HasPrefix(line, "-") {
		return true // -e ., -r base.txt, --hash=..., --index-url ...
	}
	if strings.HasPrefix(line, "[") || strings.Contains(line, "=") && !strings.ContainsAny(line, "<>!~@;") && !strings.Contains(line, "==") {
		return false // a table header, or key = value
	}
	_, err := pep508.ParseRequirement(strings.TrimSuffix(strings.TrimSpace(strings.TrimSuffix(line, "\\")), " "))
	return err == nil
}
