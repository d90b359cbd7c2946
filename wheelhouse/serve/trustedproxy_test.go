package serve

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/larder-build/larder/internal/uploadtest"
	"github.com/larder-build/larder/wheelhouse"
)

// loginVia GETs u as user (none when ""), with X-Forwarded-For set to forwarded when it
// is not empty, and returns the status.
func loginVia(t *testing.T, u, forwarded, user, pass string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	if forwarded != "" {
		req.Header.Set("X-Forwarded-For", forwarded)
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// proxiedServer serves an empty wheelhouse with --read-auth for alice
// (password pw), with opts.
func proxiedServer(t *testing.T, opts ...Option) (*Server, string) {
	t.Helper()
	st, err := wheelhouse.Create(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return startServer(t, st, append([]Option{WithHtpasswd(uploadtest.Htpasswd(t, "alice:pw")), WithReadAuth(true), WithOffline(true)}, opts...)...)
}

// TestAFloodOfWrongLoginsThroughATrustedProxyLocksOutOnlyItsClient: the
// server sits behind a proxy on loopback, named with WithTrustedProxies.
// One client floods it with wrong logins until it is answered 429; the
// other clients of the same proxy still log in, with a remembered
// password and with one checked for the first time, while the flooding
// client stays throttled even with the right password.
func TestAFloodOfWrongLoginsThroughATrustedProxyLocksOutOnlyItsClient(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		attacker, remembered string
		fresh, attackerMate  string // a new client, and one the attacker's key covers
		forwarded            func(i int) string
	}{
		{"IPv4 clients", "203.0.113.7", "198.51.100.9", "198.51.100.10", "203.0.113.7",
			func(int) string { return "203.0.113.7" }},
		// An IPv6 client's /64 is one client: the attacker cycling its
		// addresses is one, and another address of it is throttled too.
		{"IPv6 clients", "2001:db8:1:2::7", "2001:db8:9::1", "2001:db8:1:3::1", "2001:db8:1:2:ffff::1",
			func(i int) string { return fmt.Sprintf("2001:db8:1:2::%x", i+1) }},
		// The attacker writes a new address of its own on every login,
		// left of what the proxy appends: the proxy's entry counts.
		{"addresses the attacker wrote", "203.0.113.7", "198.51.100.9", "198.51.100.10", "203.0.113.7",
			func(i int) string { return fmt.Sprintf("192.0.2.%d, not-an-address, 203.0.113.7", i+1) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, base := proxiedServer(t, WithTrustedProxies("127.0.0.0/8", "::1"))
			u := base + "/simple/"
			if got := loginVia(t, u, tc.remembered, "alice", "pw"); got != http.StatusOK {
				t.Fatalf("first login of %s: %d, want 200", tc.remembered, got)
			}
			throttled := 0
			for i := range maxAuthFailures + 5 {
				if loginVia(t, u, tc.forwarded(i), "alice", fmt.Sprintf("wr0ng-%d", i)) == http.StatusTooManyRequests {
					throttled++
				}
			}
			if throttled != 5 {
				t.Errorf("%d wrong logins for %s: %d answered 429, want 5", maxAuthFailures+5, tc.attacker, throttled)
			}
			for _, c := range []struct {
				who, client string
				want        int
			}{
				{"the remembered client", tc.remembered, http.StatusOK},
				{"a new client", tc.fresh, http.StatusOK},
				{"the flooding client", tc.attacker, http.StatusTooManyRequests},
				{"the flooding client's other address", tc.attackerMate, http.StatusTooManyRequests},
			} {
				if got := loginVia(t, u, c.client, "alice", "pw"); got != c.want {
					t.Errorf("right password from %s %s after the flood: %d, want %d", c.who, c.client, got, c.want)
				}
			}
		})
	}
}

// TestAnUntrustedPeersForwardedForIsIgnored: a client that is not a
// trusted proxy (none is named, or another range is) and writes a new
// X-Forwarded-For address on every wrong login is throttled after
// maxAuthFailures all the same, as its own address.
func TestAnUntrustedPeersForwardedForIsIgnored(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []Option
	}{
		{"no trusted proxy", nil},
		{"another range trusted", []Option{WithTrustedProxies("192.0.2.0/24", "2001:db8::/32")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, base := proxiedServer(t, tc.opts...)
			u := base + "/simple/"
			counts := map[int]int{}
			for i := range maxAuthFailures + 5 {
				counts[loginVia(t, u, fmt.Sprintf("198.51.100.%d", i+1), "alice", "wr0ng")]++
			}
			if counts[http.StatusUnauthorized] != maxAuthFailures || counts[http.StatusTooManyRequests] != 5 {
				t.Errorf("%d wrong logins, each naming another X-Forwarded-For: %v by status; want %d 401 and 5 429",
					maxAuthFailures+5, counts, maxAuthFailures)
			}
			if got := loginVia(t, u, "192.0.2.200", "alice", "pw"); got != http.StatusTooManyRequests {
				t.Errorf("right password naming a fresh X-Forwarded-For: %d, want 429", got)
			}
		})
	}
}

// TestTheClientOfAForwardedRequestIsTheRightMostUntrustedAddress reads
// X-Forwarded-For as the failed-login limiter does, for requests from a
// trusted proxy and from others.
func TestTheClientOfAForwardedRequestIsTheRightMostUntrustedAddress(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	for _, tc := range []struct {
		name, remote string
		headers      []string // X-Forwarded-For lines, in order
		want         string   // the key; "" for the peer's own
	}{
		{"an untrusted peer's header is ignored", "192.0.2.1:5000", []string{"198.51.100.1"}, "192.0.2.1"},
		{"a trusted proxy without the header is its own client", "10.0.0.1:5000", nil, "10.0.0.1"},
		{"the proxy's entry", "10.0.0.1:5000", []string{"198.51.100.1"}, "198.51.100.1"},
		{"entries the client wrote are left of it", "10.0.0.1:5000", []string{"1.1.1.1, 2.2.2.2, 198.51.100.1"}, "198.51.100.1"},
		{"trusted hops are skipped", "10.0.0.1:5000", []string{"1.1.1.1, 198.51.100.1, 10.9.9.9, fd00::5"}, "198.51.100.1"},
		{"several lines are one list", "10.0.0.1:5000", []string{"1.1.1.1, 198.51.100.1", "10.2.2.2"}, "198.51.100.1"},
		{"the last line counts first", "10.0.0.1:5000", []string{"10.2.2.2", "198.51.100.1"}, "198.51.100.1"},
		{"malformed entries are skipped", "10.0.0.1:5000", []string{"198.51.100.1, unknown, , 300.1.1.1,"}, "198.51.100.1"},
		{"only malformed entries", "10.0.0.1:5000", []string{"unknown, _hidden"}, "10.0.0.1"},
		{"all trusted: the farthest", "10.0.0.1:5000", []string{"10.7.7.7, 10.8.8.8"}, "10.7.7.7"},
		{"an entry with a port", "10.0.0.1:5000", []string{"198.51.100.1:6000"}, "198.51.100.1"},
		{"an IPv6 entry with a port", "10.0.0.1:5000", []string{"[2001:db8:1:2::9]:6000"}, "2001:db8:1:2::/64"},
		{"an IPv6 client is its /64", "[fd00::1]:5000", []string{"2001:db8:1:2::9"}, "2001:db8:1:2::/64"},
		{"an IPv4-mapped client is its IPv4 address", "10.0.0.1:5000", []string{"::ffff:198.51.100.1"}, "198.51.100.1"},
		{"an IPv4-mapped proxy is trusted", "[::ffff:10.0.0.1]:5000", []string{"198.51.100.1"}, "198.51.100.1"},
		{"a zone is dropped", "10.0.0.1:5000", []string{"fe80::1%eth0"}, "fe80::/64"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/simple/", nil)
			r.RemoteAddr = tc.remote
			for _, h := range tc.headers {
				r.Header.Add("X-Forwarded-For", h)
			}
			if got := requestKey(r, trusted); got != tc.want {
				t.Errorf("counted as %q, want %q", got, tc.want)
			}
			if got, want := requestKey(r, nil), clientKey(tc.remote); got != want {
				t.Errorf("without trusted proxies: counted as %q, want the peer's %q", got, want)
			}
		})
	}
}

