package layers

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/larder-build/larder/resolver/dist"
	"github.com/larder-build/larder/resolver/target"
	"github.com/larder-build/larder/wheelhouse"
)

// Planning defaults.
const (
	// BucketSize is the size a bucket layer aims at when the number of
	// buckets is chosen: layers of a few tens of MB pull in parallel and
	// a compaction rewrites little.
	BucketSize = 32 << 20
	// MaxBuckets bounds the buckets of one set.
	MaxBuckets = 16
	// DefaultThreshold is the share of an image's wheelhouse that may sit
	// in the delta layer (added files, and files of the buckets that the
	// wheelhouse no longer has) before the buckets are laid out again.
	DefaultThreshold = 0.2
)

// Request is what to plan.
type Request struct {
	// Entries is the closure: every file the lock's targets install, with
	// Targets set (nil: any platform), as fetch.Closure returns it.
	Entries []wheelhouse.Entry
	// Platforms are the images to plan, "linux/amd64" and the like.
	Platforms []string
	// Previous maps a platform to the layout of the image this bake
	// refreshes; nil or missing for a first bake.
	Previous map[string]*Layout
	// Buckets is the number of buckets per set; 0 keeps the previous
	// number, or chooses one from the size at a first bake.
	Buckets int
	// Compact lays the buckets out again even when the delta is small.
	Compact bool
	// Threshold is the delta share that triggers a compaction
	// (DefaultThreshold when 0).
	Threshold float64
}

// Plan is the layer stack of every image.
type Plan struct {
	Stacks []Stack
	// Compacted says the buckets were laid out afresh although there was
	// a previous layout, and Reason why; Reason also says why a previous
	// layout was not used at all.
	Compacted bool
	Reason    string
}

// Stack is the wheelhouse layers of one platform's image, bottom up:
// Buckets, then (added by the caller) the larder-index layer, then the
// pages layer holding the image's static simple index as it was when the
// buckets were laid out, then the delta layer holding Delta, Removed, the
// image's manifest and the pages that changed since.
type Stack struct {
	Platform string
	Buckets  []Bucket
	// Pages is the pages layer of the previous image, to keep with its
	// buckets when what it holds is known (BuildStacks finds out); nil
	// when the pages layer is made afresh.
	Pages *PagesLayer
	// Delta are the files the buckets do not hold.
	Delta []wheelhouse.Entry
	// Removed are files of kept buckets that the image no longer has.
	Removed []FileRecord
	// Entries are every file of the image's wheelhouse.
	Entries []wheelhouse.Entry
}

// Bucket is one bucket layer.
type Bucket struct {
	BucketRecord
	// Reused says the layer is the previous image's, kept as it is.
	Reused bool
}

// Bytes is the size of the files in the bucket.
func (b Bucket) Bytes() int64 {
	var n int64
	for _, f := range b.Files {
		n += f.Size
	}
	return n
}

// Stack returns the stack of a platform.
func (p *Plan) Stack(platform string) (*Stack, bool) {
	for i := range p.Stacks {
		if p.Stacks[i].Platform == platform {
			return &p.Stacks[i], true
		}
	}
	return nil, false
}

// MakePlan lays the closure out over bucket layers for every platform.
// Pure files (sdists, and wheels whose every tag is "any") go into the
// pure set, which is the same in every image; platform wheels go into
// their platform's set. A file's bucket is a hash of its project's
// normalized name modulo the set's bucket count, so that the layout is a
// function of the closure alone. With a previous layout every bucket is
// kept and the difference goes into the delta, unless the delta grows
// beyond the threshold, the counts change or Compact is set.
func MakePlan(req Request) (*Plan, error) {
	if len(req.Platforms) == 0 {
		return nil, fmt.Errorf("planning layers: no platform to bake for")
	}
	if req.Buckets < 0 || req.Buckets > MaxBuckets {
		return nil, fmt.Errorf("planning layers: %d buckets per set: want 1 to %d", req.Buckets, MaxBuckets)
	}
	if req.Threshold == 0 {
		req.Threshold = DefaultThreshold
	}
	pure, plat, err := split(req.Entries, req.Platforms)
	if err != nil {
		return nil, err
	}
	prev, reason := previousSets(req)
	plan := &Plan{Reason: reason}
	switch {
	case prev == nil:
	case req.Compact:
		plan.Compacted, plan.Reason = true, "compaction was asked for"
	case req.Buckets != 0 && !prev.counts(req.Buckets):
		plan.Compacted, plan.Reason = true, fmt.Sprintf("the number of buckets changed to %d", req.Buckets)
	default:
		kept := refresh(req, pure, plat, prev)
		worst, which := kept.worst()
		if worst <= req.Threshold {
			return kept, nil
		}
		plan.Compacted = true
		plan.Reason = fmt.Sprintf("the delta of %s would hold %.0f%% of its wheelhouse (threshold %.0f%%)", which, worst*100, req.Threshold*100)
	}
	plan.fresh(req, pure, plat, prev)
	return plan, nil
}

