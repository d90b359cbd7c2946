package resolver

import (
	"strings"
	"testing"

	"github.com/larder-build/larder/internal/pypitest"
)

func TestDependencyMetadataStandsForTheFilesMetadata(t *testing.T) {
	srv := pypitest.Start(t, overrideIndex())
	tests := []struct {
		name, deps, meta, want string
	}{
		{"none: app's own metadata caps lib", `"app"`, "", "app==1.0 lib==1.0"},
		{"given at app's version, it replaces app's requirements", `"app"`,
			"[[tool.uv.dependency-metadata]]\nname = \"app\"\nversion = \"1.0\"\nrequires-dist = [\"lib>=2\"]", "app==1.0 lib==2.0"},
		{"given for every version", `"app"`,
			"[[tool.uv.dependency-metadata]]\nname = \"App\"\nrequires-dist = []", "app==1.0"},
		{"given for another version, it does not apply", `"app"`,
			"[[tool.uv.dependency-metadata]]\nname = \"app\"\nversion = \"2.0\"\nrequires-dist = []", "app==1.0 lib==1.0"},
		{"the one at the version stands for the one for every version", `"app"`,
			"[[tool.uv.dependency-metadata]]\nname = \"app\"\nrequires-dist = []\n[[tool.uv.dependency-metadata]]\nname = \"app\"\nversion = \"1.0\"\nrequires-dist = [\"lib>=2\"]",
			"app==1.0 lib==2.0"},
		{"its extras apply", `"app[fast]"`,
			"[[tool.uv.dependency-metadata]]\nname = \"app\"\nrequires-dist = [\"speedups>=2 ; extra == 'fast'\"]\nprovides-extra = [\"fast\"]",
			"app==1.0 speedups==2.0"},
		{"its requires-python rules the version out", `"app"`,
			"[[tool.uv.dependency-metadata]]\nname = \"app\"\nrequires-python = \">=3.12\"", "error: requires Python >=3.12"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := lockMe(t, srv, tt.deps, tt.meta)
			if want, ok := strings.CutPrefix(tt.want, "error: "); ok {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("locked %q (%v), want an error saying %q", got, err, want)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("locked %q (%v), want %q", got, err, tt.want)
			}
		})
	}
}

func TestAUVLockMadeWithDependencyMetadataLocksAgainWithIt(t *testing.T) {
	srv := pypitest.Start(t, overrideIndex())
	// What uv writes when app's metadata is given as needing lib>=2: the
	// manifest records it, and app's edge goes to lib 2.0.
	text := appLock("[[manifest.dependency-metadata]]\nname = \"app\"\nversion = \"1.0\"\nrequires-dist = [\"lib>=2\"]", true)
	if got, err := lockOneFile(t, srv, "uv.lock", text); err != nil || got != "app==1.0 lib==2.0" {
		t.Errorf("locked %q (%v), want app==1.0 lib==2.0, as uv sync installs", got, err)
	}
}

// TestDependencyMetadataIsNeverFetchedForTheVersionsItStandsFor: given
// metadata stands for a version's own, so neither the search nor the
// warm-ups ahead of it ask the index for that version's metadata.
func TestDependencyMetadataIsNeverFetchedForTheVersionsItStandsFor(t *testing.T) {
	srv := pypitest.Start(t, overrideIndex())
	text := "[project]\nname = \"me\"\nversion = \"0\"\ndependencies = [\"app\"]\n[[tool.uv.dependency-metadata]]\nname = \"app\"\nrequires-dist = [\"lib>=2\"]\n"
	if got, err := lockOneFile(t, srv, "pyproject.toml", text); err != nil || got != "app==1.0 lib==2.0" {
		t.Fatalf("locked %q (%v), want app==1.0 lib==2.0", got, err)
	}
	for path, n := range srv.Counts() {
		if strings.Contains(path, "/app-") && strings.HasSuffix(path, ".metadata") {
			t.Errorf("the index was asked %d times for %s, whose metadata was given", n, path)
		}
	}
}
