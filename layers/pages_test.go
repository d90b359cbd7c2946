package layers

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

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

// firstBake builds a first layout of s's closure with builder, and
// returns the built stacks and the layouts a refresh reads from the label.
func firstBake(t *testing.T, builder *Builder, c Content) ([]Built, map[string]*Layout) {
	t.Helper()
	first := mustPlan(t, Request{Entries: closure(c.Store), Platforms: twoPlatforms, Buckets: 4})
	built, err := builder.BuildStacks(t.Context(), first, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	prev := map[string]*Layout{}
	for _, b := range built {
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
	return built, prev
}

// bumped is s's closure with six bumped, requests dropped and attrs
// added: the rest unchanged.
func bumped(t *testing.T, s *wheelhouse.Store) []wheelhouse.Entry {
	t.Helper()
	wheelhousetest.Add(t, s, wheelhousetest.Dist(t, "six", "1.18.0", 3000, false, "py2.py3-none-any")...)
	wheelhousetest.Add(t, s, wheelhousetest.Dist(t, "attrs", "24.2.0", 3000, false, "py3-none-any")...)
	var entries []wheelhouse.Entry
	for _, e := range closure(s) {
		if e.Filename != "six-1.17.0-py2.py3-none-any.whl" && e.Project != "requests" {
			entries = append(entries, e)
		}
	}
	return entries
}

// deltaPages are the names of the pages and page whiteouts of a delta.
func deltaPages(delta []entry) []string {
	var out []string
	for _, e := range delta {
		if strings.HasPrefix(e.hdr.Name, "wheelhouse/simple/") && e.hdr.Typeflag == tar.TypeReg {
			out = append(out, e.hdr.Name)
		}
	}
	return out
}

// servedPages overlays a stack's pages layer (the kept one from old, or
// its own) and its delta, and returns the pages a runtime would see.
func servedPages(t *testing.T, b Built, old []Built, i int) map[string]string {
	t.Helper()
	tree := map[string][]byte{}
	pages := layerOf(t, b, KindPages)
	if pages.Reused {
		overlay(tree, readLayer(t, layerOf(t, old[i], KindPages).Layer))
	} else {
		overlay(tree, readLayer(t, pages.Layer))
	}
	overlay(tree, readLayer(t, layerOf(t, b, KindDelta).Layer))
	return pagesOf(tree)
}

func TestRefreshKeepsThePagesLayerAndItsDeltaHoldsOnlyThePagesThatChanged(t *testing.T) {
	s := bigStore(t)
	builder, err := NewBuilder(WithDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	// No Kept: what the kept layer holds can only come from the record
	// this builder wrote when it made the layer.
	c := Content{Store: s}
	built, prev := firstBake(t, builder, c)
	entries := bumped(t, s)
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
		if !pages.Reused || pages.DiffID != layerOf(t, old, KindPages).DiffID || b.Layout.Pages.DiffID != pages.DiffID.String() {
			t.Errorf("%s: pages layer reused %v, %s, want the previous image's %s", b.Platform, pages.Reused, pages.DiffID, layerOf(t, old, KindPages).DiffID)
		}
		// The kept layer's history says what it holds, as when it was made.
		if want := layerOf(t, old, KindPages).Comment; pages.Comment != want {
			t.Errorf("%s: the kept pages layer's comment is %q, want %q", b.Platform, pages.Comment, want)
		}
		want := []string{
			"wheelhouse/simple/.wh.requests",
			"wheelhouse/simple/attrs/index.html", "wheelhouse/simple/attrs/index.json",
			"wheelhouse/simple/index.html", "wheelhouse/simple/index.json",
			"wheelhouse/simple/six/index.html", "wheelhouse/simple/six/index.json",
		}
		if got := deltaPages(readLayer(t, layerOf(t, b, KindDelta).Layer)); !slices.Equal(got, want) {
			t.Errorf("%s: the delta holds pages %q, want %q", b.Platform, got, want)
		}
		// The kept pages layer under the new delta is exactly the static
		// index of the refreshed image.
		if got, want := servedPages(t, b, built, i), staticPages(t, refresh.Stacks[i].Entries); !maps.Equal(got, want) {
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
	p := mustPlan(t, Request{Entries: bumpOnly, Platforms: twoPlatforms, Previous: prev, Threshold: 0.5})
	third, err := builder.BuildStacks(t.Context(), p, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := deltaPages(readLayer(t, layerOf(t, third[0], KindDelta).Layer))
	if want := []string{"wheelhouse/simple/six/index.html", "wheelhouse/simple/six/index.json"}; !slices.Equal(got, want) {
		t.Errorf("a bump's delta holds pages %q, want %q", got, want)
	}

	// A project dropped leaves the kept layer's history as it was: the
	// layer still holds the project's pages, which the delta whites out.
	var dropped []wheelhouse.Entry
	for _, e := range bumpOnly {
		if e.Project != "requests" {
			dropped = append(dropped, e)
		}
	}
	p = mustPlan(t, Request{Entries: dropped, Platforms: twoPlatforms, Previous: prev, Threshold: 0.5})
	fourth, err := builder.BuildStacks(t.Context(), p, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := layerOf(t, fourth[0], KindPages).Comment, layerOf(t, built[0], KindPages).Comment; got != want {
		t.Errorf("the kept pages layer's comment is %q, want %q", got, want)
	}
}

// pagesTar writes entries as a layer's tar and returns it and its diff ID.
func pagesTar(t *testing.T, entries []entry) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := *e.hdr
		h.Size = int64(len(e.data))
		if h.Typeflag == tar.TypeDir || h.Typeflag == tar.TypeSymlink {
			h.Size = 0
		}
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		tw.Write(e.data)
	}
	tw.Close()
	sum := sha256.Sum256(buf.Bytes())
	return buf.Bytes(), "sha256:" + hex.EncodeToString(sum[:])
}

func TestAPagesLayerThisMachineHasNoRecordOfIsReadAndOnlyPagesAreKept(t *testing.T) {
	s := bigStore(t)
	first, err := NewBuilder(WithDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	built, prev := firstBake(t, first, Content{Store: s})
	genuine := readLayer(t, layerOf(t, built[0], KindPages).Layer)
	entries := bumped(t, s)
	reg := func(name, data string) entry {
		return entry{&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644}, []byte(data)}
	}
	edit := func(f func([]entry) []entry) []entry { return f(slices.Clone(genuine)) }
	for _, tc := range []struct {
		name   string
		layer  []entry // nil: the genuine layer, as the first bake built it
		lie    bool    // the label's diff ID is not the layer's
		fail   bool    // the layer cannot be read
		record string  // a record already in the builder's folder
		kept   bool
	}{
		{name: "the genuine layer", kept: true},
		{name: "a corrupt record on disk, the layer read", record: "{", kept: true},
		{name: "a record of a layer below another folder, the layer read", kept: true,
			record: `{"root":"0123456789abcdef0123456789abcdef","projects":{},"dir":"/elsewhere"}`},
		{name: "a page with other bytes", layer: edit(func(es []entry) []entry {
			for i, e := range es {
				if e.hdr.Name == "wheelhouse/simple/django/index.html" {
					es[i] = reg(e.hdr.Name, "<a href=evil>")
				}
			}
			return es
		}), kept: true},
		{name: "a page of a project the image does not have", layer: edit(func(es []entry) []entry {
			return append(es, entry{&tar.Header{Typeflag: tar.TypeDir, Name: "wheelhouse/simple/evil/", Mode: 0o755}, nil},
				reg("wheelhouse/simple/evil/index.html", "<a href=evil>"))
		}), kept: true},
		{name: "a wheel beside the pages", layer: edit(func(es []entry) []entry {
			return append(es, entry{&tar.Header{Typeflag: tar.TypeDir, Name: "wheelhouse/files/", Mode: 0o755}, nil},
				reg("wheelhouse/files/six-1.17.0-py2.py3-none-any.whl", "evil"))
		})},
		{name: "a file outside the wheelhouse", layer: edit(func(es []entry) []entry {
			return append(es, reg("usr/bin/python3", "evil"))
		})},
		{name: "another file in a project's folder", layer: edit(func(es []entry) []entry {
			return append(es, reg("wheelhouse/simple/django/evil.html", "evil"))
		})},
		{name: "a link for a page", layer: edit(func(es []entry) []entry {
			for i, e := range es {
				if e.hdr.Name == "wheelhouse/simple/django/index.html" {
					es[i] = entry{&tar.Header{Typeflag: tar.TypeSymlink, Name: e.hdr.Name, Linkname: "/etc/passwd", Mode: 0o777}, nil}
				}
			}
			return es
		})},
		{name: "a setuid page", layer: edit(func(es []entry) []entry {
			for i, e := range es {
				if e.hdr.Name == "wheelhouse/simple/django/index.html" {
					h := *e.hdr
					h.Mode = 0o4755
					es[i] = entry{&h, e.data}
				}
			}
			return es
		})},
		{name: "a layer whose bytes are not its diff ID's", lie: true},
		{name: "a layer that cannot be read", fail: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			layer := tc.layer
			if layer == nil {
				layer = genuine
			}
			data, diffID := pagesTar(t, layer)
			if tc.layer == nil && diffID != prev["linux/amd64"].Pages.DiffID {
				t.Fatalf("the genuine layer rewritten has diff ID %s, built %s", diffID, prev["linux/amd64"].Pages.DiffID)
			}
			if tc.lie {
				data = append(data, make([]byte, 1024)...)
			}
			label := map[string]*Layout{}
			for p, l := range prev {
				c := *l
				c.Pages = &PagesLayer{DiffID: diffID}
				label[p] = &c
			}
			dir := t.TempDir()
			if tc.record != "" {
				h, _ := v1.NewHash(diffID)
				os.MkdirAll(filepath.Join(dir, pagesDir), 0o755)
				os.WriteFile(filepath.Join(dir, pagesDir, h.Hex+".json"), []byte(tc.record), 0o644)
			}
			builder, err := NewBuilder(WithDir(dir))
			if err != nil {
				t.Fatal(err)
			}
			var opened int
			c := Content{Store: s, Kept: func(_ context.Context, platform string, d v1.Hash) (io.ReadCloser, error) {
				opened++
				if tc.fail {
					return nil, errors.New("the registry is down")
				}
				if d.String() != diffID {
					t.Errorf("asked for %s, the label names %s", d, diffID)
				}
				return io.NopCloser(bytes.NewReader(data)), nil
			}}
			p := mustPlan(t, Request{Entries: entries, Platforms: []string{"linux/amd64"}, Previous: label, Threshold: 0.5})
			again, err := builder.BuildStacks(t.Context(), p, c, nil)
			if err != nil {
				t.Fatal(err)
			}
			b := again[0]
			pages := layerOf(t, b, KindPages)
			if pages.Reused != tc.kept {
				t.Errorf("pages layer kept: %v, want %v", pages.Reused, tc.kept)
			}
			if opened != 1 {
				t.Errorf("the kept layer was opened %d times, want once", opened)
			}
			tree := map[string][]byte{}
			if pages.Reused {
				tree = map[string][]byte{}
				overlay(tree, layer)
			} else {
				overlay(tree, readLayer(t, pages.Layer))
			}
			overlay(tree, readLayer(t, layerOf(t, b, KindDelta).Layer))
			if got, want := pagesOf(tree), staticPages(t, p.Stacks[0].Entries); !maps.Equal(got, want) {
				t.Errorf("the image's pages are not its static index: %d pages, want %d", len(got), len(want))
				for name := range got {
					if got[name] != want[name] {
						t.Errorf("  %s differs", name)
					}
				}
			}
			// What was read is remembered: the next refresh on this
			// machine does not read the layer again.
			if tc.kept {
				if _, err := builder.BuildStacks(t.Context(), p, c, nil); err != nil {
					t.Fatal(err)
				}
				if opened != 1 {
					t.Errorf("the kept layer was read again (%d times)", opened)
				}
			}
		})
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
		// The builder's folder remembers what the layer holds.
		data, err := os.ReadFile(builder.pagesRecordPath(pages.DiffID))
		var rec pagesRecord
		if err != nil || json.Unmarshal(data, &rec) != nil || !rec.valid() || len(rec.Projects) != len(tree)/2-1 {
			t.Errorf("%s: the record of the pages layer is %q (%v), want %d projects", b.Platform, data, err, len(tree)/2-1)
		}
		for _, e := range readLayer(t, layerOf(t, b, KindDelta).Layer) {
			if strings.Contains(e.hdr.Name, "/simple/") {
				t.Errorf("%s: the delta of a first bake holds %s", b.Platform, e.hdr.Name)
			}
		}
	}
}

func TestALayoutNamingItsPagesLayerByAnInvalidDiffIDIsRefused(t *testing.T) {
	for _, bad := range []string{`{"diff_id":"sha256:xyz"}`, `{"diff_id":""}`, `{}`} {
		if _, err := DecodeLayout(`{"version":1,"buckets":[],"pages":` + bad + `}`); err == nil {
			t.Errorf("accepted pages %s", bad)
		}
	}
	if _, err := DecodeLayout(`{"version":1,"buckets":[],"pages":{"diff_id":"sha256:` + strings.Repeat("a", 64) + `"}}`); err != nil {
		t.Errorf("refused a good one: %v", err)
	}
}

func TestOnlyThirtyTwoLowercaseHexDigitsArePagesDigests(t *testing.T) {
	for _, tt := range []struct {
		d    string
		want bool
	}{
		{"0123456789abcdef0123456789abcdef", true},
		{"0123456789ABCDEF0123456789abcdef", false},
		{"0123456789abcdef0123456789abcde", false},
		{"0123456789abcdef0123456789abcdef0", false},
		{"0123456789abcdeg0123456789abcdef", false},
		{"0123456789abcdef0123456789abcd\xff", false},
		{"", false},
	} {
		if got := validPagesDigest(tt.d); got != tt.want {
			t.Errorf("validPagesDigest(%q) = %t, want %t", tt.d, got, tt.want)
		}
	}
}
