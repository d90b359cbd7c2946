package registrycache_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/larder-build/larder/images/registrycache"
	"github.com/larder-build/larder/internal/ocilayout"
	"github.com/larder-build/larder/internal/pypitest"
	"github.com/larder-build/larder/internal/testenv"
	"github.com/larder-build/larder/internal/wheelhousetest"
	"github.com/larder-build/larder/wheelhouse"
)

// pushHelperEnv makes the test binary a second larder process that
// pushes a wheelhouse into a layout cache (TestHelperProcess), as the JSON
// pushSpec in it says.
const pushHelperEnv = "LARDER_REGISTRYCACHE_PUSH_HELPER"

// pushSpec is what one process pushes: Wheelhouse into Cache, Rounds
// times, under the lock sum Lock and Tags further tags a round, named
// Who-ROUND-N.
type pushSpec struct {
	Cache, Wheelhouse, Lock, Who string
	Rounds, Tags                 int
}

// pushRounds pushes as spec says, reading every wheelhouse of the cache
// after each push, as a server would at once.
func pushRounds(ctx context.Context, spec pushSpec) error {
	st, err := wheelhouse.Open(spec.Wheelhouse)
	if err != nil {
		return err
	}
	for round := range spec.Rounds {
		c, err := registrycache.Open(ctx, spec.Cache)
		if err != nil {
			return fmt.Errorf("%s, round %d: %w", spec.Who, round, err)
		}
		if _, err := registrycache.PushWheelhouse(ctx, c, st, spec.Lock, registrycache.WithTags(roundTags(spec, round)...), registrycache.WithJobs(4)); err != nil {
			return fmt.Errorf("%s, round %d: %w", spec.Who, round, err)
		}
		if _, err := c.Served().Files(ctx); err != nil {
			return fmt.Errorf("%s, round %d, listing: %w", spec.Who, round, err)
		}
	}
	return nil
}

func roundTags(spec pushSpec, round int) []string {
	var tags []string
	for n := range spec.Tags {
		tags = append(tags, fmt.Sprintf("%s-%d-%d", spec.Who, round, n))
	}
	return tags
}

