package serve

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/larder-build/larder/internal/pypitest"
	"github.com/larder-build/larder/resolver/distname"
)

func TestNegotiateHonoursQualityValues(t *testing.T) {
	tests := []struct {
		accept string
		want   format
	}{
		{"", formatTextHTML},
		{"application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01", formatJSON}, // pip
		{"application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01", formatJSON},   // uv
		{"text/html", formatTextHTML},
		{"TEXT/HTML", formatTextHTML},
		{"application/vnd.pypi.simple.v1+html", formatHTML},
		{"application/vnd.pypi.simple.latest+html", formatHTML},
		{"application/vnd.pypi.simple.v1+json;q=0.5, application/vnd.pypi.simple.v1+html;q=0.6", formatHTML},
		{"text/html, application/vnd.pypi.simple.v1+json", formatJSON}, // equal q: the server prefers JSON
		{"*/*", formatTextHTML},
		{"application/*", formatJSON},
		{"application/*;q=0.5, text/*;q=0.4", formatJSON},
		{"*/*;q=0.1, application/vnd.pypi.simple.v1+json;q=0", formatTextHTML},
		{"application/vnd.pypi.simple.v1+json;q=0", formatNone},
		{"application/json", formatNone},
		{"image/png, text/plain", formatNone},
		{"text/html;q=abc", formatNone},
		{"text/html;q=2", formatNone},
		{",,;;=,", formatNone},
	}
	for _, tt := range tests {
		if got := negotiate(tt.accept); got != tt.want {
			t.Errorf("negotiate(%q) = %d, want %d", tt.accept, got, tt.want)
		}
	}
}

func TestNormalizeFollowsPEP503(t *testing.T) {
	for in, want := range map[string]string{
		"Django": "django", "zope.interface": "zope-interface", "Foo__Bar--baz..Qux": "foo-bar-baz-qux",
		"a-_.b": "a-b", "A": "a", "-x-": "-x-",
	} {
		if got := distname.NormalizeName(in); got != want || got != pypitest.Normalize(in) {
			t.Errorf("NormalizeName(%q) = %q, want %q", in, got, want)
		}
	}
	for name, want := range map[string]bool{"django": true, "a": true, "a-b-1": true, "-a": false, "a-": false, "": false, "a_b": false, "a/b": false, "é": false} {
		if validProjectName(name) != want {
			t.Errorf("validProjectName(%q) != %v", name, want)
		}
	}
}

func TestPrivateGlobsMatchNormalizedNames(t *testing.T) {
	m, err := newGlobMatcher([]string{"Acme_*", "internal.tool", "corp-[ab]*", "  "})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]bool{
		"acme-billing": true, "acme-": true, "acmebilling": false, "internal-tool": true, "internal-tools": false,
		"corp-alpha": true, "corp-beta": true, "corp-gamma": false, "django": false,
	} {
		if got := m.Match(name); got != want {
			t.Errorf("match(%q) = %v, want %v", name, got, want)
		}
	}
	if _, err := newGlobMatcher([]string{"acme-[z"}); err == nil {
		t.Error("a malformed glob is accepted")
	}
}

func TestSplitFilenameReadsWheelsAndSdists(t *testing.T) {
	tests := []struct{ file, project, version string }{
		{"foo_bar-1.0-py3-none-any.whl", "foo_bar", "1.0"},
		{"foo-1.0-1-cp311-cp311-linux_x86_64.whl", "foo", "1.0"},
		{"python-dateutil-2.8.2.tar.gz", "python-dateutil", "2.8.2"},
		{"Django-4.2.zip", "Django", "4.2"},
		{"foo-1.0.tar.bz2", "foo", "1.0"},
	}
	for _, tt := range tests {
		p, v, ok := splitFilename(tt.file, "")
		if !ok || p != tt.project || v != tt.version {
			t.Errorf("splitFilename(%q) = %q %q %v", tt.file, p, v, ok)
		}
	}
	for _, bad := range []string{"foo.whl", "foo-1.0.whl", "-1.0.tar.gz", "foo-.tar.gz", "foo-1.0.exe"} {
		if _, _, ok := splitFilename(bad, ""); ok {
			t.Errorf("splitFilename(%q) accepted", bad)
		}
	}
}

