package resolver

import (
	"fmt"
	"sort"
	"strings"

	"github.com/larder-build/larder/resolver/dist"
	"github.com/larder-build/larder/resolver/index"
	"github.com/larder-build/larder/resolver/pep440"
	"github.com/larder-build/larder/resolver/tags"
	"github.com/larder-build/larder/resolver/target"
)

// candidate is one version of a project that a target can install, with
// its usable files, best first.
type candidate struct {
	version pep440.Version
	files   []index.File
	yanked  bool // every usable file is yanked
	vcs     *VCS // set for a version control checkout
}

// best is the file a target installs: the best-ranked wheel, else the sdist.
func (c *candidate) best() index.File { return c.files[0] }

// buildsFromSource reports a version that only has an sdist for the target.
func (c *candidate) buildsFromSource() bool {
	return c.vcs != nil || !strings.HasSuffix(c.best().Filename, ".whl")
}

// listing is a project's candidates for one target, ascending by version,
// and why the versions that are not candidates were dropped.
type listing struct {
	name     string // normalized
	index    string
	cands    []candidate
	versions []string // display strings, parallel to cands
	pref     []int    // non-yanked newest first, then yanked newest first
	dropped  map[string]string
}

// binaryPolicy says which distribution kinds a project may use.
type binaryPolicy struct {
	onlyBinary map[string]bool // ":all:" or normalized names
	noBinary   map[string]bool
}

func (b binaryPolicy) wheelsAllowed(name string) bool {
	if b.onlyBinary[name] {
		return true
	}
	return !(b.noBinary[name] || b.noBinary[":all:"])
}

func (b binaryPolicy) sdistsAllowed(name string) bool {
	if b.noBinary[name] {
		return true
	}
	return !(b.onlyBinary[name] || b.onlyBinary[":all:"])
}

// newListing turns an index page into the candidates of one target: files
// whose names parse and belong to the project, wheels whose tags the
// target supports, requires-python that admits the target's Python, and
// (when hashes are pinned) files whose hash is pinned.
func newListing(page *index.Page, name string, t target.Target, ranker *tags.Ranker, policy binaryPolicy, hashes map[string]bool) *listing {
	py := pep440.MustParse(t.Python.Full())
	type ranked struct {
		f    index.File
		rank int
	}
	byVersion := map[string][]ranked{}
	versions := map[string]pep440.Version{}
	dropped := map[string]string{}
	for _, f := range page.Files {
		var vs string
		rank := 0
		switch {
		case strings.HasSuffix(f.Filename, ".whl"):
			w, err := dist.ParseWheelName(f.Filename)
			if err != nil || dist.NormalizeName(w.Name) != name {
				continue
			}
			vs = w.Version
			if !policy.wheelsAllowed(name) {
				setReason(dropped, vs, "wheels are disallowed (no-binary)")
				continue
			}
			r, ok := ranker.Rank(w.Tags)
			if !ok {
				setReason(dropped, vs, "no wheel for "+t.String())
				continue
			}
			rank = r
		default:
			s, err := dist.ParseSdistName(f.Filename, name)
			if err != nil {
				continue
			}
			vs = s.Version
			if !policy.sdistsAllowed(name) {
				setReason(dropped, vs, "only wheels are allowed (only-binary) and there is none for "+t.String())
				continue
			}
			// An sdist ranks after every wheel.
			rank = 1 << 30
		}
		v, err := pep440.Parse(vs)
		if err != nil {
			continue // pip skips files whose version is not PEP 440 too
		}
		key := v.String()
		if f.RequiresPython != "" {
			rp, err := pep440.ParseSpecifiers(f.RequiresPython)
			if err == nil && !rp.Contains(py, true) {
				setReason(dropped, key, "requires Python "+f.RequiresPython)
				continue
			}
		}
		if hashes != nil && !hashes[f.SHA256()] {
			setReason(dropped, key, "no file matches the --hash pins")
			continue
		}
		versions[key] = v
		byVersion[key] = append(byVersion[key], ranked{f, rank})
	}
	l := &listing{name: name, index: page.Index, dropped: dropped}
	for key, files := range byVersion {
		sort.SliceStable(files, func(i, j int) bool {
			// Non-yanked files first, then by tag rank, then by name so
			// that the choice is deterministic.
			if files[i].f.Yanked != files[j].f.Yanked {
				return !files[i].f.Yanked
			}
			if files[i].rank != files[j].rank {
				return files[i].rank < files[j].rank
			}
			return files[i].f.Filename < files[j].f.Filename
		})
		c := candidate{version: versions[key], yanked: files[0].f.Yanked}
		for _, r := range files {
			c.files = append(c.files, r.f)
		}
		l.cands = append(l.cands, c)
		delete(l.dropped, key)
	}
	sort.Slice(l.cands, func(i, j int) bool { return l.cands[i].version.Compare(l.cands[j].version) < 0 })
	for i, c := range l.cands {
		l.versions = append(l.versions, c.version.String())
		// Newest first. Yanked versions need no place of their own:
		// specSet admits them only when nothing else can match.
		l.pref = append(l.pref, len(l.cands)-1-i)
	}
	return l
}

