package resolver

import (
	"context"
	"strings"
	"testing"

	"github.com/larder-build/larder/internal/pypitest"
	"github.com/larder-build/larder/resolver/index"
	"github.com/larder-build/larder/resolver/target"
)

// TestWarmingIgnoresConstraintsWhoseMarkerExcludesATarget constrains lib
// below 2 only where python_version < "3.0", which no target is: lib 2.5
// is chosen, and lib 1.0's metadata, which the constraint would point a
// marker-blind warm-up at, is never fetched (lib has more versions above
// 2 than the resolver speculates on, so only the warm-up could ask).
func TestWarmingIgnoresConstraintsWhoseMarkerExcludesATarget(t *testing.T) {
	var libs []pypitest.Release
	for _, v := range []string{"1.0", "2.0", "2.1", "2.2", "2.3", "2.4", "2.5"} {
		libs = append(libs, pure(v))
	}
	srv := pypitest.Start(t, &pypitest.Index{Projects: []pypitest.Project{
		{Name: "app", Releases: []pypitest.Release{pure("1.0", "lib")}},
		{Name: "lib", Releases: libs},
	}})
	for i := 0; i < 5; i++ {
		srv.Reset()
		c, err := index.New([]string{srv.URL()}, index.WithCacheDir(t.TempDir()), index.WithRetries(0, 0))
		if err != nil {
			t.Fatal(err)
		}
		res, err := Resolve(context.Background(), c, Request{
			Requirements: reqs(t, "app"),
			Constraints:  reqs(t, `lib<2 ; python_version < "3.0"`),
			Targets:      []target.Target{mustTarget(t, "linux/amd64:3.11:glibc2.36"), mustTarget(t, "linux/arm64:3.12:glibc2.36")},
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := pins(res, 0); got != "app==1.0 lib==2.5" {
			t.Fatalf("pins = %s", got)
		}
		for path, n := range srv.Counts() {
			if n > 0 && strings.Contains(path, "lib-1.0") {
				t.Fatalf("run %d: %s was fetched %d times: warming followed a constraint no target has", i, path, n)
			}
		}
	}
}
