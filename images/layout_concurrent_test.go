package images

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/larder-build/larder/internal/flock"
	"github.com/larder-build/larder/internal/ocilayout"
	"github.com/larder-build/larder/internal/pypitest"
	"github.com/larder-build/larder/internal/testenv"
	"github.com/larder-build/larder/internal/wheelhousetest"
	"github.com/larder-build/larder/wheelhouse"
)

// smallSample is a small store of real distributions, pure wheels and a
// project's wheels for amd64 and arm64, for tests that bake many times.
func smallSample(t testing.TB) *wheelhouse.Store {
	t.Helper()
	var files []*pypitest.File
	for i := range 4 {
		files = append(files, wheelhousetest.Dist(t, fmt.Sprintf("pure-project-%02d", i), "1.0", 2000, false, "py3-none-any")...)
	}
	files = append(files, wheelhousetest.Dist(t, "numpy", "1.0", 4000, false,
		"cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64", "cp311-cp311-manylinux_2_17_aarch64.manylinux2014_aarch64")...)
	return wheelhousetest.Store(t, wheelhousetest.Dir(t), files...)
}

// layoutBakes is what the bakes of a layout test share: a small
// wheelhouse (smallSample), a base layout and the folder of built layers
// kept, which they share as those of one user do.
type layoutBakes struct {
	s    *wheelhouse.Store
	base Ref
	kept string
}

func newLayoutBakes(t testing.TB) *layoutBakes {
	t.Helper()
	return &layoutBakes{s: smallSample(t), base: baseLayout(t), kept: filepath.Join(t.TempDir(), "layers")}
}

// request is a bake into out for one platform.
func (b *layoutBakes) request(t testing.TB, out Ref, platform string) Request {
	t.Helper()
	req := request(t, b.s, b.base, out, platform)
	req.layerDir = b.kept
	return req
}

// layoutTags reads the tags of a layout's index.json, tag to digest.
func layoutTags(t testing.TB, dir string) map[string]string {
	t.Helper()
	idx, err := ocilayout.ReadIndex(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, d := range idx.Manifests {
		out[d.Annotations[refNameAnnotation]] = d.Digest.String()
	}
	return out
}

// checkLayoutHolds checks that the layout in dir tags every image of
// want (tag to digest) with all its blobs there (go-containerregistry's
// validate reads every one), that no blob no tag uses nor temporary file
// is left, and that skopeo and umoci, when installed, read every tag.
func checkLayoutHolds(t *testing.T, dir string, want map[string]string) {
	t.Helper()
	got := layoutTags(t, dir)
	for tag, d := range want {
		if got[tag] != d {
			t.Errorf("tag %s is %q in %s, want %s (tags: %v)", tag, got[tag], dir, d, got)
		}
	}
	checkReadable(t, mustRef(t, "oci:"+dir))
	idx, err := ocilayout.ReadIndex(dir)
	if err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(filepath.Join(dir, "blobs", "sha256"))
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if err := removeUnreferenced(context.Background(), dir, *idx); err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadDir(filepath.Join(dir, "blobs", "sha256"))
	if len(after) != len(names) {
		t.Errorf("%s held %d blobs, of which only %d are used by a tag or are not leftovers: %v", dir, len(names), len(after), names)
	}
	if testing.Short() {
		return
	}
	skopeo, umoci := testenv.Tool(t, "skopeo"), testenv.Tool(t, "umoci")
	for tag := range want {
		var raw struct{ SchemaVersion int }
		if err := json.Unmarshal([]byte(run(t, skopeo, "inspect", "--raw", "oci:"+dir+":"+tag)), &raw); err != nil || raw.SchemaVersion != 2 {
			t.Errorf("skopeo reads oci:%s:%s as %+v (%v)", dir, tag, raw, err)
		}
	}
	ls := strings.Fields(run(t, umoci, "ls", "--layout", dir))
	for tag := range want {
		if !slices.Contains(ls, tag) {
			t.Errorf("umoci ls lists %v, not %s", ls, tag)
		}
	}
}

func TestTwoBakesIntoOneLayoutBothSucceed(t *testing.T) {
	testenv.Slow(t, "bakes images, runs skopeo and umoci")
	lb := newLayoutBakes(t)
	cases := []struct {
		name string
		// seed is a tag baked into the layout before the two bakes; none
		// for a layout the two bakes both make.
		seed string
	}{
		{name: "into a folder neither finds", seed: ""},
		{name: "into an existing layout", seed: "seed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "out")
			want := map[string]string{}
			if c.seed != "" {
				rep := bake(t, lb.request(t, mustRef(t, "oci:"+dir+":"+c.seed), "linux/amd64"))
				want[c.seed] = rep.Digest
			}
			// Different platforms: the two images share few blobs, so a
			// clean-up by one may remove blobs of the other. A few rounds,
			// new tags each: each is a new chance for the two to meet.
			platforms := []string{"linux/amd64", "linux/arm64"}
			for round := range 3 {
				reqs := make([]Request, 2)
				for i := range reqs {
					reqs[i] = lb.request(t, mustRef(t, fmt.Sprintf("oci:%s:round-%d-%d", dir, round, i)), platforms[i])
				}
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				reps := make([]*Report, 2)
				errs := make([]error, 2)
				var wg sync.WaitGroup
				for i := range reqs {
					wg.Go(func() { reps[i], errs[i] = Bake(ctx, reqs[i]) })
				}
				wg.Wait()
				cancel()
				for i, err := range errs {
					if err != nil {
						t.Fatalf("round %d, bake %d: %v", round, i, err)
					}
					want[fmt.Sprintf("round-%d-%d", round, i)] = reps[i].Digest
				}
			}
			checkLayoutHolds(t, dir, want)
			if leftovers, _ := filepath.Glob(dir + ".tmp-*"); len(leftovers) > 0 {
				t.Errorf("staged copies left beside the layout: %v", leftovers)
			}
		})
	}
}

