package layers

import (
	"archive/tar"
	"maps"
	"path"
	"slices"
	"strings"
	"testing"

	"github.com/larder-build/larder/internal/wheelhousetest"
	"github.com/larder-build/larder/wheelhouse"
)

// overlay applies a layer's entries onto a tree, as a runtime unpacks
// it: a whiteout hides the path and everything below it.
func overlay(tree map[string][]byte, entries []entry) {
	for _, e := range entries {
		dir, base := path.Split(e.hdr.Name)
		if hidden, ok := strings.CutPrefix(base, whiteoutPrefix); ok {
			gone := dir + hidden
			for p := range tree {
				if p == gone || strings.HasPrefix(p, gone+"/") {
					delete(tree, p)
				}
			}
			continue
		}
		if e.hdr.Typeflag == tar.TypeReg {
			tree[e.hdr.Name] = e.data
		}
	}
}

// pagesOf returns the simple index pages of a tree, by path.
func pagesOf(tree map[string][]byte) map[string]string {
	out := map[string]string{}
	for p, b := range tree {
		if strings.HasPrefix(p, "wheelhouse/"+wheelhouse.SimpleDir+"/") {
			out[p] = string(b)
		}
	}
	return out
}

// staticPages are the pages WriteStatic would write for entries, by
// their path in the image.
func staticPages(t *testing.T, entries []wheelhouse.Entry) map[string]string {
	t.Helper()
	pages, err := wheelhouse.StaticPages(entries)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, p := range pages {
		out["wheelhouse/"+p.Path] = string(p.Data)
	}
	return out
}

// layerOf returns the built layer of a kind in a stack.
func layerOf(t *testing.T, b Built, kind string) Part {
	t.Helper()
	for _, p := range b.Parts {
		if p.Kind == kind {
			return p
		}
	}
	t.Fatalf("%s: no %s layer", b.Platform, kind)
	return Part{}
}

