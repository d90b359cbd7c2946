package wheelhouse

import (
	"bytes"
	"encoding/hex"
	"reflect"
	"strings"
	"testing"
	"time"
)

// keyedEntries are two projects' entries with every field set.
func keyedEntries() []Entry {
	t := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	return []Entry{
		{Filename: "six-1.16.0-py2.py3-none-any.whl", Project: "six", Version: "1.16.0", SHA256: strings.Repeat("a1", 32), Size: 11053,
			MetadataSHA256: strings.Repeat("b2", 32), RequiresPython: ">=2.7", UploadTime: t,
			Origin: Origin{Kind: OriginIndex, URL: "https://files.example/six.whl", Index: "https://pypi.org/simple/"}, Targets: []string{"linux/amd64"}},
		{Filename: "six-1.16.0.tar.gz", Project: "six", Version: "1.16.0", SHA256: strings.Repeat("c3", 32), Size: 34041, UploadTime: t},
		{Filename: "attrs-23.1.0-py3-none-any.whl", Project: "attrs", Version: "23.1.0", SHA256: strings.Repeat("d4", 32), Size: 61160,
			MetadataSHA256: strings.Repeat("e5", 32), Private: true},
	}
}

// TestAStaticIndexKeyChangesWheneverItsPagesDo changes each field of an
// entry, one at a time (found by reflection, so that a field added to
// Entry is tried too), and checks that a project's key changes whenever
// its pages' bytes do: a refresh that keeps the pages of an unchanged key
// never keeps a stale page. Fields no page shows may leave both alone.
func TestAStaticIndexKeyChangesWheneverItsPagesDo(t *testing.T) {
	base := keyedEntries()
	x0, err := NewStaticIndex(base)
	if err != nil {
		t.Fatal(err)
	}
	fields := reflect.TypeFor[Entry]().NumField()
	changedPages := 0
	for i := range fields {
		for _, variant := range []int{1, 2} {
			entries := keyedEntries()
			f := reflect.ValueOf(&entries[0]).Elem().Field(i)
			name := reflect.TypeFor[Entry]().Field(i).Name
			if !mutate(f, variant) {
				t.Fatalf("no way to change field %s (%s): teach mutate", name, f.Type())
			}
			if name == "Project" {
				continue // another project: the root key's case below
			}
			x, err := NewStaticIndex(entries)
			if err != nil {
				t.Fatal(err)
			}
			pagesDiffer := !pagesEqual(x.ProjectPages("six"), x0.ProjectPages("six"))
			keyDiffers := x.ProjectKey("six") != x0.ProjectKey("six")
			if pagesDiffer && !keyDiffers {
				t.Errorf("changing %s changes six's pages but not its key", name)
			}
			if pagesDiffer {
				changedPages++
			}
			if x.RootKey() != x0.RootKey() || !pagesEqual(x.RootPages(), x0.RootPages()) {
				t.Errorf("changing %s of one file changed the root pages or key", name)
			}
			if x.ProjectKey("attrs") != x0.ProjectKey("attrs") {
				t.Errorf("changing %s of six changed attrs' key", name)
			}
		}
	}
	if changedPages < 6 {
		t.Errorf("only %d changes reached the pages: the test changes too little", changedPages)
	}
}

// mutate changes v in one of two ways; false for a kind it cannot change.
func mutate(v reflect.Value, variant int) bool {
	switch v.Kind() {
	case reflect.String:
		v.SetString(v.String() + strings.Repeat("x", variant))
	case reflect.Int64:
		v.SetInt(v.Int() + int64(variant))
	case reflect.Bool:
		v.SetBool(!v.Bool())
	case reflect.Slice:
		v.Set(reflect.Append(v, reflect.ValueOf(strings.Repeat("y", variant))))
	case reflect.Struct:
		if t, ok := v.Interface().(time.Time); ok {
			if variant == 1 {
				v.Set(reflect.ValueOf(t.Add(time.Second)))
			} else {
				v.Set(reflect.ValueOf(t.Add(time.Microsecond).In(time.FixedZone("x", 3600))))
			}
			return true
		}
		for i := range v.NumField() {
			if !mutate(v.Field(i), variant) {
				return false
			}
		}
	default:
		return false
	}
	return true
}

func pagesEqual(a, b []Page) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Path != b[i].Path || !bytes.Equal(a[i].Data, b[i].Data) {
			return false
		}
	}
	return true
}

// TestAStaticIndexRootKeyFollowsTheProjectList: the root key changes with
// the list of projects, and with nothing else.
func TestAStaticIndexRootKeyFollowsTheProjectList(t *testing.T) {
	x0, _ := NewStaticIndex(keyedEntries())
	more := append(keyedEntries(), Entry{Filename: "zope-1.0-py3-none-any.whl", Project: "zope", Version: "1.0", SHA256: strings.Repeat("f6", 32), Size: 1})
	x1, _ := NewStaticIndex(more)
	if x1.RootKey() == x0.RootKey() {
		t.Error("a project more kept the root key")
	}
	if x1.ProjectKey("six") != x0.ProjectKey("six") || x1.ProjectKey("zope") == "" || x0.ProjectKey("zope") != "" {
		t.Error("a project more changed another's key, or has none")
	}
	bumped := keyedEntries()
	bumped[2].Version, bumped[2].Filename = "23.2.0", "attrs-23.2.0-py3-none-any.whl"
	x2, _ := NewStaticIndex(bumped)
	if x2.RootKey() != x0.RootKey() {
		t.Error("a new version of a project changed the root key")
	}
}

// TestAStaticIndexRendersWhatStaticPagesDoes: page by page, the index
// gives every page StaticPages gives, and nothing else.
func TestAStaticIndexRendersWhatStaticPagesDoes(t *testing.T) {
	all, err := StaticPages(keyedEntries())
	if err != nil {
		t.Fatal(err)
	}
	x, _ := NewStaticIndex(keyedEntries())
	got := x.RootPages()
	for _, name := range x.Projects() {
		got = append(got, x.ProjectPages(name)...)
	}
	byPath := map[string][]byte{}
	for _, p := range got {
		byPath[p.Path] = p.Data
	}
	if len(byPath) != len(all) {
		t.Fatalf("%d pages page by page, %d from StaticPages", len(byPath), len(all))
	}
	for _, p := range all {
		if !bytes.Equal(byPath[p.Path], p.Data) {
			t.Errorf("%s differs", p.Path)
		}
	}
	if x.ProjectPages("nope") != nil || x.ProjectKey("nope") != "" || x.Has("nope") || !x.Has("six") {
		t.Error("a project the index does not have has pages, a key or Has")
	}
}

// TestPageRenderingIsPinned: the probe's pages are the bytes below. A
// change to how pages render fails here: bump pageKeyVersion (so that no
// refresh keeps pages rendered the old way as if they were the new), then
// pin the new digest.
func TestPageRenderingIsPinned(t *testing.T) {
	const pinned = "8165d6eec552e79f0d59d997fc83f2cf22108ea9f292538f7395dc7f54d624c2"
	got := hex.EncodeToString(renderFingerprint())
	if got != pinned {
		for _, p := range probePages() {
			t.Logf("%s:\n%s", p.Path, p.Data)
		}
		t.Fatalf("the probe's pages digest to %s, pinned %s: pages render otherwise; bump pageKeyVersion and pin the new digest", got, pinned)
	}
}