// TestTwoBakesOfOneTagAtOnceBothSucceedAndOneWins: two bakes of the same
// tag into one layout at once both succeed; the tag names one of the two
// images, whole (every blob there, skopeo and umoci read it), and the
// other's blobs that no tag uses are gone once both are out.
func TestTwoBakesOfOneTagAtOnceBothSucceedAndOneWins(t *testing.T) {
	testenv.Slow(t, "bakes images, runs skopeo and umoci")
	lb := newLayoutBakes(t)
	for _, seeded := range []bool{false, true} {
		t.Run(fmt.Sprintf("seeded %t", seeded), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "out")
			out := mustRef(t, "oci:"+dir+":same")
			if seeded {
				bake(t, lb.request(t, out, "linux/amd64"))
			}
			// Different platforms: different images under one tag.
			platforms := []string{"linux/amd64", "linux/arm64"}
			for round := range 3 {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				reps := make([]*Report, 2)
				errs := make([]error, 2)
				var wg sync.WaitGroup
				for i := range reps {
					req := lb.request(t, out, platforms[i])
					wg.Go(func() { reps[i], errs[i] = Bake(ctx, req) })
				}
				wg.Wait()
				cancel()
				for i, err := range errs {
					if err != nil {
						t.Fatalf("round %d, bake %d: %v", round, i, err)
					}
				}
				got := layoutTags(t, dir)
				if len(got) != 1 || (got["same"] != reps[0].Digest && got["same"] != reps[1].Digest) {
					t.Fatalf("round %d: tags %v, want same naming %s or %s", round, got, reps[0].Digest, reps[1].Digest)
				}
				if idx, err := ocilayout.ReadIndex(dir); err != nil || len(idx.Manifests) != 1 {
					t.Fatalf("round %d: index.json lists %v (%v), want one manifest", round, idx, err)
				}
				checkLayoutHolds(t, dir, got)
			}
			if leftovers, _ := filepath.Glob(dir + ".tmp-*"); len(leftovers) > 0 {
				t.Errorf("staged copies left beside the layout: %v", leftovers)
			}
		})
	}
}

