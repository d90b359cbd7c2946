package images

import (
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/larder-build/larder/internal/wheelhousetest"
	"github.com/larder-build/larder/layers"
	"github.com/larder-build/larder/wheelhouse"
)

// checkServedPages flattens a platform's image as a runtime would and
// checks that its simple/ folder is exactly wheelhouse.StaticPages of the
// entries its manifest lists, and that those are want's files for the
// platform (by name, with want's requires-python).
func checkServedPages(t *testing.T, out Ref, platform string, want []wheelhouse.Entry) {
	t.Helper()
	img, err := openOutput(t, out).ForPlatform(platform)
	if err != nil {
		t.Fatal(err)
	}
	fs := flatten(t, img)
	m, err := wheelhouse.Open(extract(t, fs))
	if err != nil {
		t.Fatalf("%s: the image's wheelhouse does not open: %v", platform, err)
	}
	wantRP := map[string]string{}
	for _, e := range want {
		wantRP[e.Filename] = e.RequiresPython
	}
	for _, e := range m.Entries() {
		rp, ok := wantRP[e.Filename]
		if !ok || rp != e.RequiresPython {
			t.Errorf("%s: the manifest lists %s (requires-python %q), not in the closure as such", platform, e.Filename, e.RequiresPython)
		}
	}
	pages, err := wheelhouse.StaticPages(m.Entries())
	if err != nil {
		t.Fatal(err)
	}
	wantPages := map[string]string{}
	for _, p := range pages {
		wantPages["wheelhouse/"+p.Path] = string(p.Data)
	}
	have := map[string]string{}
	for name, data := range fs {
		if strings.HasPrefix(name, "wheelhouse/"+wheelhouse.SimpleDir+"/") {
			have[name] = string(data)
		}
	}
	if maps.Equal(have, wantPages) {
		return
	}
	for _, name := range slices.Sorted(maps.Keys(have)) {
		if w, ok := wantPages[name]; !ok {
			t.Errorf("%s: %s is served and should not be", platform, name)
		} else if w != have[name] {
			t.Errorf("%s: %s is served stale", platform, name)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(wantPages)) {
		if _, ok := have[name]; !ok {
			t.Errorf("%s: %s is missing", platform, name)
		}
	}
}

// without drops the files of the projects named.
func without(entries []wheelhouse.Entry, projects ...string) []wheelhouse.Entry {
	var out []wheelhouse.Entry
	for _, e := range entries {
		if !slices.Contains(projects, e.Project) {
			out = append(out, e)
		}
	}
	return out
}

// withRequiresPython changes the requires-python of a project's files,
// and nothing else: their bytes, and so the buckets, stay.
func withRequiresPython(entries []wheelhouse.Entry, project, rp string) []wheelhouse.Entry {
	out := slices.Clone(entries)
	for i := range out {
		if out[i].Project == project {
			out[i].RequiresPython = rp
		}
	}
	return out
}

// TestEveryRefreshServesExactlyItsManifestsStaticPages bakes sequences
// of closures into one output, refreshing each time, and unpacks every
// image after every bake: the pages layer kept under a delta of the
// pages that changed must read as the closure's static index, whatever
// happened to a project between the bakes.
func TestEveryRefreshServesExactlyItsManifestsStaticPages(t *testing.T) {
	type step struct {
		entries   func(all []wheelhouse.Entry) []wheelhouse.Entry
		platforms []string
		compact   bool
		threshold float64
		refreshed bool
	}
	all := func(all []wheelhouse.Entry) []wheelhouse.Entry { return all }
	amd := []string{"linux/amd64"}
	both := []string{"linux/amd64", "linux/arm64"}
	cases := []struct {
		name  string
		steps []step
	}{
		{"a project dropped then added back", []step{
			{entries: all, platforms: amd},
			{entries: func(e []wheelhouse.Entry) []wheelhouse.Entry { return without(e, "pure-project-07") }, platforms: amd, refreshed: true},
			{entries: all, platforms: amd, refreshed: true},
		}},
		{"a project added then dropped again", []step{
			{entries: func(e []wheelhouse.Entry) []wheelhouse.Entry { return without(e, "pure-project-07") }, platforms: amd},
			{entries: all, platforms: amd, refreshed: true},
			{entries: func(e []wheelhouse.Entry) []wheelhouse.Entry { return without(e, "pure-project-07") }, platforms: amd, refreshed: true},
		}},
		{"only requires-python changes, then changes back", []step{
			{entries: all, platforms: amd},
			{entries: func(e []wheelhouse.Entry) []wheelhouse.Entry {
				return withRequiresPython(e, "pure-project-03", ">=3.11")
			}, platforms: amd, refreshed: true},
			{entries: all, platforms: amd, refreshed: true},
		}},
		{"two platforms, a platform project dropped", []step{
			{entries: all, platforms: both},
			{entries: func(e []wheelhouse.Entry) []wheelhouse.Entry { return without(e, "lxml", "pure-project-01") }, platforms: both, refreshed: true},
			{entries: all, platforms: both, refreshed: true},
		}},
		{"two platforms with the same pure closure, sharing their pages layer", []step{
			{entries: func(e []wheelhouse.Entry) []wheelhouse.Entry { return without(e, "lxml", "numpy", "cryptography") }, platforms: both},
			{entries: func(e []wheelhouse.Entry) []wheelhouse.Entry {
				return without(e, "lxml", "numpy", "cryptography", "pure-project-13")
			}, platforms: both, refreshed: true},
		}},
		{"a platform added on refresh", []step{
			{entries: all, platforms: amd},
			{entries: func(e []wheelhouse.Entry) []wheelhouse.Entry { return without(e, "pure-project-02") }, platforms: both, refreshed: true},
			{entries: all, platforms: both, refreshed: true},
		}},
		{"a platform dropped on refresh", []step{
			{entries: all, platforms: both},
			{entries: func(e []wheelhouse.Entry) []wheelhouse.Entry { return without(e, "numpy") }, platforms: []string{"linux/arm64"}, refreshed: true},
		}},
		{"a compaction asked for between refreshes", []step{
			{entries: all, platforms: amd},
			{entries: func(e []wheelhouse.Entry) []wheelhouse.Entry { return without(e, "pure-project-04") }, platforms: amd, refreshed: true},
			{entries: func(e []wheelhouse.Entry) []wheelhouse.Entry { return without(e, "pure-project-05") }, platforms: amd, compact: true},
			{entries: all, platforms: amd, refreshed: true},
		}},
		{"a compaction past the threshold", []step{
			{entries: all, platforms: both},
			{entries: func(e []wheelhouse.Entry) []wheelhouse.Entry { return without(e, "pure-project-06") }, platforms: both, threshold: 0.001},
			{entries: all, platforms: both, refreshed: true},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s := sample(t)
			out := mustRef(t, "oci:"+filepath.Join(t.TempDir(), "out")+":dev")
			base := baseLayout(t)
			for i, st := range c.steps {
				req := request(t, s, base, out, st.platforms...)
				req.Entries = st.entries(s.Entries())
				req.Compact, req.Threshold = st.compact, st.threshold
				rep := bake(t, req)
				if rep.Refreshed != st.refreshed {
					t.Errorf("bake %d: refreshed %v (%s), want %v", i+1, rep.Refreshed, rep.Reason, st.refreshed)
				}
				// A bake that does not refresh keeps nothing of the
				// previous image: every layer comes from the wheelhouse.
				for _, img := range rep.Images {
					for _, l := range img.Layers {
						if !st.refreshed && l.State == StateReused {
							t.Errorf("bake %d: %s keeps %s of the previous image", i+1, img.Platform, l.What)
						}
					}
				}
				for _, p := range st.platforms {
					checkServedPages(t, out, p, req.Entries)
				}
			}
		})
	}
}

// TestARefreshFromAnotherImageServesItsOwnClosuresPages refreshes an
// image baked from one closure into another output from another closure,
// with the previous image named by From.
func TestARefreshFromAnotherImageServesItsOwnClosuresPages(t *testing.T) {
	s := sample(t)
	base := baseLayout(t)
	from := mustRef(t, "oci:"+filepath.Join(t.TempDir(), "from")+":dev")
	req := request(t, s, base, from, "linux/amd64", "linux/arm64")
	req.Entries = without(s.Entries(), "pure-project-09", "cryptography")
	bake(t, req)

	wheelhousetest.Add(t, s, wheelhousetest.Dist(t, "six", "1.18.0", 5000, false, "py2.py3-none-any")...)
	out := mustRef(t, "oci:"+filepath.Join(t.TempDir(), "out")+":dev")
	req = request(t, s, base, out, "linux/amd64", "linux/arm64")
	req.From = from
	req.Entries = without(s.Entries(), "pure-project-10")
	if rep := bake(t, req); !rep.Refreshed {
		t.Fatalf("not a refresh: %s", rep.Reason)
	}
	for _, p := range req.Platforms {
		checkServedPages(t, out, p, req.Entries)
	}
}

// relabel copies a platform's image of out into a new OCI layout, its
// layout label edited, and returns the copy's reference.
func relabel(t *testing.T, out Ref, platform string, edit func(*layers.Layout)) Ref {
	t.Helper()
	img, err := openOutput(t, out).ForPlatform(platform)
	if err != nil {
		t.Fatal(err)
	}
	return imageLayout(t, editConfig(t, img, func(cf *v1.ConfigFile) {
		l, err := layers.DecodeLayout(cf.Config.Labels[layers.LayoutLabel])
		if err != nil {
			t.Fatal(err)
		}
		edit(l)
		if cf.Config.Labels[layers.LayoutLabel], err = l.Encode(); err != nil {
			t.Fatal(err)
		}
	}), "dev")
}

// TestARefreshOfAnImageWithoutAPagesRecordMakesThePagesLayer refreshes
// an image whose layout records no pages layer (as the larder before the
// pages layer baked them): its buckets are kept, a pages layer is made
// from the new closure, and the image serves that closure's pages; the
// refresh after it keeps that pages layer.
func TestARefreshOfAnImageWithoutAPagesRecordMakesThePagesLayer(t *testing.T) {
	s := sample(t)
	base := baseLayout(t)
	first := mustRef(t, "oci:"+filepath.Join(t.TempDir(), "first")+":dev")
	req := request(t, s, base, first, "linux/amd64")
	bake(t, req)
	old := relabel(t, first, "linux/amd64", func(l *layers.Layout) { l.Pages = nil })

	out := mustRef(t, "oci:"+filepath.Join(t.TempDir(), "out")+":dev")
	req.Output, req.From = out, old
	req.Entries = without(s.Entries(), "pure-project-11")
	rep := bake(t, req)
	if !rep.Refreshed {
		t.Fatalf("not a refresh: %s", rep.Reason)
	}
	layersOf := rep.Images[0].Layers
	pages, delta := layersOf[len(layersOf)-2], layersOf[len(layersOf)-1]
	if !strings.Contains(pages.What, layers.KindPages) || pages.State == StateReused {
		t.Errorf("the layer under the delta is %s (%s), want a pages layer made afresh", pages.What, pages.State)
	}
	for _, n := range delta.Names {
		if strings.Contains(n, wheelhouse.SimpleDir+"/") {
			t.Errorf("the delta holds a page, %s, over a fresh pages layer", n)
		}
	}
	checkServedPages(t, out, "linux/amd64", req.Entries)

	req.From = Ref{}
	req.Entries = s.Entries()
	rep = bake(t, req)
	if !rep.Refreshed {
		t.Fatalf("the second refresh is not one: %s", rep.Reason)
	}
	if l := rep.Images[0].Layers; l[len(l)-2].State != StateReused || l[len(l)-2].Digest != pages.Digest {
		t.Errorf("the second refresh did not keep the pages layer: %+v", l[len(l)-2])
	}
	checkServedPages(t, out, "linux/amd64", req.Entries)
}

// TestAPlannedRefreshIsTheRefresh plans a refresh (--plan), then makes
// it: the plan keeps the pages layer as the refresh does, would send only
// the delta, the config and the manifest, and has the refresh's digest.
func TestAPlannedRefreshIsTheRefresh(t *testing.T) {
	s, out, req := sampleRequest(t, "oci:"+filepath.Join(t.TempDir(), "out")+":dev", "linux/amd64")
	bake(t, req)
	req.Entries = without(s.Entries(), "pure-project-12")
	req.DryRun = true
	plan := bake(t, req)
	if !plan.Refreshed {
		t.Fatalf("the plan is not a refresh: %s", plan.Reason)
	}
	// An OCI layout keeps manifests as blobs too.
	if plan.Upload == nil || plan.Upload.Blobs != 3 {
		t.Errorf("the plan would write %+v, want the delta, the config and the manifest", plan.Upload)
	}
	req.DryRun = false
	real := bake(t, req)
	if real.Digest != plan.Digest || real.Write.Blobs != plan.Upload.Blobs || real.Write.Bytes != plan.Upload.Bytes {
		t.Errorf("plan %s (%+v), refresh %s (%+v)", plan.Digest, plan.Upload, real.Digest, real.Write)
	}
	checkServedPages(t, out, "linux/amd64", req.Entries)
}

// TestARefreshOnAnotherMachineReadsThePagesLayerOnce: a machine without
// the record of the pages layer it keeps (a CI runner refreshing what
// another baked) reads that layer once from the registry to learn what it
// holds, keeps it, uploads only the deltas and configs, and serves
// exactly the new closure's pages; the next refresh there reads nothing.
func TestARefreshOnAnotherMachineReadsThePagesLayerOnce(t *testing.T) {
	reg := newRegistry(t)
	s, out, req := sampleRequest(t, "docker://"+reg.host()+"/edx/lms:dev")
	first := bake(t, req)
	pagesBlobs := map[string]bool{}
	for _, img := range first.Images {
		for _, l := range img.Layers {
			if l.What == layers.KindPages {
				pagesBlobs[l.Digest] = true
			}
		}
	}
	if len(pagesBlobs) != 2 {
		t.Fatalf("%d pages layers for two platforms", len(pagesBlobs))
	}
	readPagesBlobs := func() int {
		n := 0
		for _, l := range reg.requests() {
			if !strings.HasPrefix(l, "GET ") || !strings.Contains(l, "/blobs/") {
				continue
			}
			for d := range pagesBlobs {
				if strings.Contains(l, d) {
					n++
				}
			}
		}
		return n
	}

	req.layerDir = filepath.Join(t.TempDir(), "another-machine")
	req.Entries = bump(t, s)
	reg.reset()
	second := bake(t, req)
	if !second.Refreshed {
		t.Fatalf("not a refresh: %s", second.Reason)
	}
	for _, img := range second.Images {
		for _, l := range img.Layers {
			if l.What == layers.KindPages && l.State != StateReused {
				t.Errorf("%s: the pages layer was %s, want kept", img.Platform, l.State)
			}
		}
	}
	if n := readPagesBlobs(); n != 2 {
		t.Errorf("the refresh read the pages layers %d times, want each once", n)
	}
	if got := reg.uploads(); len(got) != 4 {
		t.Errorf("uploaded %d blobs, want 2 deltas and 2 configs: %v", len(got), got)
	}
	for _, p := range req.Platforms {
		checkServedPages(t, out, p, req.Entries)
	}

	reg.reset()
	bake(t, req)
	if n := readPagesBlobs(); n != 0 {
		t.Errorf("a second refresh on that machine read the pages layers %d times, want none", n)
	}
}