// TestTrustedProxyRangesAreValidated: WithTrustedProxies and the
// configuration's trusted_proxies take CIDR ranges and single addresses,
// and refuse, quoting it, a range that is malformed, has bits set past
// its length, or holds every address.
func TestTrustedProxyRangesAreValidated(t *testing.T) {
	for _, tc := range []struct {
		in, want string // want: the range, or what the error says
		ok       bool
	}{
		{"10.0.0.0/8", "10.0.0.0/8", true},
		{"10.1.2.3", "10.1.2.3/32", true},
		{"fd00::/8", "fd00::/8", true},
		{"::1", "::1/128", true},
		{"::ffff:10.0.0.0/104", "10.0.0.0/8", true},
		{"10.1.2.3/8", "write 10.0.0.0/8 for the range, or 10.1.2.3/32 for the one address", false},
		{"0.0.0.0/0", "would believe every client's X-Forwarded-For", false},
		{"::/0", "would believe every client's X-Forwarded-For", false},
		{"proxy.internal", "want a CIDR range", false},
		{"10.0.0.0/33", "want a CIDR range", false},
		{"fe80::1%eth0", "want a CIDR range", false},
		{"", "want a CIDR range", false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			p, err := parseTrustedProxy(tc.in)
			if tc.ok {
				if err != nil || p.String() != tc.want {
					t.Errorf("parseTrustedProxy(%q) = %v, %v; want %s", tc.in, p, err, tc.want)
				}
				return
			}
			cfgErr := Config{Wheelhouse: "w", TrustedProxies: []string{tc.in}}.Validate()
			_, optErr := New(nil, WithTrustedProxies(tc.in))
			for _, err := range []error{err, cfgErr, optErr} {
				if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("trusted proxy %q", tc.in)) || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("trusted proxy %q: %v, want it refused, quoted: %s", tc.in, err, tc.want)
				}
			}
		})
	}
}