func setReason(m map[string]string, version, reason string) {
	if v, err := pep440.Parse(version); err == nil {
		version = v.String()
	}
	if _, ok := m[version]; !ok {
		m[version] = reason
	}
}

// specSet is the set of candidates a specifier admits, with pip's rules.
// Pre-releases are excluded unless allowed, named by the specifier, or
// the only matches. Yanked versions are ignored (PEP 592, as pip applies
// it) unless the specifier pins a version (== or ===) that only yanked
// files satisfy.
func (l *listing) specSet(ss pep440.Specifiers, pre bool) vset {
	allowPre := pre || ss.AllowsPrereleases()
	matches := emptySet(len(l.cands)) // everything the specifier admits
	finals := emptySet(len(l.cands))  // ... without the excluded pre-releases
	for i, c := range l.cands {
		if !ss.Contains(c.version, true) {
			continue
		}
		matches.add(i)
		if allowPre || !c.version.IsPrerelease() {
			finals.add(i)
		}
	}
	s := finals
	if s.isEmpty() {
		s = matches
	}
	unyanked := emptySet(len(l.cands))
	for _, i := range s.members() {
		if !l.cands[i].yanked {
			unyanked.add(i)
		}
	}
	if unyanked.isEmpty() && isPin(ss) {
		return s
	}
	return unyanked
}

// isPin reports a specifier set that pins a version: a == clause without
// a wildcard, or ===.
func isPin(ss pep440.Specifiers) bool {
	for _, sp := range ss {
		switch {
		case sp.Operator() == "===":
			return true
		case sp.Operator() == "==" && !strings.HasSuffix(sp.Version(), ".*"):
			return true
		}
	}
	return false
}

// droppedSummary explains why no candidate matches, for messages.
func (l *listing) droppedSummary(ss pep440.Specifiers) string {
	var parts []string
	keys := make([]string, 0, len(l.dropped))
	for k := range l.dropped {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		return pep440.MustParse(keys[i]).Compare(pep440.MustParse(keys[j])) > 0
	})
	for _, k := range keys {
		if v, err := pep440.Parse(k); err == nil && ss.Contains(v, true) {
			parts = append(parts, fmt.Sprintf("%s %s", k, l.dropped[k]))
		}
		if len(parts) == 3 {
			break
		}
	}
	avail := l.versions
	if len(avail) > 8 {
		avail = append(append([]string{}, avail[:3]...), append([]string{"..."}, avail[len(avail)-4:]...)...)
	}
	msg := "available: " + strings.Join(avail, ", ")
	if len(l.versions) == 0 {
		msg = "no usable version"
	}
	if len(parts) > 0 {
		msg += "; excluded: " + strings.Join(parts, "; ")
	}
	return msg
}
