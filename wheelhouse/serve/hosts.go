package serve

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"github.com/larder-build/larder/resolver/simple"
	"sync"
	"syscall"
)

// maxRedirects bounds the redirects one upstream request follows; PyPI
// sends none for files and one for a non-normalized page name.
const maxRedirects = 3

// errRefused marks an upstream request larder refused to send: a file on
// a host the upstream is not allowed to name, this server's own address,
// too many redirects. It says nothing about the upstream's health, so the
// breaker never counts it.
var errRefused = errors.New("refused")

// defaultFileHosts are the file hosts an upstream's pages name, for the
// indexes known to keep files elsewhere.
var defaultFileHosts = map[string][]string{
	"https://pypi.org":      {"https://files.pythonhosted.org"},
	"https://test.pypi.org": {"https://test-files.pythonhosted.org"},
}

// origin returns scheme://host:port of an http(s) URL, lowercased with the
// default port made explicit, so that two spellings of one server compare
// equal; "" for anything else, and for a URL with a user or password.
func origin(u *url.URL) string {
	if u.User != nil {
		return ""
	}
	return simple.Origin(u)
}

// checkFileHost reads a configured file host: an http(s) URL with no path
// but "/", no query and no user.
func checkFileHost(s string) (string, error) {
	u, err := url.Parse(s)
	if err == nil && (u.Path == "" || u.Path == "/") && u.RawQuery == "" && u.Fragment == "" {
		if o := origin(u); o != "" {
			return o, nil
		}
	}
	return "", fmt.Errorf("file host %q: want an http(s) URL of a host only, e.g. https://files.pythonhosted.org", simple.RedactURL(s))
}

// allowedOrigins returns the origins fall-through requests may go to: the
// upstream's own, the defaults for a known upstream, and the configured
// file hosts (already checked).
func allowedOrigins(upstream string, fileHosts []string) (map[string]bool, error) {
	u, err := url.Parse(upstream)
	if err != nil || origin(u) == "" {
		return nil, fmt.Errorf("upstream %q: want an http(s) URL of a simple index, with no user or password", simple.RedactURL(upstream))
	}
	allowed := map[string]bool{origin(u): true}
	short := strings.TrimSuffix(strings.TrimSuffix(origin(u), ":443"), ":80")
	for _, h := range append(defaultFileHosts[short], fileHosts...) {
		o, err := checkFileHost(h)
		if err != nil {
			return nil, err
		}
		allowed[o] = true
	}
	return allowed, nil
}

// selfGuard knows the addresses this server listens on, so that no
// upstream request ever connects to them: a page naming the server's own
// address would otherwise turn one request into a recursion of requests
// to itself. It compares the address actually dialled, after name
// resolution, so localhost, 127.0.0.1, [::1] and a wildcard listener's
// interface addresses are all caught.
type selfGuard struct {
	id string // in the Via header of every upstream request

	mu    sync.RWMutex
	addrs []netip.AddrPort // listen addresses
	local []netip.Addr     // the host's addresses, for a wildcard listener
}

func newSelfGuard() *selfGuard {
	b := make([]byte, 8)
	rand.Read(b)
	return &selfGuard{id: "larder-index-" + hex.EncodeToString(b)}
}

// listening records a listener's address.
func (g *selfGuard) listening(a net.Addr) {
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return
	}
	ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	var local []netip.Addr
	if ap.Addr().IsUnspecified() {
		if ifaddrs, err := net.InterfaceAddrs(); err == nil {
			for _, ia := range ifaddrs {
				if n, ok := ia.(*net.IPNet); ok {
					if ip, ok := netip.AddrFromSlice(n.IP); ok {
						local = append(local, ip.Unmap())
					}
				}
			}
		}
	}
	g.mu.Lock()
	g.addrs = append(g.addrs, ap)
	g.local = append(g.local, local...)
	g.mu.Unlock()
}

// isSelf reports whether connecting to addr ("ip:port") reaches this
// server. Any loopback or unspecified address on a listening port counts:
// on Linux 0.0.0.0 and all of 127/8 reach the host itself.
func (g *selfGuard) isSelf(addr string) bool {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return false
	}
	ip := ap.Addr().Unmap()
	g.mu.RLock()
	defer g.mu.RUnlock()
	for _, l := range g.addrs {
		if l.Port() != ap.Port() {
			continue
		}
		if ip == l.Addr() || ip.IsLoopback() || ip.IsUnspecified() {
			return true
		}
		if l.Addr().IsUnspecified() {
			for _, a := range g.local {
				if a == ip {
					return true
				}
			}
		}
	}
	return false
}

// control is a net.Dialer Control function refusing this server's own
// addresses.
func (g *selfGuard) control(network, address string, _ syscall.RawConn) error {
	if g.isSelf(address) {
		return fmt.Errorf("connecting to %s, this server's own address: %w", address, errRefused)
	}
	return nil
}

// looped reports whether a request came from this very server, through
// whatever proxies or names: its Via header carries our id.
func (g *selfGuard) looped(r *http.Request) bool {
	for _, v := range r.Header.Values("Via") {
		if strings.Contains(v, g.id) {
			return true
		}
	}
	return false
}

// checkRedirect bounds redirects and sends none to an origin the upstream
// may not name.
func checkRedirect(allowed map[string]bool) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if len(via) > maxRedirects {
			return fmt.Errorf("following more than %d redirects from %s: %w", maxRedirects, via[0].URL.Redacted(), errRefused)
		}
		if !allowed[origin(req.URL)] {
			return fmt.Errorf("following a redirect from %s to %s, a host the upstream may not name: %w", via[len(via)-1].URL, req.URL.Redacted(), errRefused)
		}
		return nil
	}
}