// TestABakeOfALayoutByTwoPathsStillCleansItUp: a bake whose output is a
// symbolic link to the layout it refreshes from, named by its own path,
// holds the layout once and, last out, removes what no tag uses (here a
// blob no tag uses, left by an earlier writer): two holds of one lock
// file in one process refused the process's own clean-up.
func TestABakeOfALayoutByTwoPathsStillCleansItUp(t *testing.T) {
	lb := newLayoutBakes(t)
	real := filepath.Join(t.TempDir(), "real")
	first := bake(t, lb.request(t, mustRef(t, "oci:"+real+":a"), "linux/amd64"))
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	stray := []byte("a blob no tag uses")
	h, _, err := v1.SHA256(strings.NewReader(string(stray)))
	if err != nil {
		t.Fatal(err)
	}
	strayPath := filepath.Join(real, "blobs", h.Algorithm, h.Hex)
	if err := os.WriteFile(strayPath, stray, 0o644); err != nil {
		t.Fatal(err)
	}
	req := lb.request(t, mustRef(t, "oci:"+link+":b"), "linux/amd64")
	req.From = mustRef(t, "oci:"+real+":a")
	second := bake(t, req)
	if _, err := os.Stat(strayPath); err == nil {
		t.Error("the blob no tag uses is still there: the bake did not clean up the layout it held by two paths")
	}
	checkLayoutHolds(t, real, map[string]string{"a": first.Digest, "b": second.Digest})
}

// helperEnv runs the test binary as a second larder process, doing what
// the JSON helperSpec in it says (TestHelperProcess).
const helperEnv = "LARDER_IMAGES_HELPER"

type helperSpec struct {
	// Mode is "bake" (a bake of Wheelhouse onto Base into Output for
	// Platform, its digest written to Result) or "hold" (a hold on the
	// layout Output, with a blob written into it and not tagged, and a
	// temporary file half-written; then Ready is made and the process
	// waits to be killed).
	Mode                 string
	Wheelhouse, Base     string
	Output, Platform     string
	IndexBinaries        map[string]string
	LayerDir             string
	Result, Ready, Blob  string
	LeftoverBlobTempName string
}

// startHelper starts the test binary as a helper process.
func startHelper(t *testing.T, spec helperSpec) *exec.Cmd {
	t.Helper()
	return testenv.StartHelperProcessWith(t, helperEnv, spec)
}