// split sorts the closure into the pure set and each platform's set.
func split(entries []wheelhouse.Entry, platforms []string) (pure []wheelhouse.Entry, plat map[string][]wheelhouse.Entry, err error) {
	plat = map[string][]wheelhouse.Entry{}
	machines := map[string]string{}
	for _, p := range platforms {
		t, err := target.ParsePlatform(p)
		if err != nil {
			return nil, nil, fmt.Errorf("planning layers: %w", err)
		}
		machines[p] = t.Machine()
	}
	for _, e := range entries {
		if !e.IsWheel() {
			pure = append(pure, e)
			continue
		}
		w, err := dist.ParseWheelName(e.Filename)
		if err != nil {
			return nil, nil, fmt.Errorf("planning layers: %w", err)
		}
		if isPure(w) {
			pure = append(pure, e)
			continue
		}
		for _, p := range platforms {
			if needs(e, w, p, machines[p]) {
				plat[p] = append(plat[p], e)
			}
		}
	}
	return pure, plat, nil
}

func isPure(w dist.WheelName) bool {
	for _, t := range w.Tags {
		if t.Platform != "any" {
			return false
		}
	}
	return true
}

// needs reports whether a platform's image holds a platform wheel: one of
// its targets installs it, or (for a lock without targets) its tags name
// the platform's machine.
func needs(e wheelhouse.Entry, w dist.WheelName, platform, machine string) bool {
	if e.Targets != nil {
		for _, s := range e.Targets {
			if t, err := target.Parse(s); err == nil && t.Platform() == platform {
				return true
			}
		}
		return false
	}
	for _, t := range w.Tags {
		if strings.HasSuffix(t.Platform, "_"+machine) {
			return true
		}
	}
	return false
}

// sets are the bucket records of a previous layout, by set name.
type sets map[string][]BucketRecord

// counts reports whether every set has n buckets.
func (s sets) counts(n int) bool {
	for _, bs := range s {
		if len(bs) > 0 && bs[0].Count != n {
			return false
		}
	}
	return true
}

// previousSets gathers the previous layouts: the pure set (which every
// previous image must agree on) and each platform's set. It returns nil
// and why when there is none to keep.
func previousSets(req Request) (sets, string) {
	if len(req.Previous) == 0 {
		return nil, ""
	}
	out := sets{}
	var pureFrom string
	for _, p := range req.Platforms {
		l := req.Previous[p]
		if l == nil {
			continue
		}
		var pure []BucketRecord
		for _, b := range l.Buckets {
			switch b.Set {
			case PureSet:
				pure = append(pure, b)
			case p:
				out[p] = append(out[p], b)
			}
		}
		if pureFrom == "" {
			pureFrom, out[PureSet] = p, pure
		} else if !sameBuckets(out[PureSet], pure) {
			return nil, fmt.Sprintf("the previous images of %s and %s have different pure layers", pureFrom, p)
		}
	}
	if pureFrom == "" {
		return nil, "the previous image has none of these platforms"
	}
	return out, ""
}

func sameBuckets(a, b []BucketRecord) bool {
	return slices.EqualFunc(a, b, func(x, y BucketRecord) bool {
		return x.Set == y.Set && x.Index == y.Index && x.Count == y.Count && x.DiffID == y.DiffID
	})
}

// refresh keeps every previous bucket and puts the rest into the deltas.
// A platform the previous image did not have gets fresh platform buckets.
func refresh(req Request, pure []wheelhouse.Entry, plat map[string][]wheelhouse.Entry, prev sets) *Plan {
	out := &Plan{}
	for _, platform := range req.Platforms {
		s := Stack{Platform: platform}
		kept := map[string]string{} // file name -> sha256 in a kept bucket
		var keptFiles []FileRecord
		for _, b := range prev[PureSet] {
			s.Buckets = append(s.Buckets, Bucket{BucketRecord: b, Reused: true})
		}
		if bs := prev[platform]; len(bs) > 0 {
			for _, b := range bs {
				s.Buckets = append(s.Buckets, Bucket{BucketRecord: b, Reused: true})
			}
		} else {
			s.Buckets = append(s.Buckets, layout(platform, plat[platform], req.Buckets)...)
		}
		for _, b := range s.Buckets {
			for _, f := range b.Files {
				kept[f.Name] = f.SHA256
				if b.Reused {
					keptFiles = append(keptFiles, f)
				}
			}
		}
		if l := req.Previous[platform]; l != nil {
			s.Pages = l.Pages
		}
		s.Entries = imageEntries(pure, plat[platform])
		have := map[string]bool{}
		for _, e := range s.Entries {
			have[e.Filename] = true
			if kept[e.Filename] != e.SHA256 {
				s.Delta = append(s.Delta, e)
			}
		}
		for _, f := range keptFiles {
			if !have[f.Name] {
				s.Removed = append(s.Removed, f)
			}
		}
		out.Stacks = append(out.Stacks, s)
	}
	return out
}

