package dockerregistry

import (
	"testing"

	"github.com/larder-build/larder/internal/testenv"
)

// ForTest runs docker-registry for a test, stopped when the test ends.
// Without docker-registry installed the test skips, or fails under
// LARDER_REQUIRE_TOOLS=1 (testenv.Tool).
func ForTest(tb testing.TB) *Registry {
	tb.Helper()
	testenv.Tool(tb, "docker-registry")
	r, err := Start(tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(r.Stop)
	return r
}
