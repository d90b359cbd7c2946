package pep508

import (
	"net/netip"
	"regexp"
	"strings"
)

// validURL reports whether packaging would accept u as the URL of a direct
// reference. It mirrors the checks packaging makes with Python's
// urllib.parse: a file: URL must survive a split and re-join unchanged, and
// any other URL needs both a scheme and a network location. The parser has
// already excluded whitespace and control characters, which Python would
// strip before splitting.
func validURL(u string) bool {
	p, ok := splitURL(u)
	if !ok {
		return false
	}
	if p.scheme == "file" {
		return p.join() == u
	}
	return p.scheme != "" && p.netloc != ""
}

// urlParts are the five components of urllib.parse.urlsplit.
type urlParts struct {
	scheme, netloc, path, query, fragment string
}

func splitURL(u string) (urlParts, bool) {
	var p urlParts
	rest := u
	if i := strings.IndexByte(rest, ':'); i > 0 && isLetter(rest[0]) && isSchemeRun(rest[:i]) {
		p.scheme, rest = strings.ToLower(rest[:i]), rest[i+1:]
	}
	if strings.HasPrefix(rest, "//") {
		end := len(rest)
		if i := strings.IndexAny(rest[2:], "/?#"); i >= 0 {
			end = i + 2
		}
		p.netloc, rest = rest[2:end], rest[end:]
		open, closed := strings.Contains(p.netloc, "["), strings.Contains(p.netloc, "]")
		if open != closed {
			return p, false // Python: "Invalid IPv6 URL"
		}
		if open {
			_, after, _ := strings.Cut(p.netloc, "[")
			host, _, _ := strings.Cut(after, "]")
			if !validBracketedHost(host) {
				return p, false
			}
		}
	}
	if before, after, ok := strings.Cut(rest, "#"); ok {
		rest, p.fragment = before, after
	}
	if before, after, ok := strings.Cut(rest, "?"); ok {
		rest, p.query = before, after
	}
	p.path = rest
	return p, true
}

// join is urllib.parse.urlunsplit for schemes that use a network location,
// which is all join is needed for (file:).
func (p urlParts) join() string {
	u := p.path
	if p.netloc != "" || !strings.HasPrefix(u, "//") {
		if u != "" && u[0] != '/' {
			u = "/" + u
		}
		u = "//" + p.netloc + u
	}
	if p.scheme != "" {
		u = p.scheme + ":" + u
	}
	if p.query != "" {
		u += "?" + p.query
	}
	if p.fragment != "" {
		u += "#" + p.fragment
	}
	return u
}

var ipvFuture = regexp.MustCompile(`^v[a-fA-F0-9]+\..+$`)

// validBracketedHost accepts what Python's _check_bracketed_host does: an
// IPvFuture literal or an IPv6 address (not IPv4) between brackets.
func validBracketedHost(h string) bool {
	if strings.HasPrefix(h, "v") {
		return ipvFuture.MatchString(h)
	}
	a, err := netip.ParseAddr(h)
	return err == nil && a.Is6()
}

func isLetter(c byte) bool { return 'A' <= c&^0x20 && c&^0x20 <= 'Z' }

func isSchemeRun(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '+' && c != '-' && c != '.' {
			return false
		}
	}
	return true
}
