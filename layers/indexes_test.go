package layers

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/larder-build/larder/wheelhouse"
)

// sdistEntries are n projects of one sdist each, sorted by file name (as
// a plan's stack entries are).
func sdistEntries(n int) []wheelhouse.Entry {
	var es []wheelhouse.Entry
	for i := range n {
		name := fmt.Sprintf("p%04d", i)
		es = append(es, wheelhouse.Entry{Filename: name + "-1.0.tar.gz", Project: name, Version: "1.0",
			SHA256: strings.Repeat("ab", 32), Size: int64(i), Origin: wheelhouse.Origin{Kind: wheelhouse.OriginIndex}})
	}
	return es
}

// TestIndexesMadeAheadByWorkersAreTheSequentialOnes: the index made
// ahead with several workers is the index made with one, page for page,
// in the same order, with the same record.
func TestIndexesMadeAheadByWorkersAreTheSequentialOnes(t *testing.T) {
	for _, n := range []int{0, 1, 63, 64, 129, 300, 1000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			entries := sdistEntries(n)
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(8))
			c := Content{}
			platforms := []string{"linux/amd64", "linux/amd64", "linux/arm64"}
			c.Made = c.MakeIndexes(entries, platforms)
			c.Made.Wait()
			if len(c.Made.made) != 2 {
				t.Fatalf("%d made, want 2", len(c.Made.made))
			}
			runtime.GOMAXPROCS(1)
			want, err := c.makeIndex(entries)
			if err != nil {
				t.Fatal(err)
			}
			want.all()
			runtime.GOMAXPROCS(8)
			for _, p := range platforms {
				got, ok := c.Made.index(p, entries)
				if n == 0 {
					// imageEntries gives nil, the plan an empty list or nil.
					got, ok = c.Made.index(p, nil)
				}
				if !ok {
					t.Fatalf("%s: no index made ahead", p)
				}
				got.all()
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("%s: the index made ahead differs from the sequential one", p)
				}
				for i, f := range got.pages {
					if s := sha256.Sum256(f.Data); hex.EncodeToString(s[:]) != f.SHA256 {
						t.Fatalf("page %d %s: sha256 is not its data's", i, f.Path)
					}
					if i > 0 && got.pages[i-1].Path >= f.Path {
						t.Fatalf("pages out of order at %d: %s after %s", i, f.Path, got.pages[i-1].Path)
					}
				}
			}
		})
	}
}

// TestIndexesOfABadPlatformEndWithAnError: a split that fails ends every
// index made ahead with the error, and Wait returns.
func TestIndexesOfABadPlatformEndWithAnError(t *testing.T) {
	c := Content{}
	c.Made = c.MakeIndexes(sdistEntries(3), []string{"linux/amd64", "nonsense", "nonsense"})
	done := make(chan struct{})
	go func() { c.Made.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Wait hangs")
	}
	for p, m := range c.Made.made {
		if m.err == nil {
			t.Errorf("%s: no error", p)
		}
		if _, ok := c.Made.index(p, sdistEntries(3)); ok {
			t.Errorf("%s: an index was taken", p)
		}
	}
}

// deltaSet is what deltaFiles gives, by path: the sha256, or "whiteout".
func deltaSet(t *testing.T, c Content, entries []wheelhouse.Entry, kept *pagesRecord) (map[string]string, *index) {
	t.Helper()
	ix, err := c.makeIndex(entries)
	if err != nil {
		t.Fatal(err)
	}
	files, err := c.deltaFiles(&Stack{Entries: entries}, ix, kept)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, f := range files {
		if _, dup := out[f.Path]; dup {
			t.Fatalf("%s twice in the delta", f.Path)
		}
		out[f.Path] = f.SHA256
		if f.Whiteout {
			out[f.Path] = "whiteout"
		}
	}
	return out, ix
}

