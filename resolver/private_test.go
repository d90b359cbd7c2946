package resolver

import (
	"strings"
	"testing"

	"github.com/larder-build/larder/internal/pypitest"
	"github.com/larder-build/larder/resolver/distname"
)

// TestPrivateGlobsMatchAsTheServerMatchesThem: the lock marks a package
// private exactly when larder-index will refuse to fall through for it
// (both use distname's globs), whatever the spelling of name and glob.
func TestPrivateGlobsMatchAsTheServerMatchesThem(t *testing.T) {
	idx := &pypitest.Index{Projects: []pypitest.Project{
		{Name: "acme_tools", Releases: []pypitest.Release{pure("1.0")}},
		{Name: "Acme.Billing", Releases: []pypitest.Release{pure("1.0")}},
		{Name: "public-lib", Releases: []pypitest.Release{pure("1.0")}},
	}}
	for _, globs := range [][]string{{"acme-*"}, {"Acme_*"}, {" ACME.* "}, {"[a]cme-*"}} {
		res, err := resolveWith(t, idx, Request{Requirements: reqs(t, "acme-tools", "acme-billing", "public-lib"), Private: globs})
		if err != nil {
			t.Fatal(err)
		}
		server, err := distname.CompileGlobs(globs)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range res.Packages {
			want := server.Match(distname.NormalizeName(p.Name))
			if p.Private != want || want == strings.HasPrefix(p.Name, "public") {
				t.Errorf("globs %q: %s private=%v, the server says %v", globs, p.Name, p.Private, want)
			}
		}
	}
	if _, err := resolveWith(t, idx, Request{Requirements: reqs(t, "public-lib"), Private: []string{"acme-["}}); err == nil || !strings.Contains(err.Error(), `"acme-["`) {
		t.Errorf("a malformed glob: %v", err)
	}
}
