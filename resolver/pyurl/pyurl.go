// Package pyurl takes URLs apart and puts them back together as Python's
// urllib.parse.urlsplit and urlunsplit do. pip and packaging use those to
// read links, so larder must split a link exactly as they would: unlike
// net/url, they never unescape, accept almost anything, and rebuild the
// same string from the same parts.
//
// urlunsplit is Python 3.11's (the Python of Debian 12, which the
// differential tests run); 3.12 changed how an empty network location of
// a path starting with "//" is written.
package pyurl

import (
	"net/netip"
	"regexp"
	"strings"
)

// URL is the five components urlsplit returns.
type URL struct {
	Scheme, Netloc, Path, Query, Fragment string
}

// c0OrSpace is what urlsplit strips from the start of a URL (WHATWG's C0
// control or space); tab, CR and LF are removed wherever they are.
const c0OrSpace = "\x00\x01\x02\x03\x04\x05\x06\x07\x08\t\n\x0b\x0c\r\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f "

var unsafeBytes = strings.NewReplacer("\t", "", "\r", "", "\n", "")

// Split is urlsplit. It reports false where Python raises ValueError: a
// network location with an unbalanced bracket, or a bracketed host that is
// neither an IPv6 address nor an IPvFuture literal. The parts are filled
// in either way.
func Split(s string) (URL, bool) {
	s = unsafeBytes.Replace(strings.TrimLeft(s, c0OrSpace))
	var u URL
	if i := strings.IndexByte(s, ':'); i > 0 && isLetter(s[0]) && isSchemeRun(s[:i]) {
		u.Scheme, s = strings.ToLower(s[:i]), s[i+1:]
	}
	ok := true
	if strings.HasPrefix(s, "//") {
		end := len(s)
		if i := strings.IndexAny(s[2:], "/?#"); i >= 0 {
			end = i + 2
		}
		u.Netloc, s = s[2:end], s[end:]
		open, closed := strings.Contains(u.Netloc, "["), strings.Contains(u.Netloc, "]")
		switch {
		case open != closed:
			ok = false // "Invalid IPv6 URL"
		case open:
			_, after, _ := strings.Cut(u.Netloc, "[")
			host, _, _ := strings.Cut(after, "]")
			ok = validBracketedHost(host)
		}
	}
	s, u.Fragment, _ = strings.Cut(s, "#")
	u.Path, u.Query, _ = strings.Cut(s, "?")
	return u, ok
}

// usesNetloc are the schemes for which urlunsplit writes "//" even when
// the network location is empty.
var usesNetloc = map[string]bool{
	"ftp": true, "http": true, "gopher": true, "nntp": true, "telnet": true, "imap": true,
	"wais": true, "file": true, "mms": true, "https": true, "shttp": true, "snews": true,
	"prospero": true, "rtsp": true, "rtspu": true, "rsync": true, "svn": true,
	"svn+ssh": true, "sftp": true, "nfs": true, "git": true, "git+ssh": true, "ws": true, "wss": true,
}

// String is urlunsplit.
func (u URL) String() string {
	s := u.Path
	if u.Netloc != "" || (u.Scheme != "" && usesNetloc[u.Scheme] && !strings.HasPrefix(s, "//")) {
		if s != "" && s[0] != '/' {
			s = "/" + s
		}
		s = "//" + u.Netloc + s
	}
	if u.Scheme != "" {
		s = u.Scheme + ":" + s
	}
	if u.Query != "" {
		s += "?" + u.Query
	}
	if u.Fragment != "" {
		s += "#" + u.Fragment
	}
	return s
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
		c := s[i]
		if !isLetter(c) && !('0' <= c && c <= '9') && c != '+' && c != '-' && c != '.' {
			return false
		}
	}
	return true
}
