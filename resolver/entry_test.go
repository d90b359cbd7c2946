package resolver

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/larder-build/larder/internal/pypitest"
	"github.com/larder-build/larder/resolver/index"
	"github.com/larder-build/larder/resolver/target"
)

// TestLockMergesTheInputFilesOptionsWithTheRequest locks through the
// entry point larder lock and the test harnesses share: the input file's
// --pre and the request's binary policy both apply, every target is
// resolved, and progress is heard.
func TestLockMergesTheInputFilesOptionsWithTheRequest(t *testing.T) {
	srv := pypitest.Start(t, &pypitest.Index{Projects: []pypitest.Project{
		{Name: "app", Releases: []pypitest.Release{pure("1.0", "lib"), pure("2.0b1", "lib")}},
		{Name: "lib", Releases: []pypitest.Release{pure("1.0"), {Version: "2.0", Sdist: true}}},
	}})
	dir := t.TempDir()
	reqFile := filepath.Join(dir, "requirements.txt")
	if err := os.WriteFile(reqFile, []byte("--pre\napp\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		onlyBinary []string
		want       string
	}{
		{"sdists allowed", nil, "app==2.0b1 lib==2.0"},
		{"the request's --only-binary", []string{"lib"}, "app==2.0b1 lib==1.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := LockRequest{
				Requirements: []string{reqFile}, IndexURLs: []string{srv.URL()}, OnlyBinary: tt.onlyBinary,
				Targets: []target.Target{mustTarget(t, "linux/amd64:3.11:glibc2.36"), mustTarget(t, "linux/arm64:3.11:glibc2.36")},
			}
			c, err := req.NewIndex(index.WithCacheDir(t.TempDir()), index.WithRetries(0, 0))
			if err != nil {
				t.Fatal(err)
			}
			heard := 0
			locked, err := Lock(context.Background(), req, WithIndex(c), WithProgress(func(Event) { heard++ }))
			if err != nil {
				t.Fatal(err)
			}
			for ti := range req.Targets {
				if got := pins(locked.Result, ti); got != tt.want {
					t.Errorf("target %d: %s, want %s", ti, got, tt.want)
				}
			}
			if !locked.Inputs.Pre || len(locked.Lock.Packages) != 2 || heard == 0 {
				t.Errorf("inputs pre %v, %d packages locked, %d events heard", locked.Inputs.Pre, len(locked.Lock.Packages), heard)
			}
		})
	}
}

func TestLockAndResolveRefuseAnInvalidOption(t *testing.T) {
	_, err := Lock(context.Background(), LockRequest{}, WithIndex(nil))
	if err == nil || !strings.Contains(err.Error(), "nil index") {
		t.Errorf("Lock with a nil index: %v", err)
	}
	_, err = Resolve(context.Background(), nil, Request{}, WithIndex(nil))
	if err == nil || !strings.Contains(err.Error(), "nil index") {
		t.Errorf("Resolve with a nil index option: %v", err)
	}
}
