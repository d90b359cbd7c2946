package serve

import (
	"bytes"
	"encoding/json"
	"html"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/larder-build/larder/internal/pypitest"
	"github.com/larder-build/larder/internal/uploadtest"
	"github.com/larder-build/larder/resolver/pep440"
)

// TestOverviewAndHealthzShowTheBakeTheServerRunsIn reads index.json as
// larder-index does: lock_sha256 and baked reach / and /-/healthz, and a
// server outside a baked image shows neither.
func TestOverviewAndHealthzShowTheBakeTheServerRunsIn(t *testing.T) {
	st, _ := smallStore(t)
	lock := strings.Repeat("0123456789abcdef", 4)
	tests := []struct {
		name, json string
		want       []string // on /
		health     Health
	}{
		{"baked", `{"wheelhouse": "/wheelhouse", "offline": true, "lock_sha256": "` + lock + `", "baked": "2024-06-01T12:30:00+02:00"}`,
			[]string{"Image: lock sha256 " + lock + ", baked 2024-06-01T10:30:00Z."}, Health{LockSHA256: lock, Baked: "2024-06-01T10:30:00Z"}},
		{"not baked", `{"wheelhouse": "/wheelhouse", "offline": true}`, nil, Health{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "index.json")
			if err := os.WriteFile(path, []byte(tt.json), 0o644); err != nil {
				t.Fatal(err)
			}
			cfg, err := ReadConfig(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := cfg.Validate(); err != nil {
				t.Fatal(err)
			}
			cfg.CacheDir = t.TempDir()
			opts, err := cfg.Options(nil)
			if err != nil {
				t.Fatal(err)
			}
			_, base := startServer(t, st, opts...)
			_, body := get(t, base+"/")
			for _, w := range tt.want {
				if !bytes.Contains(body, []byte(html.EscapeString(w))) {
					t.Errorf("/ lacks %q:\n%s", w, body)
				}
			}
			if tt.want == nil && bytes.Contains(body, []byte("Image:")) {
				t.Errorf("/ names an image outside one:\n%s", body)
			}
			_, hb := get(t, base+"/-/healthz")
			var h Health
			if err := json.Unmarshal(hb, &h); err != nil {
				t.Fatal(err)
			}
			if h.LockSHA256 != tt.health.LockSHA256 || h.Baked != tt.health.Baked {
				t.Errorf("healthz says lock %q baked %q, want %q and %q", h.LockSHA256, h.Baked, tt.health.LockSHA256, tt.health.Baked)
			}
			if tt.want == nil && (bytes.Contains(hb, []byte("lock_sha256")) || bytes.Contains(hb, []byte(`"baked"`))) {
				t.Errorf("healthz has bake keys outside an image:\n%s", hb)
			}
		})
	}
}