func TestRefreshKeepsThePagesLayerAndItsDeltaHoldsOnlyThePagesThatChanged(t *testing.T) {
	s := bigStore(t)
	builder, err := NewBuilder(WithDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	c := Content{Store: s}
	first := mustPlan(t, Request{Entries: closure(s), Platforms: twoPlatforms, Buckets: 4})
	built, err := builder.BuildStacks(t.Context(), first, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	prev := map[string]*Layout{}
	for _, b := range built {
		prev[b.Platform] = b.Layout
		if b.Layout.Pages == nil || b.Layout.Pages.DiffID != layerOf(t, b, KindPages).DiffID.String() {
			t.Fatalf("%s: the layout records pages layer %+v", b.Platform, b.Layout.Pages)
		}
		// Encoded and decoded, as the next bake reads it from the label.
		v, err := b.Layout.Encode()
		if err != nil {
			t.Fatal(err)
		}
		if prev[b.Platform], err = DecodeLayout(v); err != nil {
			t.Fatal(err)
		}
	}
	// Bump six, drop requests, add a new project: the rest is unchanged.
	wheelhousetest.Add(t, s, wheelhousetest.Dist(t, "six", "1.18.0", 3000, false, "py2.py3-none-any")...)
	wheelhousetest.Add(t, s, wheelhousetest.Dist(t, "attrs", "24.2.0", 3000, false, "py3-none-any")...)
	var entries []wheelhouse.Entry
	for _, e := range closure(s) {
		if e.Filename != "six-1.17.0-py2.py3-none-any.whl" && e.Project != "requests" {
			entries = append(entries, e)
		}
	}
	refresh := mustPlan(t, Request{Entries: entries, Platforms: twoPlatforms, Previous: prev, Threshold: 0.5})
	if refresh.Compacted {
		t.Fatalf("compacted: %s", refresh.Reason)
	}
	again, err := builder.BuildStacks(t.Context(), refresh, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, b := range again {
		old := built[i]
		pages := layerOf(t, b, KindPages)
		if !pages.Reused || pages.DiffID != layerOf(t, old, KindPages).DiffID {
			t.Errorf("%s: pages layer reused %v, %s, want the previous image's %s", b.Platform, pages.Reused, pages.DiffID, layerOf(t, old, KindPages).DiffID)
		}
		if b.Layout.Pages.Projects == nil || !maps.Equal(b.Layout.Pages.Projects, prev[b.Platform].Pages.Projects) {
			t.Errorf("%s: the refreshed image records other pages than its kept layer's", b.Platform)
		}
		delta := readLayer(t, layerOf(t, b, KindDelta).Layer)
		var pageNames []string
		for _, e := range delta {
			if strings.HasPrefix(e.hdr.Name, "wheelhouse/simple/") && e.hdr.Typeflag == tar.TypeReg {
				pageNames = append(pageNames, e.hdr.Name)
			}
		}
		want := []string{
			"wheelhouse/simple/.wh.requests",
			"wheelhouse/simple/attrs/index.html", "wheelhouse/simple/attrs/index.json",
			"wheelhouse/simple/index.html", "wheelhouse/simple/index.json",
			"wheelhouse/simple/six/index.html", "wheelhouse/simple/six/index.json",
		}
		if !slices.Equal(pageNames, want) {
			t.Errorf("%s: the delta holds pages %q, want %q", b.Platform, pageNames, want)
		}
		// The kept pages layer under the new delta is exactly the static
		// index of the refreshed image.
		tree := map[string][]byte{}
		overlay(tree, readLayer(t, layerOf(t, old, KindPages).Layer))
		overlay(tree, delta)
		if got, want := pagesOf(tree), staticPages(t, refresh.Stacks[i].Entries); !maps.Equal(got, want) {
			t.Errorf("%s: the image's pages are not its static index: %d pages, want %d", b.Platform, len(got), len(want))
		}
	}

	// A version bump alone leaves the root pages in the pages layer.
	var bumpOnly []wheelhouse.Entry
	for _, e := range closure(s) {
		if e.Filename != "six-1.17.0-py2.py3-none-any.whl" && e.Project != "attrs" {
			bumpOnly = append(bumpOnly, e)
		}
	}
	st := &mustPlan(t, Request{Entries: bumpOnly, Platforms: twoPlatforms, Previous: prev, Threshold: 0.5}).Stacks[0]
	files, err := c.DeltaFiles(st)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range files {
		if strings.Contains(f.Path, "/simple/") {
			got = append(got, f.name())
		}
	}
	if want := []string{"wheelhouse/simple/six/index.html", "wheelhouse/simple/six/index.json"}; !slices.Equal(got, want) {
		t.Errorf("a bump's delta holds pages %q, want %q", got, want)
	}
}

func TestAFreshLayoutMakesThePagesLayerAndADeltaWithoutPages(t *testing.T) {
	s := bigStore(t)
	builder, err := NewBuilder(WithDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	p := mustPlan(t, Request{Entries: closure(s), Platforms: twoPlatforms})
	built, err := builder.BuildStacks(t.Context(), p, Content{Store: s}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, b := range built {
		pages := layerOf(t, b, KindPages)
		if pages.Reused {
			t.Errorf("%s: a first bake reused a pages layer", b.Platform)
		}
		tree := map[string][]byte{}
		overlay(tree, readLayer(t, pages.Layer))
		if got, want := pagesOf(tree), staticPages(t, p.Stacks[i].Entries); !maps.Equal(got, want) {
			t.Errorf("%s: the pages layer holds %d pages, want the %d of the static index", b.Platform, len(got), len(want))
		}
		if len(b.Layout.Pages.Projects) != len(tree)/2-1 {
			t.Errorf("%s: the record lists %d projects for %d pages", b.Platform, len(b.Layout.Pages.Projects), len(tree))
		}
		for _, e := range readLayer(t, layerOf(t, b, KindDelta).Layer) {
			if strings.Contains(e.hdr.Name, "/simple/") {
				t.Errorf("%s: the delta of a first bake holds %s", b.Platform, e.hdr.Name)
			}
		}
	}
}

func TestALayoutWithAPagesRecordABakeCouldNotWriteIsRefused(t *testing.T) {
	good := `"diff_id":"sha256:` + strings.Repeat("a", 64) + `","root":"` + strings.Repeat("b", 32) + `"`
	for _, tc := range []struct{ name, pages string }{
		{"a project name that climbs out", good + `,"projects":{"../../etc":"` + strings.Repeat("c", 32) + `"}`},
		{"a project name with a slash", good + `,"projects":{"a/b":"` + strings.Repeat("c", 32) + `"}`},
		{"a hidden project name", good + `,"projects":{".wh.x":"` + strings.Repeat("c", 32) + `"}`},
		{"an empty project name", good + `,"projects":{"":"` + strings.Repeat("c", 32) + `"}`},
		{"a short digest", good + `,"projects":{"six":"abc"}`},
		{"an upper-case digest", good + `,"projects":{"six":"` + strings.Repeat("C", 32) + `"}`},
		{"no root digest", `"diff_id":"sha256:` + strings.Repeat("a", 64) + `","projects":{}`},
		{"a diff ID that is not one", `"diff_id":"sha256:xyz","root":"` + strings.Repeat("b", 32) + `","projects":{}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := DecodeLayout(`{"version":1,"buckets":[],"pages":{` + tc.pages + `}}`); err == nil {
				t.Errorf("accepted %s", tc.pages)
			}
		})
	}
	if _, err := DecodeLayout(`{"version":1,"buckets":[],"pages":{` + good + `,"projects":{"six":"` + strings.Repeat("c", 32) + `"}}}`); err != nil {
		t.Errorf("refused a good record: %v", err)
	}
}