// TestAKeyedRecordGivesTheDeltaThePagesDigestsGive: a pages layer whose
// record has the keys of what its pages were made from gives a refresh
// the very delta that comparing every page's bytes gives, while making
// only the pages whose keys changed; keys that all differ (another
// version's rendering) still give it, by the pages' bytes.
func TestAKeyedRecordGivesTheDeltaThePagesDigestsGive(t *testing.T) {
	c := Content{Path: "/wh"}
	before := sdistEntries(300)
	ix0, err := c.makeIndex(before)
	if err != nil {
		t.Fatal(err)
	}
	_, kept := ix0.all()
	if kept.Keys == nil || len(kept.Keys.Projects) != 300 || !kept.valid() {
		t.Fatalf("the record of a made pages layer has no valid keys: %+v", kept.Keys)
	}
	unkeyed := *kept
	unkeyed.Keys = nil
	stale := *kept
	stale.Keys = &pageKeys{Root: strings.Repeat("0", 32), Projects: map[string]string{}}
	for name := range kept.Keys.Projects {
		stale.Keys.Projects[name] = strings.Repeat("0", 32)
	}

	for _, tc := range []struct {
		name  string
		edit  func([]wheelhouse.Entry) []wheelhouse.Entry
		pages []string // the pages the delta holds, below /wh/simple/ (a project's folder: its whiteout)
	}{
		{"nothing changed", func(es []wheelhouse.Entry) []wheelhouse.Entry { return es }, nil},
		{"a file's hash changed", func(es []wheelhouse.Entry) []wheelhouse.Entry {
			es[7].SHA256 = strings.Repeat("cd", 32)
			return es
		}, []string{"p0007/index.html", "p0007/index.json"}},
		{"a field no page shows changed", func(es []wheelhouse.Entry) []wheelhouse.Entry {
			es[8].Origin.URL = "https://elsewhere.example/x.tar.gz"
			return es
		}, nil},
		{"a project added and one removed", func(es []wheelhouse.Entry) []wheelhouse.Entry {
			es = slices.Delete(es, 3, 4)
			return append(es, wheelhouse.Entry{Filename: "zz-1.0.tar.gz", Project: "zz", Version: "1.0", SHA256: strings.Repeat("ef", 32), Size: 9})
		}, []string{"index.html", "index.json", "p0003", "zz/index.html", "zz/index.json"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			after := tc.edit(slices.Clone(before))
			byBytes, _ := deltaSet(t, c, after, &unkeyed)
			byKeys, ix := deltaSet(t, c, after, kept)
			byStale, _ := deltaSet(t, c, after, &stale)
			if !maps.Equal(byKeys, byBytes) || !maps.Equal(byStale, byBytes) {
				t.Fatalf("by keys %v\nby stale keys %v\nby bytes %v", byKeys, byStale, byBytes)
			}
			if ix.pages != nil {
				t.Error("a keyed record made every page")
			}
			var got []string
			for p := range byKeys {
				if rel, ok := strings.CutPrefix(p, "/wh/simple/"); ok {
					got = append(got, rel)
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, tc.pages) {
				t.Errorf("the delta holds pages %q, want %q", got, tc.pages)
			}
			for _, p := range got {
				if !strings.Contains(p, "/") && !strings.HasPrefix(p, "index.") && byKeys["/wh/simple/"+p] != "whiteout" {
					t.Errorf("%s is in the delta, not as a whiteout", p)
				}
			}
			if _, ok := byKeys["/wh/manifest.json"]; !ok {
				t.Error("no manifest.json in the delta")
			}
		})
	}
}

// TestAnIndexMadeAheadIsUsedOnlyForTheVeryEntriesThePlanHas: the plan's
// entries differ from those the index was made from (by a hash, or by
// an upload time's zone, which manifest.json shows) and it is made
// afresh; entries that differ only where no file of the index shows it
// (no targets, nil or empty) take it.
func TestAnIndexMadeAheadIsUsedOnlyForTheVeryEntriesThePlanHas(t *testing.T) {
	made := sdistEntries(20)
	made[3].UploadTime = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	made[4].Targets = []string{}
	c := Content{}
	c.Made = c.MakeIndexes(made, []string{"linux/amd64"})
	for _, tc := range []struct {
		name string
		edit func([]wheelhouse.Entry)
		used bool
	}{
		{"the same entries", func([]wheelhouse.Entry) {}, true},
		{"empty targets given as none", func(es []wheelhouse.Entry) { es[4].Targets = nil }, true},
		{"another hash", func(es []wheelhouse.Entry) { es[7].SHA256 = strings.Repeat("cd", 32) }, false},
		{"an upload time in another zone", func(es []wheelhouse.Entry) {
			es[3].UploadTime = es[3].UploadTime.In(time.FixedZone("x", 3600))
		}, false},
		{"a file given twice in place of another", func(es []wheelhouse.Entry) { es[19] = es[18] }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plan := slices.Clone(made)
			tc.edit(plan)
			if _, ok := c.Made.index("linux/amd64", plan); ok != tc.used {
				t.Errorf("the index made ahead is used: %t, want %t", ok, tc.used)
			}
		})
	}
}