// TestConfigRejectsABadLockDigestOrBakeTime names the key and the value.
func TestConfigRejectsABadLockDigestOrBakeTime(t *testing.T) {
	tests := []struct {
		name, lock, baked string
		want              string // "" when valid
	}{
		{"both good", strings.Repeat("ab", 32), "2024-06-01T00:00:00Z", ""},
		{"neither", "", "", ""},
		{"short digest", strings.Repeat("a", 63), "", `lock_sha256 "` + strings.Repeat("a", 63) + `"`},
		{"not hex", strings.Repeat("g", 64), "", `lock_sha256 "` + strings.Repeat("g", 64) + `": want 64 hex digits`},
		{"prefixed digest", "sha256:" + strings.Repeat("a", 64), "", "lock_sha256"},
		{"date only", "", "2024-06-01", `baked "2024-06-01": want an RFC 3339 time`},
		{"words", "", "yesterday", `baked "yesterday"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Config{Wheelhouse: "/wheelhouse", LockSHA256: tt.lock, Baked: tt.baked}
			err := c.Validate()
			_, oerr := c.Options(nil)
			switch {
			case tt.want == "" && (err != nil || oerr != nil):
				t.Errorf("Validate: %v; Options: %v", err, oerr)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want) || oerr == nil):
				t.Errorf("Validate: %v, want an error with %q; Options: %v", err, tt.want, oerr)
			}
		})
	}
}

// driftIndex is the upstream of the drift tests: what was baked, and what
// the upstream offers since.
func driftIndex() *pypitest.Index {
	yanked := release("9.0")
	yanked.Yanked = "broken"
	return &pypitest.Index{Projects: []pypitest.Project{
		// 1.10 is newer than 1.9 (PEP 440, not text), 2.0rc1 is a
		// pre-release and 9.0 is yanked: 1.10 is the one to show.
		{Name: "Alpha", Releases: []pypitest.Release{release("1.0"), release("1.9"), release("1.10"), release("2.0rc1"), yanked}},
		// 2.0.0 is 2.0: nothing newer.
		{Name: "same", Releases: []pypitest.Release{release("2.0"), release("2.0.0"), release("2.0.post1.dev1")}},
		// Newer upstream, but nobody asked for its page.
		{Name: "unasked", Releases: []pypitest.Release{release("1.0"), release("5.0")}},
		// Newer upstream, its page fetched, then the name uploaded here:
		// private from then on.
		{Name: "shadowed", Releases: []pypitest.Release{release("1.0"), release("4.0")}},
	}}
}

// TestOverviewShowsNewerUpstreamVersionsFromCachedPagesOnly fetches pages
// through a fake upstream and reads / : a baked public project whose
// cached page has a newer final release is listed; a page never asked for
// is not fetched for it; a project that became private is not listed.
func TestOverviewShowsNewerUpstreamVersionsFromCachedPagesOnly(t *testing.T) {
	srv := pypitest.Start(t, driftIndex())
	st := bake(t, srv, t.TempDir(), filesOf(t, srv, map[string]string{"alpha": "1.0", "same": "2.0", "unasked": "1.0", "shadowed": "1.0"},
		"alpha", "same", "unasked", "shadowed"), nil)
	_, base := startServer(t, st, WithUpstream(srv.URL()), WithCacheDir(t.TempDir()), WithHtpasswd(uploadtest.Htpasswd(t, "alice:pw-a")))

	_, body := get(t, base+"/")
	if bytes.Contains(body, []byte("Newer upstream")) {
		t.Errorf("/ shows drift before any page was fetched:\n%s", body)
	}
	for _, p := range []string{"alpha", "same", "shadowed"} {
		if resp, _ := get(t, base+"/simple/"+p+"/", pipAccept); resp.StatusCode != http.StatusOK {
			t.Fatalf("/simple/%s/: %d", p, resp.StatusCode)
		}
	}
	_, body = get(t, base+"/")
	rows := driftRows(body)
	if want := []string{"alpha 1.0 1.10", "same", "shadowed 1.0 4.0"}; strings.Join(rows, "|") != "alpha 1.0 1.10|shadowed 1.0 4.0" {
		t.Errorf("Newer upstream lists %q, want alpha and shadowed (not %q, equal):\n%s", rows, want[1], body)
	}

	// Uploading "shadowed" makes it private: its upstream page no longer
	// speaks for it.
	mustUpload(t, base, projectWheel(t, "shadowed", "1.5", 0), "alice", "pw-a")
	_, body = get(t, base+"/")
	if rows := driftRows(body); strings.Join(rows, "|") != "alpha 1.0 1.10" {
		t.Errorf("after shadowed became private, Newer upstream lists %q, want alpha alone:\n%s", rows, body)
	}
	if n := srv.Requests("/simple/unasked/"); n != 0 {
		t.Errorf("the upstream page of unasked was fetched %d times: / must use the cache alone", n)
	}
}

// driftRows returns the Newer upstream rows of /, as "project baked
// upstream".
func driftRows(body []byte) []string {
	var rows []string
	for _, line := range strings.Split(string(body), "\n") {
		if !strings.Contains(line, `<tr class="drift">`) {
			continue
		}
		var cells []string
		for _, c := range strings.Split(line, "<td>")[1:] {
			c = c[:strings.Index(c, "</td>")]
			if i := strings.Index(c, ">"); strings.HasPrefix(c, "<a") && i >= 0 {
				c = strings.TrimSuffix(c[i+1:], "</a>")
			}
			cells = append(cells, c)
		}
		rows = append(rows, strings.Join(cells, " "))
	}
	return rows
}

// TestPEP440OrderAgreesWithTheResolvers orders every pair of a list of
// versions with serve's small parser and with resolver/pep440 (which
// larder-index must not link), and compares the pre-release test too.
func TestPEP440OrderAgreesWithTheResolvers(t *testing.T) {
	versions := []string{
		"0", "0.9", "1", "1.0", "1.0.0", "1.0.0.0", "v1.0", "1.0.post1", "1.0-1", "1.0.post1.dev2", "1.0.r2", "1.0rev3",
		"1.0a1", "1.0alpha2", "1.0b1", "1.0.beta.2", "1.0c1", "1.0rc1", "1.0pre2", "1.0preview3", "1.0rc1.post1", "1.0rc1.dev1",
		"1.0.dev0", "1.0dev", "1.0.dev1", "1.0+local.7", "1.1", "1.9", "1.10", "1.10.1", "2!0.1", "1!9.9", "1.0RC2", "1.0-rc-3",
		"2024.6.1", "10.0", "1.0_post_4", "1.0a", "1.0.post", "0.0.0.1",
	}
	for _, a := range versions {
		pa, ok := parsePEP440(a)
		ra, err := pep440.Parse(a)
		if ok != (err == nil) {
			t.Errorf("%q: parsed %v here, by the resolver: %v", a, ok, err)
			continue
		}
		if !ok {
			continue
		}
		if pa.isPre() != ra.IsPrerelease() {
			t.Errorf("%q: pre-release %v here, %v by the resolver", a, pa.isPre(), ra.IsPrerelease())
		}
		for _, b := range versions {
			pb, ok := parsePEP440(b)
			rb, err := pep440.Parse(b)
			// Local labels order only builds of one release, which
			// upstream indexes do not list: drift ignores them.
			if !ok || err != nil || strings.Contains(a+b, "+") {
				continue
			}
			if got, want := pa.less(pb), ra.Compare(rb) < 0; got != want {
				t.Errorf("%q < %q: %v here, %v by the resolver", a, b, got, want)
			}
		}
	}
	for _, bad := range []string{"", "x", "1.0x", "1..0", "1.0-", "abc1", "1.0a1b2", "99999999999999999999"} {
		if _, ok := parsePEP440(bad); ok {
			t.Errorf("%q parsed as a version", bad)
		}
	}
}
