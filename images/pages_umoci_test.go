package images

import (
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/larder-build/larder/internal/testenv"
	"github.com/larder-build/larder/wheelhouse"
)

// TestUmociUnpacksEveryRefreshIntoItsManifestsStaticPages refreshes one
// image through a project dropped, added back and changed in its
// requires-python alone, and has umoci (a real runtime's whiteout rules:
// a whited-out folder goes with all below it) unpack each: the simple/
// folder on disk is exactly the static index of the image's manifest.
func TestUmociUnpacksEveryRefreshIntoItsManifestsStaticPages(t *testing.T) {
	testenv.Slow(t, "runs umoci")
	umoci := testenv.Tool(t, "umoci")
	s := sample(t)
	base := baseLayout(t)
	out := mustRef(t, "oci:"+filepath.Join(t.TempDir(), "out")+":dev")
	for i, entries := range [][]wheelhouse.Entry{
		s.Entries(),
		without(s.Entries(), "pure-project-07"),
		s.Entries(),
		withRequiresPython(without(s.Entries(), "pure-project-08"), "pure-project-03", ">=3.12"),
	} {
		req := request(t, s, base, out, "linux/amd64")
		req.Entries = entries
		if rep := bake(t, req); rep.Refreshed != (i > 0) {
			t.Fatalf("bake %d: refreshed %v (%s)", i+1, rep.Refreshed, rep.Reason)
		}
		bundle := filepath.Join(t.TempDir(), "bundle")
		run(t, umoci, "unpack", "--rootless", "--image", out.Path+":dev", bundle)
		wh := filepath.Join(bundle, "rootfs", "wheelhouse")
		m, err := wheelhouse.Open(wh)
		if err != nil {
			t.Fatalf("bake %d: the unpacked wheelhouse does not open: %v", i+1, err)
		}
		pages, err := wheelhouse.StaticPages(m.Entries())
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{}
		for _, p := range pages {
			want[filepath.ToSlash(p.Path)] = string(p.Data)
		}
		have := map[string]string{}
		err = filepath.WalkDir(filepath.Join(wh, wheelhouse.SimpleDir), func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(p)
			rel, _ := filepath.Rel(wh, p)
			have[filepath.ToSlash(rel)] = string(b)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if !maps.Equal(have, want) {
			for _, name := range slices.Sorted(maps.Keys(have)) {
				if want[name] != have[name] {
					t.Errorf("bake %d: %s on disk is not the manifest's page", i+1, name)
				}
			}
			for _, name := range slices.Sorted(maps.Keys(want)) {
				if _, ok := have[name]; !ok {
					t.Errorf("bake %d: %s is missing on disk", i+1, name)
				}
			}
		}
	}
}