func TestVersionsSortForPeople(t *testing.T) {
	got := sortVersions([]string{"1.10", "1.9", "1.0rc1", "1.0", "2.0", "1.0", "1.0.post1", "10.0"})
	want := []string{"1.0", "1.0.post1", "1.0rc1", "1.9", "1.10", "2.0", "10.0"}
	if !slices.Equal(got, want) {
		t.Errorf("sortVersions = %v, want %v", got, want)
	}
}

func TestReadConfigIsStrictAndReadsDurations(t *testing.T) {
	dir := t.TempDir()
	write := func(doc string) string {
		p := filepath.Join(dir, "index.json")
		if err := os.WriteFile(p, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	c, err := ReadConfig(write(`{"wheelhouse": "/w", "addr": "0.0.0.0:3141", "private": ["a-*"], "offline": true, "cache_dir": "/c", "ttl": "90s", "access_log": true}`))
	if err != nil || c.Wheelhouse != "/w" || c.TTL != Duration(90*time.Second) || !c.Offline || !c.AccessLog || c.CacheDir != "/c" || c.Private[0] != "a-*" {
		t.Errorf("config %+v, %v", c, err)
	}
	if c, err := ReadConfig(write(`{"wheelhouse": "/w", "ttl": 30}`)); err != nil || c.TTL != Duration(30*time.Second) {
		t.Errorf("ttl in seconds: %+v %v", c, err)
	}
	for _, bad := range []string{`{"wheelhouse": "/w", "privat": []}`, `{"ttl": "soon"}`, `{"ttl": -1}`, `{} {}`, `[`} {
		if _, err := ReadConfig(write(bad)); err == nil {
			t.Errorf("ReadConfig(%s) accepted", bad)
		}
	}
	if _, err := ReadConfig(filepath.Join(dir, "missing.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	for _, c := range []Config{{}, {Wheelhouse: "/w", Addr: "3141"}, {Wheelhouse: "/w", Upstream: "ftp://x/"}, {Wheelhouse: "/w", Private: []string{"["}}} {
		if err := c.Validate(); err == nil {
			t.Errorf("Validate(%+v) accepted", c)
		}
	}
	if got := IndexURL("0.0.0.0:3141"); got != "http://127.0.0.1:3141/simple/" {
		t.Errorf("IndexURL(0.0.0.0:3141) = %s", got)
	}
	if got := IndexURL("[::]:80"); got != "http://[::1]:80/simple/" {
		t.Errorf("IndexURL([::]:80) = %s", got)
	}
}

func TestBreakerBackoffIsCapped(t *testing.T) {
	st, _ := smallStore(t)
	clock := newFakeClock()
	s, base := startServer(t, st, WithUpstream("http://"+refusingAddr(t)+"/simple/"), withClock(clock.now), withBackoff(time.Minute, 2*time.Minute))
	for _, advance := range []time.Duration{0, time.Minute, 2 * time.Minute, 2 * time.Minute} {
		clock.advance(advance)
		get(t, base+"/simple/beta/", pipAccept)
		get(t, base+"/simple/beta/", pipAccept)
	}
	if st := s.Stats(); st.UpstreamRequests != 4 || st.UpstreamSkipped != 4 {
		t.Errorf("stats %+v: want a probe per back-off period of 1, 2, 2 minutes", st)
	}
}

func TestFailedLoginsAreCountedPerIPv4AddressAndPerIPv6Slash64(t *testing.T) {
	for _, tc := range []struct{ remote, want string }{
		{"192.0.2.7:51000", "192.0.2.7"},
		{"[2001:db8:1:2:aaaa::1]:443", "2001:db8:1:2::/64"},
		{"[2001:db8:1:2:ffff:ffff:ffff:ffff]:1", "2001:db8:1:2::/64"},
		{"[2001:db8:1:3::1]:1", "2001:db8:1:3::/64"},
		{"[fe80::1%eth0]:1", "fe80::/64"},
		{"[::ffff:192.0.2.7]:1", "::ffff:192.0.2.7"},
		{"[::1]:1", "::/64"},
		{"not-an-address", "not-an-address"},
	} {
		if got := clientKey(tc.remote); got != tc.want {
			t.Errorf("%s: counted as %q, want %q", tc.remote, got, tc.want)
		}
	}
}
