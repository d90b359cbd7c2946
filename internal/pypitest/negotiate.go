package pypitest

import (
	"strconv"
	"strings"
)

// Media types of the simple repository API (PEP 691).
const (
	MediaJSON     = "application/vnd.pypi.simple.v1+json"
	MediaHTML     = "application/vnd.pypi.simple.v1+html"
	MediaTextHTML = "text/html"
)

// Mode restricts the forms in which the server offers index pages.
type Mode int

const (
	// Both offers PEP 691 JSON and PEP 503 HTML, chosen by the Accept header.
	Both Mode = iota
	// HTMLOnly offers HTML only, like a plain static index; a client that
	// accepts only JSON gets 406.
	HTMLOnly
	// JSONOnly offers JSON only; a client that accepts only HTML gets 406.
	JSONOnly
)

func (m Mode) String() string {
	switch m {
	case Both:
		return "both"
	case HTMLOnly:
		return "html-only"
	case JSONOnly:
		return "json-only"
	}
	return "Mode(" + strconv.Itoa(int(m)) + ")"
}

// offer is one media type the server can answer with; aliases are the
// names a client may ask for it by (PEP 691's "latest" forms).
type offer struct {
	media   string
	aliases []string
	// wildcardRank breaks ties between offers matched only through a
	// wildcard: a client that says "*/*" is most likely a browser.
	wildcardRank int
}

var offers = []offer{
	{media: MediaJSON, aliases: []string{"application/vnd.pypi.simple.latest+json"}, wildcardRank: 0},
	{media: MediaHTML, aliases: []string{"application/vnd.pypi.simple.latest+html"}, wildcardRank: 1},
	{media: MediaTextHTML, wildcardRank: 2},
}

type mediaRange struct {
	typ, sub string
	q        float64
}

func parseAccept(header string) []mediaRange {
	if strings.TrimSpace(header) == "" {
		return []mediaRange{{typ: "*", sub: "*", q: 1}}
	}
	var ranges []mediaRange
	for _, part := range strings.Split(header, ",") {
		fields := strings.Split(part, ";")
		typ, sub, ok := strings.Cut(strings.ToLower(strings.TrimSpace(fields[0])), "/")
		if !ok || typ == "" || sub == "" {
			continue
		}
		mr := mediaRange{typ: strings.TrimSpace(typ), sub: strings.TrimSpace(sub), q: 1}
		for _, p := range fields[1:] {
			k, v, _ := strings.Cut(p, "=")
			if strings.TrimSpace(strings.ToLower(k)) != "q" {
				continue
			}
			q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil || q < 0 || q > 1 {
				q = 0
			}
			mr.q = q
		}
		ranges = append(ranges, mr)
	}
	return ranges
}

// match returns how specifically r names media (0 = not at all, 1 = */*,
// 2 = type/*, 3 = exact).
func (r mediaRange) match(media string) int {
	typ, sub, _ := strings.Cut(media, "/")
	switch {
	case r.typ == typ && r.sub == sub:
		return 3
	case r.typ == typ && r.sub == "*":
		return 2
	case r.typ == "*" && r.sub == "*":
		return 1
	}
	return 0
}

// negotiate picks the media type to answer an Accept header with, among
// those mode allows, following RFC 9110: the most specific range naming an
// offer gives its quality; the highest quality wins, then the range listed
// first, then the server's preference. It returns "" when nothing the client
// accepts is offered.
func negotiate(accept string, mode Mode) string {
	ranges := parseAccept(accept)
	best, bestQ, bestPos, bestRank := "", 0.0, 0, 0
	for _, o := range offers {
		if (mode == HTMLOnly && o.media == MediaJSON) || (mode == JSONOnly && o.media != MediaJSON) {
			continue
		}
		spec, q, pos := 0, 0.0, 0
		for i, r := range ranges {
			s := 0
			for _, name := range append([]string{o.media}, o.aliases...) {
				s = max(s, r.match(name))
			}
			if s > spec {
				spec, q, pos = s, r.q, i
			}
		}
		if spec == 0 || q <= 0 {
			continue
		}
		rank := 0
		if spec == 1 {
			rank = o.wildcardRank
		}
		if best == "" || q > bestQ || (q == bestQ && (pos < bestPos || (pos == bestPos && rank > bestRank))) {
			best, bestQ, bestPos, bestRank = o.media, q, pos, rank
		}
	}
	return best
}