// worst returns the largest delta share of any stack, and its platform:
// the delta's files, plus the kept files the image no longer uses or has
// replaced, over the image's wheelhouse.
func (p *Plan) worst() (float64, string) {
	var worst float64
	var which string
	for _, s := range p.Stacks {
		var total, stale int64
		for _, e := range s.Entries {
			total += e.Size
		}
		for _, e := range s.Delta {
			stale += e.Size
		}
		for _, f := range s.Removed {
			stale += f.Size
		}
		// A replaced file is dead weight in its bucket too.
		inDelta := map[string]bool{}
		for _, e := range s.Delta {
			inDelta[e.Filename] = true
		}
		for _, b := range s.Buckets {
			for _, f := range b.Files {
				if b.Reused && inDelta[f.Name] {
					stale += f.Size
				}
			}
		}
		share := 0.0
		if total > 0 {
			share = float64(stale) / float64(total)
		}
		if share > worst || which == "" {
			worst, which = share, s.Platform
		}
	}
	return worst, which
}

// fresh lays every set out anew. Bucket counts come from the request, or
// the previous layout, or the set's size.
func (p *Plan) fresh(req Request, pure []wheelhouse.Entry, plat map[string][]wheelhouse.Entry, prev sets) {
	count := func(set string) int {
		if req.Buckets > 0 {
			return req.Buckets
		}
		if bs := prev[set]; len(bs) > 0 {
			return bs[0].Count
		}
		return 0
	}
	pureBuckets := layout(PureSet, pure, count(PureSet))
	for _, platform := range req.Platforms {
		s := Stack{Platform: platform, Entries: imageEntries(pure, plat[platform])}
		s.Buckets = append(append(s.Buckets, pureBuckets...), layout(platform, plat[platform], count(platform))...)
		p.Stacks = append(p.Stacks, s)
	}
}

// layout spreads a set over count buckets (chosen from its size when 0);
// empty buckets have no layer.
func layout(set string, entries []wheelhouse.Entry, count int) []Bucket {
	if count == 0 {
		count = ChooseBuckets(total(entries))
	}
	byIndex := make([][]FileRecord, count)
	for _, e := range entries {
		i := BucketOf(e.Project, count)
		byIndex[i] = append(byIndex[i], recordOf(e))
	}
	var out []Bucket
	for i, files := range byIndex {
		if len(files) == 0 {
			continue
		}
		sort.Slice(files, func(a, b int) bool { return files[a].Name < files[b].Name })
		out = append(out, Bucket{BucketRecord: BucketRecord{Set: set, Index: i, Count: count, Files: files}})
	}
	return out
}

// ChooseBuckets is the bucket count for a set of size bytes: one bucket
// per BucketSize, at least 1 and at most MaxBuckets.
func ChooseBuckets(size int64) int {
	n := int((size + BucketSize - 1) / BucketSize)
	return max(1, min(n, MaxBuckets))
}

// BucketOf returns the bucket of a project among count: a hash of its
// normalized name, the same on every machine and in every version of
// larder that writes layout version 1.
func BucketOf(project string, count int) int {
	h := sha256.Sum256([]byte("larder-bucket\x00" + dist.NormalizeName(project)))
	return int(binary.BigEndian.Uint64(h[:8]) % uint64(count))
}

func total(entries []wheelhouse.Entry) int64 {
	var n int64
	for _, e := range entries {
		n += e.Size
	}
	return n
}

// imageEntries are the files of one image's wheelhouse, sorted by name.
func imageEntries(pure, plat []wheelhouse.Entry) []wheelhouse.Entry {
	out := append(append([]wheelhouse.Entry(nil), pure...), plat...)
	sort.Slice(out, func(i, j int) bool { return out[i].Filename < out[j].Filename })
	return slices.CompactFunc(out, func(a, b wheelhouse.Entry) bool { return a.Filename == b.Filename })
}

// recordOf is the record of a wheelhouse file in a bucket.
func recordOf(e wheelhouse.Entry) FileRecord {
	return FileRecord{Name: e.Filename, SHA256: e.SHA256, Size: e.Size, Metadata: hasSidecar(e)}
}

// hasSidecar reports whether a file has a PEP 658 .metadata sidecar.
func hasSidecar(e wheelhouse.Entry) bool { return e.IsWheel() && e.MetadataSHA256 != "" }