// TestHelperProcess is the second larder process of the tests below.
func TestHelperProcess(t *testing.T) {
	spec, ok := testenv.HelperProcessSpec[helperSpec](t, helperEnv)
	if !ok {
		return // only the tests below run it, as a child
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	switch spec.Mode {
	case "bake":
		st, err := wheelhouse.Open(spec.Wheelhouse)
		if err != nil {
			t.Fatal(err)
		}
		req := Request{
			Store: st, Entries: st.Entries(), Platforms: []string{spec.Platform},
			Base: mustRef(t, spec.Base), Output: mustRef(t, spec.Output),
			IndexBinaries: spec.IndexBinaries, IndexConfig: []byte(`{"wheelhouse":"/wheelhouse"}`),
			IndexURL: "http://127.0.0.1:3141/simple/", layerDir: spec.LayerDir,
			Created: time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC), Version: "test", LockSHA256: strings.Repeat("a", 64),
		}
		rep, err := Bake(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(spec.Result, []byte(rep.Digest), 0o644); err != nil {
			t.Fatal(err)
		}
	case "hold":
		u, err := ocilayout.Take(ctx, spec.Output, true, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer u.Close()
		blobs := filepath.Join(spec.Output, "blobs", "sha256")
		if err := os.WriteFile(filepath.Join(blobs, spec.Blob), []byte("in flight"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(blobs, spec.LeftoverBlobTempName), []byte("half"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(spec.Ready, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Minute) // killed long before
	default:
		t.Fatalf("helper mode %q", spec.Mode)
	}
}

func TestBakesInTwoProcessesIntoOneLayoutBothSucceed(t *testing.T) {
	testenv.Slow(t, "bakes images in two processes, runs skopeo and umoci")
	lb := newLayoutBakes(t)
	bins := indexBinaries(t)
	for round := range 2 {
		dir := filepath.Join(t.TempDir(), "out")
		if round == 1 {
			bake(t, lb.request(t, mustRef(t, "oci:"+dir+":seed"), "linux/amd64"))
		}
		result := filepath.Join(t.TempDir(), "digest")
		child := startHelper(t, helperSpec{Mode: "bake", Wheelhouse: lb.s.Dir(), Base: lb.base.String(),
			Output: "oci:" + dir + ":child", Platform: "linux/arm64", IndexBinaries: bins,
			LayerDir: lb.kept, Result: result})
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		rep, err := Bake(ctx, lb.request(t, mustRef(t, "oci:"+dir+":parent"), "linux/amd64"))
		cancel()
		if err != nil {
			t.Fatalf("round %d: the bake in this process: %v", round, err)
		}
		if err := child.Wait(); err != nil {
			t.Fatalf("round %d: the bake in the other process: %v", round, err)
		}
		d, err := os.ReadFile(result)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"parent": rep.Digest, "child": string(d)}
		if round == 1 {
			want["seed"] = layoutTags(t, dir)["seed"]
		}
		checkLayoutHolds(t, dir, want)
	}
}

func TestCleanUpKeepsALiveLarderBlobsAndAKilledOneBlocksNothing(t *testing.T) {
	testenv.Slow(t, "bakes images")
	lb := newLayoutBakes(t)
	dir := filepath.Join(t.TempDir(), "out")
	first := bake(t, lb.request(t, mustRef(t, "oci:"+dir+":first"), "linux/amd64"))

	// Another larder process uses the layout: it has written a blob it
	// has not yet tagged, and is writing another.
	h, _, _ := v1.SHA256(strings.NewReader("in flight"))
	temp := "." + strings.Repeat("b", 64) + ".0123456789ab.tmp"
	ready := filepath.Join(t.TempDir(), "ready")
	child := startHelper(t, helperSpec{Mode: "hold", Output: dir, Ready: ready, Blob: h.Hex, LeftoverBlobTempName: temp})
	deadline := time.Now().Add(time.Minute)
	for {
		if _, err := os.Stat(ready); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the helper never took the layout")
		}
		time.Sleep(10 * time.Millisecond)
	}
	second := bake(t, lb.request(t, mustRef(t, "oci:"+dir+":second"), "linux/arm64"))
	blobs := filepath.Join(dir, "blobs", "sha256")
	for _, name := range []string{h.Hex, temp} {
		if _, err := os.Stat(filepath.Join(blobs, name)); err != nil {
			t.Errorf("a bake's clean-up removed %s, which a live larder process wrote: %v", name, err)
		}
	}

	// Killed midway (SIGKILL: nothing of its own runs), it holds the
	// layout no more: the next bake neither waits nor keeps its files.
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	child.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var waited []string
	var mu sync.Mutex
	third, err := Bake(ctx, lb.request(t, mustRef(t, "oci:"+dir+":second"), "linux/arm64"), WithProgress(func(e Event) {
		if e.Phase == PhaseWait {
			mu.Lock()
			waited = append(waited, e.Wait)
			mu.Unlock()
		}
	}))
	if err != nil {
		t.Fatal(err)
	}
	if len(waited) > 0 {
		t.Errorf("the bake after a killed one waited for %v", waited)
	}
	for _, name := range []string{h.Hex, temp} {
		if _, err := os.Stat(filepath.Join(blobs, name)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s, left by a killed larder process, is still in the layout (%v)", name, err)
		}
	}
	if third.Digest != second.Digest {
		t.Errorf("the same bake again gave %s, then %s", second.Digest, third.Digest)
	}
	checkLayoutHolds(t, dir, map[string]string{"first": first.Digest, "second": second.Digest})
}

func TestBakeWaitsForAnotherLarderCleaningTheLayoutAndSaysSo(t *testing.T) {
	testenv.Slow(t, "bakes images")
	lb := newLayoutBakes(t)
	dir := filepath.Join(t.TempDir(), "out")
	bake(t, lb.request(t, mustRef(t, "oci:"+dir+":first"), "linux/amd64"))

	// Another larder removing the blobs no tag uses holds the layout
	// alone (flock: another open file is another holder, in this process
	// or any other).
	hold := func() *os.File {
		f, err := os.OpenFile(filepath.Join(dir, ocilayout.UseLock), os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		if ok, err := flock.TryLock(f, true); err != nil || !ok {
			t.Fatalf("locking %s: %v %v", f.Name(), ok, err)
		}
		return f
	}
	var mu sync.Mutex
	var waited []string
	progress := WithProgress(func(e Event) {
		if e.Phase == PhaseWait {
			mu.Lock()
			waited = append(waited, e.Wait)
			mu.Unlock()
		}
	})
	f := hold()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	_, err := Bake(ctx, lb.request(t, mustRef(t, "oci:"+dir+":second"), "linux/arm64"), progress)
	cancel()
	f.Close()
	if err == nil || !strings.Contains(err.Error(), dir) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a bake that gave up waiting says %v, want the layout named and the deadline", err)
	}
	if _, ok := layoutTags(t, dir)["second"]; ok {
		t.Error("a bake that gave up waiting tagged its image")
	}

	// Released while the bake waits: it goes on and succeeds.
	mu.Lock()
	waited = nil
	mu.Unlock()
	f = hold()
	// The holder lets go once the bake says it waits, not after a time
	// the bake may not have reached its wait by.
	var release sync.Once
	releasing := WithProgress(func(e Event) {
		if e.Phase == PhaseWait {
			mu.Lock()
			waited = append(waited, e.Wait)
			mu.Unlock()
			if e.Wait != "" {
				release.Do(func() { f.Close() })
			}
		}
	})
	rep, err := Bake(context.Background(), lb.request(t, mustRef(t, "oci:"+dir+":second"), "linux/arm64"), releasing)
	release.Do(func() { f.Close() })
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(waited, []string{dir, ""}) {
		t.Errorf("the bake told of its waits as %q, want %q", waited, []string{dir, ""})
	}
	if got := layoutTags(t, dir)["second"]; got != rep.Digest {
		t.Errorf("tag second is %q, want %s", got, rep.Digest)
	}
}

func TestABakeRemovesTheStagingFolderABakeKilledMakingTheLayoutLeft(t *testing.T) {
	testenv.Slow(t, "bakes images")
	lb := newLayoutBakes(t)
	for _, exists := range []bool{false, true} {
		parent := t.TempDir()
		dir := filepath.Join(parent, "out")
		if exists {
			bake(t, lb.request(t, mustRef(t, "oci:"+dir+":first"), "linux/amd64"))
		}
		// A killed bake's staging folder: its lock file is there and no
		// process holds it. Another layout's is not this bake's to remove.
		dead := filepath.Join(parent, "out.tmp-0123456789ab")
		other := filepath.Join(parent, "other.tmp-0123456789ab")
		for _, p := range []string{dead, other} {
			if err := os.MkdirAll(filepath.Join(p, "blobs", "sha256"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(p, ocilayout.UseLock), nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		bake(t, lb.request(t, mustRef(t, "oci:"+dir+":second"), "linux/arm64"))
		if _, err := os.Stat(dead); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("layout existed %v: the staging folder of a killed bake is still beside it (%v)", exists, err)
		}
		if _, err := os.Stat(other); err != nil {
			t.Errorf("layout existed %v: another layout's staging folder was removed: %v", exists, err)
		}
	}
}