// TestTheAccessLogNamesTheClientATrustedProxyForwarded: with a trusted
// proxy, a request's log line names the client its X-Forwarded-For gives
// besides the TCP peer; an untrusted peer's line names no client.
func TestTheAccessLogNamesTheClientATrustedProxyForwarded(t *testing.T) {
	for _, tc := range []struct {
		name    string
		trusted string
		want    string
	}{
		{"trusted", "127.0.0.1", "client=198.51.100.9\n"},
		{"untrusted", "192.0.2.0/24", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var log testLog
			_, base := proxiedServer(t, WithTrustedProxies(tc.trusted), WithAccessLog(true), WithLogger(log.logger()))
			loginVia(t, base+"/-/healthz", "203.0.113.1, 198.51.100.9", "", "")
			// The line is written once the answer is sent.
			line := log.String()
			for deadline := time.Now().Add(10 * time.Second); !strings.Contains(line, "msg=request") && time.Now().Before(deadline); line = log.String() {
				time.Sleep(10 * time.Millisecond)
			}
			if !strings.Contains(line, "remote=127.0.0.1:") {
				t.Errorf("the log line names no TCP peer:\n%s", line)
			}
			if tc.want != "" && !strings.Contains(line, tc.want) {
				t.Errorf("the log line does not say %q:\n%s", tc.want, line)
			}
			if tc.want == "" && strings.Contains(line, "client=") {
				t.Errorf("an untrusted peer's X-Forwarded-For is logged as its client:\n%s", line)
			}
		})
	}
}

// TestUploadLogLinesNameTheForwardedClient: behind a trusted proxy, the
// log lines of an upload (refused for its credentials, refused for its
// form) name the client the proxy forwarded it for, the address the
// failed-login limiter counts, besides the proxy as the TCP peer; from
// an untrusted peer, its X-Forwarded-For is not believed there either.
func TestUploadLogLinesNameTheForwardedClient(t *testing.T) {
	w := projectWheel(t, "logged", "1.0", 0)
	for _, tc := range []struct {
		name       string
		trusted    []string
		wantClient string
	}{
		{"a trusted proxy", []string{"127.0.0.0/8"}, "client=203.0.113.7 "},
		{"an untrusted peer", []string{"192.0.2.0/24"}, "client=127.0.0.1 "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			log := &testLog{}
			_, _, base := uploadServer(t, WithTrustedProxies(tc.trusted...), WithLogger(log.logger()))
			for _, up := range []struct {
				pass, line string
				edit       func(map[string]string)
			}{
				{"wr0ng", "refusing an upload: no valid credentials", nil},
				{"pw", "refusing an upload\"", func(f map[string]string) { f[":action"] = "remove_pkg" }},
			} {
				req := uploadRequest(t, base+"/legacy/", w, up.edit)
				req.SetBasicAuth("alice", up.pass)
				req.Header.Set("X-Forwarded-For", "198.51.100.1, 203.0.113.7")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					t.Fatalf("upload with password %q: 200, want it refused", up.pass)
				}
				var found string
				for l := range strings.SplitSeq(log.String(), "\n") {
					if strings.Contains(l, up.line) {
						found = l
					}
				}
				switch {
				case found == "":
					t.Errorf("no log line %q:\n%s", up.line, log.String())
				case !strings.Contains(found, tc.wantClient) || !strings.Contains(found, "remote=127.0.0.1:"):
					t.Errorf("log line %q: want %q and the TCP peer as remote", found, tc.wantClient)
				}
			}
		})
	}
}
