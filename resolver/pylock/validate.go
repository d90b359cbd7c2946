package pylock

import (
	"fmt"
	"github.com/larder-build/larder/resolver/dist"
	"github.com/larder-build/larder/resolver/pep440"
	"github.com/larder-build/larder/resolver/tomldoc"
	"strconv"
	"strings"
)

// SupportedMajor is the lock-version major this package reads and writes.
const SupportedMajor = 1

// Validate checks what PEP 751 requires of a lock: a supported lock-version,
// created-by, and for every package a normalized name, a version when files
// from an index are given, exactly one kind of source, and hashes on every
// file. Errors name the key, such as packages[3].wheels[0].hashes.
func (l *Lock) Validate() error {
	return validate(l, tomldoc.Index("", nil))
}

// checkLockVersion parses "MAJOR.MINOR" and refuses other majors: PEP 751
// says a reader MUST raise an error for a major version it does not support.
func checkLockVersion(v string) error {
	major, minor, ok := strings.Cut(v, ".")
	if !ok || !isDigits(major) || !isDigits(minor) {
		return fmt.Errorf("invalid lock-version %q: want MAJOR.MINOR such as \"1.0\"", v)
	}
	if n, err := strconv.Atoi(major); err != nil || n != SupportedMajor {
		return fmt.Errorf("unsupported lock-version %q: this reader knows major version %d", v, SupportedMajor)
	}
	return nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func validate(l *Lock, x *tomldoc.KeyLines) error {
	p := &tomldoc.Problems{X: x}
	if l.LockVersion == "" {
		p.Addf("lock-version", "missing required key")
	} else if err := checkLockVersion(l.LockVersion); err != nil {
		p.Add(x.Wrap("lock-version", err))
	}
	if l.CreatedBy == "" {
		p.Addf("created-by", "missing required key")
	}
	if l.RequiresPython != "" {
		if _, err := pep440.ParseSpecifiers(l.RequiresPython); err != nil {
			p.Add(x.Wrap("requires-python", err))
		}
	}
	for i, env := range l.Environments {
		if err := checkMarker(env); err != nil {
			p.Add(x.Wrap(tomldoc.IndexKey("environments", i), err))
		}
	}
	for i := range l.Packages {
		validatePackage(p, tomldoc.IndexKey("packages", i), &l.Packages[i])
	}
	return p.Err()
}

func validatePackage(p *tomldoc.Problems, path string, pkg *Package) {
	key := func(k string) string { return tomldoc.JoinKey(path, k) }
	switch {
	case pkg.Name == "":
		p.Addf(key("name"), "missing required key")
	case !dist.ValidName(pkg.Name):
		p.Addf(key("name"), "invalid project name %q", pkg.Name)
	case dist.NormalizeName(pkg.Name) != pkg.Name:
		p.Addf(key("name"), "name %q is not normalized: want %q", pkg.Name, dist.NormalizeName(pkg.Name))
	}
	if pkg.Version != "" {
		if _, err := pep440.Parse(pkg.Version); err != nil {
			p.Add(p.X.Wrap(key("version"), err))
		}
	}
	if pkg.RequiresPython != "" {
		if _, err := pep440.ParseSpecifiers(pkg.RequiresPython); err != nil {
			p.Add(p.X.Wrap(key("requires-python"), err))
		}
	}
	if pkg.Marker != "" {
		if err := checkMarker(pkg.Marker); err != nil {
			p.Add(p.X.Wrap(key("marker"), err))
		}
	}
	for i, d := range pkg.Dependencies {
		if d.Name == "" {
			p.Addf(tomldoc.JoinKey(tomldoc.IndexKey(key("dependencies"), i), "name"), "missing required key")
		}
	}

	var kinds []string
	if pkg.VCS != nil {
		kinds = append(kinds, "vcs")
		validateVCS(p, key("vcs"), pkg.VCS)
	}
	if pkg.Directory != nil {
		kinds = append(kinds, "directory")
		if pkg.Directory.Path == "" {
			p.Addf(tomldoc.JoinKey(key("directory"), "path"), "missing required key")
		}
	}
	if pkg.Archive != nil {
		kinds = append(kinds, "archive")
		a := pkg.Archive
		validateLocation(p, key("archive"), a.URL, a.Path)
		validateSize(p, key("archive"), a.Size)
		validateHashes(p, key("archive"), a.Hashes)
	}
	if pkg.Sdist != nil || len(pkg.Wheels) > 0 {
		// An sdist and wheels are two forms of one release from an index:
		// together they are one kind of source.
		kinds = append(kinds, "sdist/wheels")
		if pkg.Version == "" {
			// PEP 751 only says SHOULD; larder needs the version to match
			// files against an index, so it requires it.
			p.Addf(key("version"), "missing: required when sdist or wheels are given")
		}
	}
	if pkg.Sdist != nil {
		validateFile(p, key("sdist"), pkg.Sdist)
	}
	for i := range pkg.Wheels {
		validateFile(p, tomldoc.IndexKey(key("wheels"), i), &pkg.Wheels[i])
	}
	for i, a := range pkg.AttestationIdentities {
		if a.Kind == "" {
			p.Addf(tomldoc.JoinKey(tomldoc.IndexKey(key("attestation-identities"), i), "kind"), "missing required key")
		}
	}
	switch len(kinds) {
	case 0:
		p.Addf(path, "package %q has no source: want one of vcs, directory, archive, sdist or wheels", pkg.Name)
	case 1:
	default:
		p.Addf(path, "package %q has %d kinds of source (%s): want exactly one", pkg.Name, len(kinds), strings.Join(kinds, ", "))
	}
}

func validateVCS(p *tomldoc.Problems, path string, v *VCS) {
	switch v.Type {
	case "":
		p.Addf(tomldoc.JoinKey(path, "type"), "missing required key")
	case "git", "hg", "svn", "bzr":
	default:
		p.Addf(tomldoc.JoinKey(path, "type"), "unknown VCS type %q: want git, hg, svn or bzr", v.Type)
	}
	validateLocation(p, path, v.URL, v.Path)
	if v.CommitID == "" {
		p.Addf(tomldoc.JoinKey(path, "commit-id"), "missing required key")
	}
}

func validateFile(p *tomldoc.Problems, path string, f *File) {
	validateLocation(p, path, f.URL, f.Path)
	validateSize(p, path, f.Size)
	validateHashes(p, path, f.Hashes)
}

func validateLocation(p *tomldoc.Problems, path, url, file string) {
	if url == "" && file == "" {
		p.Addf(path, "missing url or path")
	}
}

func validateSize(p *tomldoc.Problems, path string, size int64) {
	if size < 0 {
		p.Addf(tomldoc.JoinKey(path, "size"), "negative size %d", size)
	}
}

// validateHashes requires at least one hash: an unverified file would break
// larder's promise that nothing enters a wheelhouse unchecked.
func validateHashes(p *tomldoc.Problems, path string, h Hashes) {
	hpath := tomldoc.JoinKey(path, "hashes")
	if len(h) == 0 {
		p.Addf(hpath, "missing: every file needs at least one hash")
		return
	}
	for alg, digest := range h {
		if !isHashName(alg) {
			p.Addf(tomldoc.JoinKey(hpath, alg), "invalid hash algorithm name %q", alg)
		}
		if err := checkHex(digest); err != nil {
			p.Add(p.X.Wrap(tomldoc.JoinKey(hpath, alg), err))
		}
	}
}

func isHashName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func checkHex(s string) error {
	if s == "" || len(s)%2 != 0 {
		return fmt.Errorf("invalid digest %q: want lowercase hex", s)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return fmt.Errorf("invalid digest %q: want lowercase hex", s)
		}
	}
	return nil
}