func TestHelperProcess(t *testing.T) {
	spec, ok := testenv.HelperProcessSpec[pushSpec](t, pushHelperEnv)
	if !ok {
		return // only the tests below run it, as a child
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := pushRounds(ctx, spec); err != nil {
		t.Fatal(err)
	}
}

// startPusher starts the test binary pushing as spec says.
func startPusher(t *testing.T, spec pushSpec) *exec.Cmd {
	t.Helper()
	return testenv.StartHelperProcessWith(t, pushHelperEnv, spec)
}

// wheelhouseOf makes a wheelhouse of projects of its own, named after who.
func wheelhouseOf(t *testing.T, who string) *wheelhouse.Store {
	t.Helper()
	var files []*pypitest.File
	for i := range 3 {
		files = append(files, wheelhousetest.Dist(t, fmt.Sprintf("%s-project-%d", who, i), "1.0", 3000, false, "py3-none-any")...)
	}
	return wheelhousetest.Store(t, wheelhousetest.Dir(t), files...)
}

// checkLayoutCacheHolds checks that every tag of want is in the layout
// dir and names a wheelhouse manifest whose blobs are all there, whole
// (their sha256 and size as the manifest says), listing the files of the
// wheelhouse want gives for it; and that skopeo and umoci, where
// installed, read every tag.
func checkLayoutCacheHolds(t *testing.T, dir string, want map[string]*wheelhouse.Store) {
	t.Helper()
	idx, err := ocilayout.ReadIndex(dir)
	if err != nil {
		t.Fatal(err)
	}
	tagged := map[string]v1.Descriptor{}
	for _, d := range idx.Manifests {
		tagged[d.Annotations["org.opencontainers.image.ref.name"]] = d
	}
	whole := func(d v1.Descriptor) []byte {
		b, err := os.ReadFile(filepath.Join(dir, "blobs", d.Digest.Algorithm, d.Digest.Hex))
		sum := sha256.Sum256(b)
		if err != nil || hex.EncodeToString(sum[:]) != d.Digest.Hex || int64(len(b)) != d.Size {
			t.Errorf("blob %s of %s: %d bytes (want %d), %v", d.Digest, dir, len(b), d.Size, err)
			return nil
		}
		return b
	}
	for tag, st := range want {
		d, ok := tagged[tag]
		if !ok {
			t.Errorf("tag %s is not in %s", tag, dir)
			continue
		}
		raw := whole(d)
		if raw == nil {
			continue
		}
		m, err := v1.ParseManifest(strings.NewReader(string(raw)))
		if err != nil {
			t.Fatalf("tag %s: %v", tag, err)
		}
		var files []string
		for _, l := range append([]v1.Descriptor{m.Config}, m.Layers...) {
			whole(l)
			if l.MediaType == registrycache.MediaTypeFile {
				files = append(files, l.Annotations[registrycache.AnnotationFilename])
			}
		}
		var stored []string
		for _, e := range st.Entries() {
			stored = append(stored, e.Filename)
		}
		slices.Sort(files)
		slices.Sort(stored)
		if !slices.Equal(files, stored) {
			t.Errorf("tag %s lists %v, want %v", tag, files, stored)
		}
	}
	if testing.Short() {
		return
	}
	skopeo, umoci := testenv.Tool(t, "skopeo"), testenv.Tool(t, "umoci")
	for tag := range want {
		out, err := exec.Command(skopeo, "inspect", "--raw", "oci:"+dir+":"+tag).Output()
		var raw struct{ SchemaVersion int }
		if err != nil || json.Unmarshal(out, &raw) != nil || raw.SchemaVersion != 2 {
			t.Errorf("skopeo reads oci:%s:%s as %q (%v)", dir, tag, out, err)
		}
	}
	out, err := exec.Command(umoci, "ls", "--layout", dir).Output()
	if err != nil {
		t.Fatalf("umoci ls --layout %s: %v", dir, err)
	}
	ls := strings.Fields(string(out))
	for tag := range want {
		if !slices.Contains(ls, tag) {
			t.Errorf("umoci ls lists %d tags, not %s", len(ls), tag)
		}
	}
}

func TestPushesInTwoProcessesIntoOneLayoutCacheBothSucceed(t *testing.T) {
	const rounds, tags = 4, 8
	stores := map[string]*wheelhouse.Store{"parent": wheelhouseOf(t, "parent"), "child": wheelhouseOf(t, "child")}
	for _, exists := range []bool{false, true} {
		t.Run(fmt.Sprintf("layout existed %v", exists), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "cache")
			if exists {
				if _, err := registrycache.Open(context.Background(), "oci:"+dir); err != nil {
					t.Fatal(err)
				}
			}
			specs := map[string]pushSpec{}
			for i, who := range []string{"parent", "child"} {
				specs[who] = pushSpec{Cache: "oci:" + dir, Wheelhouse: stores[who].Dir(), Lock: strings.Repeat(fmt.Sprint(i+1), 64),
					Who: who, Rounds: rounds, Tags: tags}
			}
			child := startPusher(t, specs["child"])
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			err := pushRounds(ctx, specs["parent"])
			cancel()
			if err != nil {
				t.Fatalf("the pushes in this process: %v", err)
			}
			if err := child.Wait(); err != nil {
				t.Fatalf("the pushes in the other process: %v", err)
			}
			want := map[string]*wheelhouse.Store{}
			for who, spec := range specs {
				want[registrycache.LockTag(spec.Lock)] = stores[who]
				for round := range rounds {
					for _, tag := range roundTags(spec, round) {
						want[tag] = stores[who]
					}
				}
			}
			checkLayoutCacheHolds(t, dir, want)
		})
	}
}
