package serve

import (
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// Media types of the simple repository API (PEP 691).
const (
	mediaJSON     = "application/vnd.pypi.simple.v1+json"
	mediaHTML     = "application/vnd.pypi.simple.v1+html"
	mediaTextHTML = "text/html"
)

// format is a representation of an index page.
type format int

const (
	formatNone format = iota
	formatJSON
	formatHTML     // application/vnd.pypi.simple.v1+html
	formatTextHTML // text/html, the PEP 503 form
)

func (f format) contentType() string {
	switch f {
	case formatJSON:
		return mediaJSON
	case formatHTML:
		return mediaHTML
	}
	return mediaTextHTML + "; charset=utf-8"
}

// candidates are the offers in the server's order of preference when a
// client names several with the same quality; aliases are PEP 691's
// "latest" spellings.
var candidates = []struct {
	f     format
	names []string
}{
	{formatJSON, []string{mediaJSON, "application/vnd.pypi.simple.latest+json"}},
	{formatHTML, []string{mediaHTML, "application/vnd.pypi.simple.latest+html"}},
	{formatTextHTML, []string{mediaTextHTML}},
}

// negotiate picks the page format for an Accept header (RFC 9110 12.5.1):
// each offer takes the quality of the most specific range that names it, the
// highest quality wins, and ties go to an offer the client named exactly,
// then to JSON, except that a client matched only by "*/*" (a browser,
// curl) gets text/html. It returns formatNone when nothing offered is
// acceptable; an absent header accepts everything.
func negotiate(accept string) format {
	// Clients send the same header on every request: remember the answers
	// for a few of them.
	if f, ok := negotiated.Load(accept); ok {
		return f.(format)
	}
	f := negotiateUncached(accept)
	if negotiatedCount.Load() < maxNegotiated {
		negotiatedCount.Add(1)
		negotiated.Store(accept, f)
	}
	return f
}

// negotiated caches negotiate's answers, up to maxNegotiated headers so
// that clients cannot grow it without bound.
var (
	negotiated      sync.Map
	negotiatedCount atomic.Int64
)

const maxNegotiated = 64

func negotiateUncached(accept string) format {
	if strings.TrimSpace(accept) == "" {
		return formatTextHTML
	}
	type score struct {
		q         int // thousandths
		specific  int // 3 exact, 2 type/*, 1 */*, 0 none
		preferred int
	}
	best, bestScore := formatNone, score{}
	for i, c := range candidates {
		sc := score{}
		for _, r := range strings.Split(accept, ",") {
			spec, q, ok := matchRange(r, c.names)
			if ok && spec > sc.specific {
				sc.specific, sc.q = spec, q
			}
		}
		if sc.specific == 0 || sc.q == 0 {
			continue
		}
		if sc.specific == 1 {
			sc.preferred = i // "*/*" is a browser or curl: HTML reads best
		} else {
			sc.preferred = len(candidates) - i
		}
		if best == formatNone || better(sc.q, sc.specific == 3, sc.preferred, bestScore.q, bestScore.specific == 3, bestScore.preferred) {
			best, bestScore = c.f, sc
		}
	}
	return best
}

// better orders offers: quality, then being named exactly, then the
// server's preference.
func better(q int, exact bool, pref int, bq int, bexact bool, bpref int) bool {
	if q != bq {
		return q > bq
	}
	if exact != bexact {
		return exact
	}
	return pref > bpref
}

// matchRange reports how specifically one media range of an Accept header
// names any of names, and its quality in thousandths.
func matchRange(r string, names []string) (specific, q int, ok bool) {
	mediaRange, params, _ := strings.Cut(r, ";")
	typ, sub, found := strings.Cut(strings.ToLower(strings.TrimSpace(mediaRange)), "/")
	typ, sub = strings.TrimSpace(typ), strings.TrimSpace(sub)
	if !found || typ == "" || sub == "" {
		return 0, 0, false
	}
	q = 1000
	for p := range strings.SplitSeq(params, ";") {
		k, v, _ := strings.Cut(p, "=")
		if strings.EqualFold(strings.TrimSpace(k), "q") {
			q = parseQuality(strings.TrimSpace(v))
		}
	}
	for _, n := range names {
		nt, ns, _ := strings.Cut(n, "/")
		s := 0
		switch {
		case typ == nt && sub == ns:
			s = 3
		case typ == nt && sub == "*":
			s = 2
		case typ == "*" && sub == "*":
			s = 1
		}
		specific = max(specific, s)
	}
	return specific, q, specific > 0
}

// parseQuality parses a qvalue ("0", "0.5", "1.000"); anything malformed
// counts as 0, not acceptable.
func parseQuality(v string) int {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 || f > 1 {
		return 0
	}
	return int(f*1000 + 0.5)
}
