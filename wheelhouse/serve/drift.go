package serve

import (
	"sort"
	"strconv"
	"strings"
)

// driftRow is a baked public project the upstream offers a newer final
// release of.
type driftRow struct {
	project, baked, upstream string
}

// drift lists, by project name, the baked public projects whose cached
// upstream page names a final release newer than the newest baked one. It
// reads the page cache only: a page nobody asked for is never fetched for
// this, so an offline or idle server shows nothing rather than waiting.
func (s *Server) drift() []driftRow {
	if s.up == nil {
		return nil
	}
	var out []driftRow
	for norm, files := range s.baked.projects {
		if s.isPrivate(norm) || len(files) == 0 {
			continue
		}
		var baked pep440Version
		bakedText := ""
		for _, lf := range files {
			if v, ok := parsePEP440(lf.entry.Version); ok && (bakedText == "" || baked.less(v)) {
				baked, bakedText = v, lf.entry.Version
			}
		}
		if bakedText == "" {
			continue
		}
		if up, upText := s.up.newestFinal(norm); upText != "" && baked.less(up) {
			out = append(out, driftRow{project: norm, baked: bakedText, upstream: upText})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].project < out[j].project })
	return out
}

// newestFinal returns the newest version, not a pre-release or a
// development release, that a non-yanked file on the cached page of norm
// has; upText is "" when the page is not cached or names none.
func (u *upstream) newestFinal(norm string) (newest pep440Version, upText string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	// Peeked at, not marked used: showing / must not keep pages cached.
	el := u.pages[norm]
	if el == nil {
		return newest, ""
	}
	p := el.Value.(*cachedUpstream).page
	if !p.found {
		return newest, ""
	}
	for _, f := range p.files {
		if f.yanked {
			continue
		}
		_, vs, ok := splitFilename(f.filename, norm)
		if !ok {
			continue
		}
		v, ok := parsePEP440(vs)
		if !ok || v.isPre() {
			continue
		}
		if upText == "" || newest.less(v) {
			newest, upText = v, vs
		}
	}
	return newest, upText
}

// pep440Version is the part of a PEP 440 version that orders it (the local
// label aside). larder-index keeps its own small parser rather than link
// the resolver's: the pages for people need ordering and nothing more.
type pep440Version struct {
	epoch   int
	release []int
	// pre is the pre-release's kind (0 a, 1 b, 2 rc) and number; preKind
	// is -1 without one.
	preKind, pre int
	post, dev    int // -1 when absent
}

// isPre reports a pre-release or a development release.
func (v pep440Version) isPre() bool { return v.preKind >= 0 || v.dev >= 0 }

// parsePEP440 parses a version in any PEP 440 spelling pip accepts
// ("1.0", "v1.0RC1", "1!2.0.post3.dev4+local"); ok is false for anything
// else, which the caller then leaves out rather than guess an order.
func parsePEP440(s string) (v pep440Version, ok bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	s = strings.TrimPrefix(s, "v")
	if i := strings.IndexByte(s, '+'); i >= 0 {
		s = s[:i]
	}
	v.preKind, v.post, v.dev = -1, -1, -1
	num := func() (int, bool) {
		i := 0
		for i < len(s) && i < 9 && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == 0 || i < len(s) && s[i] >= '0' && s[i] <= '9' {
			return 0, false // none, or too long to order safely
		}
		n, _ := strconv.Atoi(s[:i])
		s = s[i:]
		return n, true
	}
	sep := func() {
		if s != "" && (s[0] == '.' || s[0] == '-' || s[0] == '_') {
			s = s[1:]
		}
	}
	word := func(words ...string) (int, bool) {
		for i, w := range words {
			if strings.HasPrefix(s, w) {
				s = s[len(w):]
				return i, true
			}
		}
		return 0, false
	}
	n, ok := num()
	if !ok {
		return v, false
	}
	if strings.HasPrefix(s, "!") {
		v.epoch, s = n, s[1:]
		if n, ok = num(); !ok {
			return v, false
		}
	}
	v.release = append(v.release, n)
	for len(v.release) < 64 && strings.HasPrefix(s, ".") && len(s) > 1 && s[1] >= '0' && s[1] <= '9' {
		s = s[1:]
		if n, ok = num(); !ok {
			return v, false
		}
		v.release = append(v.release, n)
	}
	rest := s
	sep()
	// Longer spellings first, so that "rc" is not read as "r" (a post).
	kinds := []string{"alpha", "beta", "preview", "pre", "rc", "a", "b", "c"}
	kindOf := []int{0, 1, 2, 2, 2, 0, 1, 2}
	if k, found := word(kinds...); found {
		v.preKind = kindOf[k]
		sep()
		if n, ok := num(); ok {
			v.pre = n
		}
		rest = s
	} else {
		s = rest
	}
	if strings.HasPrefix(s, "-") && len(s) > 1 && s[1] >= '0' && s[1] <= '9' {
		s = s[1:]
		v.post, _ = num()
		rest = s
	} else {
		sep()
		if _, found := word("post", "rev", "r"); found {
			sep()
			v.post = 0
			if n, ok := num(); ok {
				v.post = n
			}
			rest = s
		} else {
			s = rest
		}
	}
	sep()
	if _, found := word("dev"); found {
		sep()
		v.dev = 0
		if n, ok := num(); ok {
			v.dev = n
		}
	} else {
		s = rest
	}
	return v, s == ""
}

// less orders versions as PEP 440 does.
func (v pep440Version) less(w pep440Version) bool {
	if v.epoch != w.epoch {
		return v.epoch < w.epoch
	}
	for i := 0; i < len(v.release) || i < len(w.release); i++ {
		a, b := 0, 0
		if i < len(v.release) {
			a = v.release[i]
		}
		if i < len(w.release) {
			b = w.release[i]
		}
		if a != b {
			return a < b
		}
	}
	if a, b := v.preKey(), w.preKey(); a != b {
		return a[0] < b[0] || a[0] == b[0] && a[1] < b[1]
	}
	if v.post != w.post {
		return v.post < w.post
	}
	// A development release sorts before the same version without one.
	da, db := v.dev, w.dev
	if da < 0 {
		da = 1 << 62
	}
	if db < 0 {
		db = 1 << 62
	}
	return da < db
}

// preKey orders the pre-release part: a development release of a final
// (1.0.dev1) before any pre-release, pre-releases by kind and number, a
// final (or a post release) after them all.
func (v pep440Version) preKey() [2]int {
	switch {
	case v.preKind >= 0:
		return [2]int{v.preKind, v.pre}
	case v.post < 0 && v.dev >= 0:
		return [2]int{-1, 0}
	}
	return [2]int{3, 0}
}
