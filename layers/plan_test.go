package layers

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/larder-build/larder/internal/pypitest"
	"github.com/larder-build/larder/internal/wheelhousetest"
	"github.com/larder-build/larder/wheelhouse"
)

var twoPlatforms = []string{"linux/amd64", "linux/arm64"}

func mustPlan(t *testing.T, req Request) *Plan {
	t.Helper()
	p, err := MakePlan(req)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// files lists the file names of a stack's buckets, by set.
func bucketNames(s Stack, set string) []string {
	var out []string
	for _, b := range s.Buckets {
		if b.Set == set {
			for _, f := range b.Files {
				out = append(out, f.Name)
			}
		}
	}
	slices.Sort(out)
	return out
}

func TestPlanSharesPureFilesAndSplitsPlatformWheels(t *testing.T) {
	s := wheelhousetest.Store(t, wheelhousetest.Dir(t), sampleFiles(t)...)
	p := mustPlan(t, Request{Entries: closure(s), Platforms: twoPlatforms})
	if len(p.Stacks) != 2 || p.Compacted {
		t.Fatalf("plan: %+v", p)
	}
	amd, arm := p.Stacks[0], p.Stacks[1]
	if !slices.Equal(bucketNames(amd, PureSet), bucketNames(arm, PureSet)) {
		t.Errorf("pure buckets differ between platforms")
	}
	for _, n := range bucketNames(amd, PureSet) {
		if strings.Contains(n, "manylinux") {
			t.Errorf("platform wheel %s in the pure set", n)
		}
	}
	if !slices.Contains(bucketNames(amd, PureSet), "mysqlclient-2.2.4.tar.gz") {
		t.Errorf("the sdist is not in the pure set: %v", bucketNames(amd, PureSet))
	}
	for _, n := range bucketNames(amd, "linux/amd64") {
		if !strings.Contains(n, "x86_64") {
			t.Errorf("%s in the amd64 set", n)
		}
	}
	for _, n := range bucketNames(arm, "linux/arm64") {
		if !strings.Contains(n, "aarch64") {
			t.Errorf("%s in the arm64 set", n)
		}
	}
	if got := len(bucketNames(amd, "linux/amd64")); got != 3 {
		t.Errorf("amd64 set holds %d wheels, want 3", got)
	}
	// Each image's wheelhouse is its pure files and its platform's.
	if len(amd.Entries) != len(bucketNames(amd, PureSet))+3 || len(amd.Delta) != 0 || len(amd.Removed) != 0 {
		t.Errorf("amd64 image: %d entries, %d delta, %d removed", len(amd.Entries), len(amd.Delta), len(amd.Removed))
	}
}

func TestPlanFollowsTheLockTargetsForPlatformWheels(t *testing.T) {
	s := wheelhousetest.Store(t, wheelhousetest.Dir(t), sampleFiles(t)...)
	entries := closure(s)
	for i := range entries {
		entries[i].Targets = []string{"linux/amd64:3.11:glibc2.35"}
		if strings.Contains(entries[i].Filename, "aarch64") {
			entries[i].Targets = []string{"linux/arm64:3.11:glibc2.35"}
		}
	}
	// numpy's amd64 wheel is needed by no amd64 target here.
	for i := range entries {
		if strings.HasPrefix(entries[i].Filename, "numpy") && strings.Contains(entries[i].Filename, "x86_64") {
			entries[i].Targets = []string{"linux/arm64:3.12:glibc2.35"}
		}
	}
	p := mustPlan(t, Request{Entries: entries, Platforms: twoPlatforms})
	amd := bucketNames(p.Stacks[0], "linux/amd64")
	if len(amd) != 2 || slices.ContainsFunc(amd, func(n string) bool { return strings.HasPrefix(n, "numpy") }) {
		t.Errorf("amd64 set: %v", amd)
	}
}

func TestPlanIsAFunctionOfTheClosure(t *testing.T) {
	s := wheelhousetest.Store(t, wheelhousetest.Dir(t), sampleFiles(t)...)
	a := mustPlan(t, Request{Entries: closure(s), Platforms: twoPlatforms})
	shuffled := closure(s)
	rand.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	b := mustPlan(t, Request{Entries: shuffled, Platforms: twoPlatforms})
	for i := range a.Stacks {
		if !slices.EqualFunc(a.Stacks[i].Buckets, b.Stacks[i].Buckets, func(x, y Bucket) bool {
			return x.String() == y.String() && slices.Equal(x.Files, y.Files)
		}) {
			t.Errorf("%s: the order of the closure changed the layout", a.Stacks[i].Platform)
		}
	}
}

func TestBucketOfIsStableAndNormalizesNames(t *testing.T) {
	// Recorded once: changing these breaks every image's refresh.
	for _, c := range []struct {
		name  string
		count int
		want  int
	}{
		{"django", 8, BucketOf("Django", 8)},
		{"zope.interface", 16, BucketOf("Zope_Interface", 16)},
	} {
		if got := BucketOf(c.name, c.count); got != c.want {
			t.Errorf("BucketOf(%q, %d) = %d, want %d", c.name, c.count, got, c.want)
		}
	}
	golden := map[string]int{"django": 3, "six": 1, "lxml": 2, "numpy": 7}
	for name, want := range golden {
		if got := BucketOf(name, 8); got != want {
			t.Errorf("BucketOf(%q, 8) = %d, the recorded layout says %d", name, got, want)
		}
	}
}

func TestChooseBucketsFromSize(t *testing.T) {
	for _, c := range []struct {
		size int64
		want int
	}{{0, 1}, {1, 1}, {BucketSize, 1}, {BucketSize + 1, 2}, {300e6, 9}, {100 * BucketSize, MaxBuckets}} {
		if got := ChooseBuckets(c.size); got != c.want {
			t.Errorf("ChooseBuckets(%d) = %d, want %d", c.size, got, c.want)
		}
	}
}

// previous records the layout a bake of plan would write, with made-up
// diff IDs.
func previous(p *Plan) map[string]*Layout {
	out := map[string]*Layout{}
	for _, s := range p.Stacks {
		l := &Layout{Version: layoutVersion}
		for _, b := range s.Buckets {
			r := b.BucketRecord
			r.DiffID = "sha256:" + strings.Repeat("0", 56) + hexSum([]byte(r.String()))[:8]
			l.Buckets = append(l.Buckets, r)
		}
		out[s.Platform] = l
	}
	return out
}

// bigStore is a closure of many projects, so that one bump is a small
// share of it.
func bigStore(t *testing.T) *wheelhouse.Store {
	t.Helper()
	var files []*pypitest.File
	for i := range 40 {
		name := "proj" + string(rune('a'+i%26)) + strings.Repeat("x", i/26)
		files = append(files, wheelhousetest.Dist(t, name, "1.0", 3000, false, "py3-none-any")...)
	}
	files = append(files, sampleFiles(t)...)
	return wheelhousetest.Store(t, wheelhousetest.Dir(t), files...)
}

func TestRefreshKeepsEveryBucketAndPutsTheBumpInTheDelta(t *testing.T) {
	s := bigStore(t)
	first := mustPlan(t, Request{Entries: closure(s), Platforms: twoPlatforms, Buckets: 4})
	prev := previous(first)
	// Bump six: a new file, the old one leaves the closure.
	wheelhousetest.Add(t, s, wheelhousetest.Dist(t, "six", "1.18.0", 3000, false, "py2.py3-none-any")...)
	var entries []wheelhouse.Entry
	for _, e := range closure(s) {
		if e.Filename != "six-1.17.0-py2.py3-none-any.whl" {
			entries = append(entries, e)
		}
	}
	p := mustPlan(t, Request{Entries: entries, Platforms: twoPlatforms, Previous: prev})
	if p.Compacted {
		t.Fatalf("compacted: %s", p.Reason)
	}
	for i, st := range p.Stacks {
		if len(st.Buckets) != len(first.Stacks[i].Buckets) {
			t.Fatalf("%s: %d buckets, first bake had %d", st.Platform, len(st.Buckets), len(first.Stacks[i].Buckets))
		}
		for j, b := range st.Buckets {
			if !b.Reused || b.DiffID != prev[st.Platform].Buckets[j].DiffID {
				t.Errorf("%s: bucket %s not kept in place", st.Platform, b)
			}
		}
		if len(st.Delta) != 1 || st.Delta[0].Filename != "six-1.18.0-py2.py3-none-any.whl" {
			t.Errorf("%s: delta %v", st.Platform, st.Delta)
		}
		if len(st.Removed) != 1 || st.Removed[0].Name != "six-1.17.0-py2.py3-none-any.whl" || !st.Removed[0].Metadata {
			t.Errorf("%s: removed %v", st.Platform, st.Removed)
		}
		if slices.ContainsFunc(st.Entries, func(e wheelhouse.Entry) bool { return e.Filename == "six-1.17.0-py2.py3-none-any.whl" }) {
			t.Errorf("%s: the image's manifest still lists the old six", st.Platform)
		}
	}
	// A second refresh from the first keeps the delta's file in the delta.
	again := mustPlan(t, Request{Entries: entries, Platforms: twoPlatforms, Previous: prev})
	if len(again.Stacks[0].Delta) != 1 {
		t.Errorf("second refresh lost the delta: %v", again.Stacks[0].Delta)
	}
}

func TestRefreshCompactsPastTheThresholdOrWhenAsked(t *testing.T) {
	s := bigStore(t)
	first := mustPlan(t, Request{Entries: closure(s), Platforms: twoPlatforms, Buckets: 4})
	prev := previous(first)
	// Replace half the closure.
	var entries []wheelhouse.Entry
	for i, e := range closure(s) {
		if i%2 == 0 {
			e.SHA256 = strings.Repeat("f", 64)
		}
		entries = append(entries, e)
	}
	p := mustPlan(t, Request{Entries: entries, Platforms: twoPlatforms, Previous: prev})
	if !p.Compacted || !strings.Contains(p.Reason, "threshold") {
		t.Fatalf("compacted %v (%s)", p.Compacted, p.Reason)
	}
	for _, st := range p.Stacks {
		for _, b := range st.Buckets {
			if b.Reused || b.Count != 4 {
				t.Errorf("%s: bucket %s reused %v after compaction (count must stay 4)", st.Platform, b, b.Reused)
			}
		}
		if len(st.Delta) != 0 || len(st.Removed) != 0 {
			t.Errorf("%s: delta after compaction", st.Platform)
		}
	}
	// Compaction is the layout a first bake of the same closure gets.
	fresh := mustPlan(t, Request{Entries: entries, Platforms: twoPlatforms, Buckets: 4})
	for i := range fresh.Stacks {
		if bucketNames(fresh.Stacks[i], PureSet) == nil || !slices.Equal(bucketNames(fresh.Stacks[i], PureSet), bucketNames(p.Stacks[i], PureSet)) {
			t.Errorf("compaction differs from a first bake")
		}
	}
	for _, c := range []struct {
		req    Request
		reason string
	}{
		{Request{Entries: closure(s), Platforms: twoPlatforms, Previous: prev, Compact: true}, "compaction was asked for"},
		{Request{Entries: closure(s), Platforms: twoPlatforms, Previous: prev, Buckets: 2}, "changed to 2"},
	} {
		p := mustPlan(t, c.req)
		if !p.Compacted || !strings.Contains(p.Reason, c.reason) {
			t.Errorf("want a compaction for %q, got %v %q", c.reason, p.Compacted, p.Reason)
		}
	}
}

func TestRefreshLaysOutANewPlatformAndRefusesDisagreeingPureLayers(t *testing.T) {
	s := bigStore(t)
	first := mustPlan(t, Request{Entries: closure(s), Platforms: []string{"linux/amd64"}, Buckets: 4})
	prev := previous(first)
	p := mustPlan(t, Request{Entries: closure(s), Platforms: twoPlatforms, Previous: prev})
	if p.Compacted {
		t.Fatalf("adding a platform compacted: %s", p.Reason)
	}
	arm := p.Stacks[1]
	for _, b := range arm.Buckets {
		if b.Set == PureSet && !b.Reused || b.Set == "linux/arm64" && b.Reused {
			t.Errorf("arm64 bucket %s reused %v", b, b.Reused)
		}
	}
	// Two previous images whose pure layers differ: start afresh.
	two := previous(mustPlan(t, Request{Entries: closure(s), Platforms: twoPlatforms, Buckets: 4}))
	two["linux/arm64"].Buckets[0].DiffID = "sha256:" + strings.Repeat("e", 64)
	p = mustPlan(t, Request{Entries: closure(s), Platforms: twoPlatforms, Previous: two})
	if p.Stacks[0].Buckets[0].Reused || !strings.Contains(p.Reason, "different pure layers") {
		t.Errorf("disagreeing previous images were trusted: %q", p.Reason)
	}
}

func TestLayoutRoundTripsThroughTheLabel(t *testing.T) {
	s := wheelhousetest.Store(t, wheelhousetest.Dir(t), sampleFiles(t)...)
	l := previous(mustPlan(t, Request{Entries: closure(s), Platforms: twoPlatforms}))["linux/amd64"]
	v, err := l.Encode()
	if err != nil {
		t.Fatal(err)
	}
	back, err := DecodeLayout(v)
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Buckets) != len(l.Buckets) || back.Buckets[0].Files[0] != l.Buckets[0].Files[0] {
		t.Errorf("layout changed through the label")
	}
	for _, bad := range []string{"{", `{"version":2}`, `{"version":1,"buckets":[{"set":"pure","index":3,"count":2,"diff_id":"x"}]}`} {
		if _, err := DecodeLayout(bad); err == nil {
			t.Errorf("DecodeLayout(%s) accepted it", bad)
		}
	}
}

