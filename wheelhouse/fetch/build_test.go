package fetch

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/larder-build/larder/internal/pypitest"
	"github.com/larder-build/larder/resolver/pylock"
	"github.com/larder-build/larder/wheelhouse"
	"github.com/larder-build/larder/wheelhouse/build"
)

var srcSdist = pypitest.SdistFilename("srconly", "0.5")

func TestSdistOnlyPackagesAreBuiltPerTargetAndPureWheelsOnce(t *testing.T) {
	tests := []struct {
		name     string
		platform bool
		builds   int
		wheels   []string
	}{
		{"a pure wheel serves both targets", false, 1, []string{"srconly-0.5-py3-none-any.whl"}},
		{"a platform wheel per target", true, 2, []string{"srconly-0.5-cp311-cp311-linux_aarch64.whl", "srconly-0.5-cp311-cp311-linux_x86_64.whl"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, lock := lockIndex(t, withSdist(smallIndex()), []string{"app"}, []string{amd64, arm64})
			b := &fakeBuilder{platform: tt.platform}
			opts := fastOptions(WithBuilder(b))
			s := newStore(t)
			rep, err := Fetch(context.Background(), s, lock, opts...)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Built != tt.builds || len(b.requests()) != tt.builds {
				t.Errorf("built %d times (%d calls), want %d", rep.Built, len(b.requests()), tt.builds)
			}
			for _, req := range b.requests() {
				if req.Project != "srconly" || req.Version != "0.5" || !strings.HasSuffix(req.Sdist, "/files/"+srcSdist) || req.VCS != nil {
					t.Errorf("build request %+v", req)
				}
			}
			sd, _ := srv.Files("srconly")
			var built []string
			for _, e := range reopen(t, s).Entries() {
				if e.Project != "srconly" || !e.IsWheel() {
					continue
				}
				built = append(built, e.Filename)
				if e.Origin != (wheelhouse.Origin{Kind: wheelhouse.OriginSdist, Sdist: srcSdist, SdistSHA256: sd[0].SHA256}) {
					t.Errorf("%s: origin %+v", e.Filename, e.Origin)
				}
				if !tt.platform && !slices.Equal(e.Targets, []string{amd64, arm64}) {
					t.Errorf("%s: targets %v", e.Filename, e.Targets)
				}
				if e.MetadataSHA256 == "" {
					t.Errorf("%s: no sidecar", e.Filename)
				}
			}
			if !slices.Equal(built, tt.wheels) {
				t.Errorf("built wheels %v, want %v", built, tt.wheels)
			}
			mustVerifyClean(t, s, lock)

			// A second fetch re-hashes the built wheels and builds nothing.
			b2 := &fakeBuilder{platform: tt.platform}
			opts = append(opts, WithBuilder(b2))
			srv.Reset()
			rep, err = Fetch(context.Background(), s, lock, opts...)
			if err != nil || len(b2.requests()) != 0 || rep.Built != 0 || srv.TotalRequests() != 0 {
				t.Errorf("second fetch: %v, %d builds, report %+v", err, len(b2.requests()), rep)
			}
		})
	}
}

func TestWithoutABuilderTheRestIsFetchedAndTheBuildsReported(t *testing.T) {
	_, lock := lockIndex(t, withSdist(smallIndex()), []string{"app"}, []string{amd64})
	s := newStore(t)
	rep, err := Fetch(context.Background(), s, lock, fastOptions()...)
	var nb *NeedsBuilderError
	if !errors.As(err, &nb) || len(nb.Packages) != 1 || !strings.Contains(nb.Packages[0], "srconly==0.5") || !strings.Contains(err.Error(), amd64) {
		t.Fatalf("error %v, want srconly reported as needing a builder for %s", err, amd64)
	}
	if rep == nil || rep.Downloaded != 5 || !slices.Equal(rep.NeedsBuilder, nb.Packages) {
		t.Errorf("report %+v", rep)
	}
	if _, ok := reopen(t, s).Lookup(srcSdist); !ok {
		t.Errorf("the sdist was not fetched")
	}
	r, err := Verify(context.Background(), reopen(t, s), lock)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Problems) != 1 || r.Problems[0].Kind != wheelhouse.ProblemMissing || r.Problems[0].File != "srconly==0.5" {
		t.Errorf("verify: %+v", r.Problems)
	}
}

