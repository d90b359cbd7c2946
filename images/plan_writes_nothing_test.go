package images

import (
	"fmt"
	"io/fs"
	"maps"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// tree lists every file and folder under root with what a write would
// change: its mode, size and modification time.
func tree(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		out[p] = fmt.Sprintf("%v %d bytes, %s", info.Mode(), info.Size(), info.ModTime().Format(time.RFC3339Nano))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestAPlanWritesNothingAnywhere: a dry run (bake --plan)
// reads the base and the output layouts without writing into them, not
// even a lock file, nor beside them: every folder the test made is as
// it was.
func TestAPlanWritesNothingAnywhere(t *testing.T) {
	s := smallSample(t)
	base := baseLayout(t) // made by go-containerregistry: no lock file
	for _, c := range []struct {
		name string
		// existing makes the output a layout before the plan.
		existing bool
	}{
		{name: "into a missing folder"},
		{name: "into a layout no larder process wrote", existing: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "out")
			if c.existing {
				if _, err := layout.Write(dir, empty.Index); err != nil {
					t.Fatal(err)
				}
			}
			req := request(t, s, base, mustRef(t, "oci:"+dir+":next"), "linux/amd64")
			req.DryRun = true
			// Every folder of this test and its parent: base, output,
			// layers, the store.
			roots := []string{filepath.Dir(filepath.Dir(dir)), filepath.Dir(filepath.Dir(base.Path)), filepath.Dir(filepath.Dir(req.layerDir)), s.Dir()}
			before := map[string]string{}
			for _, r := range roots {
				maps.Copy(before, tree(t, r))
			}
			time.Sleep(10 * time.Millisecond) // a write now changes a time
			plan := bake(t, req)
			if plan.Upload == nil || plan.Upload.Blobs == 0 {
				t.Fatalf("the plan says it would write %+v", plan.Upload)
			}
			after := map[string]string{}
			for _, r := range roots {
				maps.Copy(after, tree(t, r))
			}
			for _, p := range slices.Sorted(maps.Keys(after)) {
				if before[p] != after[p] {
					t.Errorf("the plan changed %s: %q, was %q", p, after[p], before[p])
				}
			}
			for _, p := range slices.Sorted(maps.Keys(before)) {
				if _, ok := after[p]; !ok {
					t.Errorf("the plan removed %s", p)
				}
			}
		})
	}
}