// freshDelta is the delta of a stack whose pages layer is made afresh.
func freshDelta(c Content, s *Stack) ([]File, error) {
	ix, err := c.index(s)
	if err != nil {
		return nil, err
	}
	return c.deltaFiles(s, ix, nil)
}

func TestDeltaFilesTakeTheIndexMadeAheadOnlyWhenMadeFromTheStacksEntries(t *testing.T) {
	s := wheelhousetest.Store(t, wheelhousetest.Dir(t), sampleFiles(t)...)
	entries := closure(s)
	p := mustPlan(t, Request{Entries: entries, Platforms: twoPlatforms})
	fresh := Content{Store: s}
	for _, tc := range []struct {
		name  string
		ahead []wheelhouse.Entry
		taken bool
	}{
		{"made from the closure the plan was made from", entries, true},
		{"made from another closure", entries[1:], false},
		{"made from nothing", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Content{Store: s}
			c.Made = c.MakeIndexes(tc.ahead, twoPlatforms)
			defer c.Made.Wait()
			for i := range p.Stacks {
				st := &p.Stacks[i]
				got, err := freshDelta(c, st)
				if err != nil {
					t.Fatal(err)
				}
				want, err := freshDelta(fresh, st)
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != len(want) {
					t.Fatalf("%s: %d files, want %d", st.Platform, len(got), len(want))
				}
				for j := range want {
					if got[j].Path != want[j].Path || got[j].SHA256 != want[j].SHA256 || string(got[j].Data) != string(want[j].Data) {
						t.Errorf("%s: file %d is %s %s, want %s %s", st.Platform, j, got[j].Path, got[j].SHA256, want[j].Path, want[j].SHA256)
					}
				}
				// The manifest is the first file made: taken from the
				// index made ahead, it is that index's slice.
				ix, ok := c.Made.index(st.Platform, st.Entries)
				manifest := len(st.Delta) // no sidecars, no removals in a first plan
				taken := ok && &got[manifest].Data[0] == &ix.manifest.Data[0]
				if taken != tc.taken {
					t.Errorf("%s: index made ahead taken: %v, want %v", st.Platform, taken, tc.taken)
				}
			}
		})
	}
}
