package fetch

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/larder-build/larder/internal/pypitest"
	"github.com/larder-build/larder/internal/testenv"
	"github.com/larder-build/larder/wheelhouse"
)

// TestAFetchThatFillsARealDiskKeepsEveryVerifiedFileListed fetches 4 MB
// of wheels into a real 2 MB tmpfs. The fetch fails with ENOSPC, and then
// nothing is lost: every distribution on disk is in the manifest (a fresh
// Open agrees), verify reports only what is missing (or a sidecar the
// disk had no room for), and no temporary file is left.
func TestAFetchThatFillsARealDiskKeepsEveryVerifiedFileListed(t *testing.T) {
	disk := testenv.Tmpfs(t, "2m")

	idx := &pypitest.Index{}
	var roots []string
	for _, name := range []string{"aa", "bb", "cc", "dd", "ee", "ff", "gg", "hh", "ii", "jj", "kk", "ll", "mm", "nn", "oo", "pp", "qq", "rr", "ss", "tt"} {
		idx.Projects = append(idx.Projects, pypitest.Project{Name: name, Releases: []pypitest.Release{{Version: "1.0", Wheels: []pypitest.Wheel{{Tags: "py3-none-any", Size: 200 << 10}}}}})
		roots = append(roots, name)
	}
	_, lock := lockIndex(t, idx, roots, []string{amd64})
	s, err := wheelhouse.Create(filepath.Join(disk, "wh"))
	if err != nil {
		t.Fatal(err)
	}
	opts := fastOptions(WithJobs(4))
	_, err = Fetch(context.Background(), s, lock, opts...)
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("fetch into 2 MB: %v, want ENOSPC", err)
	}
	again, err := wheelhouse.Open(s.Dir())
	if err != nil {
		t.Fatalf("reopening: %v", err)
	}
	ents, err := os.ReadDir(filepath.Join(s.Dir(), wheelhouse.FilesDir))
	if err != nil {
		t.Fatal(err)
	}
	kept := 0
	for _, d := range ents {
		name := d.Name()
		switch {
		case strings.HasPrefix(name, "."):
			t.Errorf("temporary file %s left behind", name)
		case strings.HasSuffix(name, ".metadata"):
		default:
			kept++
			if _, ok := again.Lookup(name); !ok {
				t.Errorf("%s is on disk and verified but not in the manifest", name)
			}
		}
	}
	if kept == 0 || len(again.Entries()) != kept {
		t.Errorf("%d distributions on disk, %d in the manifest", kept, len(again.Entries()))
	}
	r, err := Verify(context.Background(), again, lock)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range r.Problems {
		if p.Kind != wheelhouse.ProblemMissing && p.Kind != wheelhouse.ProblemMetadata {
			t.Errorf("problem %+v after a full disk, want only missing files", p)
		}
	}
	if tops, _ := filepath.Glob(filepath.Join(s.Dir(), ".*.tmp")); len(tops) > 0 {
		t.Errorf("temporary files left at the top: %v", tops)
	}
	t.Logf("%d of %d files kept and listed", kept, len(roots))
}