func TestABuiltWheelThatDoesNotFitItsTargetIsRefused(t *testing.T) {
	_, lock := lockIndex(t, withSdist(smallIndex()), []string{"app"}, []string{amd64})
	opts := fastOptions(WithBuilder(&fakeBuilder{platform: true, wrongTarget: true}))
	s := newStore(t)
	_, err := Fetch(context.Background(), s, lock, opts...)
	want := "built wheel srconly-0.5-cp311-cp311-linux_aarch64.whl does not fit target " + amd64
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("error %v, want %q", err, want)
	}
	assertNothingKept(t, s, "srconly-0.5-cp311-cp311-linux_aarch64.whl")
}

func TestGitPackagesAreBuiltFromTheirCommitAndArePrivate(t *testing.T) {
	_, lock := lockIndex(t, smallIndex(), []string{"app"}, []string{amd64})
	lock.Packages = append(lock.Packages, pylock.Package{
		Name: "fork", Version: "2.1",
		VCS:  &pylock.VCS{Type: "git", URL: "https://example.invalid/fork.git", CommitID: "0123456789abcdef0123456789abcdef01234567", Subdirectory: "py"},
		Tool: pylock.Tool{Larder: &pylock.LarderTool{Targets: []string{amd64}, Build: "vcs"}},
	})
	b := &fakeBuilder{}
	opts := fastOptions(WithBuilder(b))
	s := newStore(t)
	if _, err := Fetch(context.Background(), s, lock, opts...); err != nil {
		t.Fatal(err)
	}
	reqs := b.requests()
	if len(reqs) != 1 || reqs[0].VCS == nil || reqs[0].VCS.Commit != "0123456789abcdef0123456789abcdef01234567" || reqs[0].VCS.Subdirectory != "py" || reqs[0].Sdist != "" {
		t.Fatalf("build requests %+v", reqs)
	}
	e, ok := reopen(t, s).Lookup("fork-2.1-py3-none-any.whl")
	if !ok || !e.Private || e.Origin.Kind != wheelhouse.OriginVCS || e.Origin.Commit != reqs[0].VCS.Commit || e.Origin.URL != reqs[0].VCS.URL {
		t.Errorf("entry %+v", e)
	}
	mustVerifyClean(t, s, lock)
}

// TestWithBuilderFuncMakesTheBuilderOnlyWhenABuildIsNeeded: a lock with
// nothing to build never makes the builder (larder fetch needs no Python
// then), one with builds makes it once, and a failure to make it fails
// the build.
func TestWithBuilderFuncMakesTheBuilderOnlyWhenABuildIsNeeded(t *testing.T) {
	tests := []struct {
		name   string
		idx    *pypitest.Index
		fail   bool
		made   int
		errSay string
	}{
		{"nothing to build", smallIndex(), false, 0, ""},
		{"an sdist to build for two targets", withSdist(smallIndex()), false, 1, ""},
		{"a builder that cannot be made", withSdist(smallIndex()), true, 1, "no python here"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, lock := lockIndex(t, tt.idx, []string{"app"}, []string{amd64, arm64})
			var made atomic.Int32
			mk := func() (build.Builder, error) {
				made.Add(1)
				if tt.fail {
					return nil, errors.New("no python here")
				}
				return &fakeBuilder{platform: true}, nil
			}
			_, err := Fetch(context.Background(), newStore(t), lock, append(fastOptions(), WithBuilderFunc(mk))...)
			if (tt.errSay == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tt.errSay) {
				t.Errorf("error %v, want %q", err, tt.errSay)
			}
			if n := int(made.Load()); n != tt.made {
				t.Errorf("the builder was made %d times, want %d", n, tt.made)
			}
		})
	}
}
