package images

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/larder-build/larder/internal/testenv"
	"github.com/larder-build/larder/internal/wheelhousetest"
	"github.com/larder-build/larder/layers"
	"github.com/larder-build/larder/wheelhouse"
)

// openIndex reads the index a bake wrote to an OCI layout.
func openOutput(t *testing.T, ref Ref) *Source {
	t.Helper()
	s, err := Open(context.Background(), ref, Remote{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestBakeWritesValidImagesOnEveryTransport(t *testing.T) {
	testenv.Slow(t, "bakes four outputs and validates every blob of each")
	s := sample(t)
	base := baseLayout(t)
	reg := newRegistry(t)
	dir := t.TempDir()
	for _, c := range []struct {
		out       string
		platforms []string
	}{
		{"oci:" + filepath.Join(dir, "layout") + ":dev", nil},
		{"oci:" + filepath.Join(dir, "single") + ":dev", []string{"linux/amd64"}},
		{"docker-archive:" + filepath.Join(dir, "app.tar") + ":app:dev", []string{"linux/arm64"}},
		{"docker://" + reg.host() + "/edx/app:dev", nil},
	} {
		t.Run(c.out, func(t *testing.T) {
			out := mustRef(t, c.out)
			rep := bake(t, request(t, s, base, out, c.platforms...))
			src := openOutput(t, out)
			// A docker-archive keeps configs and layers, not manifests:
			// docker load makes its own.
			archive := out.Transport == DockerArchive
			if src.Digest.String() != rep.Digest && !archive {
				t.Errorf("report says %s, output holds %s", rep.Digest, src.Digest)
			}
			if src.Index != nil {
				if err := validate.Index(src.Index); err != nil {
					t.Fatalf("validate.Index: %v", err)
				}
			} else if err := validate.Image(src.Image); err != nil {
				t.Fatalf("validate.Image: %v", err)
			}
			for _, p := range rep.Images {
				img, err := src.ForPlatform(p.Platform)
				if err != nil {
					t.Fatal(err)
				}
				checkBakedConfig(t, img, p.Platform, !archive)
			}
		})
	}
}

// checkBakedConfig checks what bake promises of an image's config.
func checkBakedConfig(t *testing.T, img v1.Image, platform string, oci bool) {
	t.Helper()
	mt, _ := img.MediaType()
	if oci && mt != "application/vnd.oci.image.manifest.v1+json" {
		t.Errorf("%s: manifest media type %s, want OCI", platform, mt)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cf.Config
	if want := []string{layers.IndexBinaryPath, "exec", "--", "/usr/bin/tini", "--"}; !slices.Equal(c.Entrypoint, want) {
		t.Errorf("%s: entrypoint %v, want %v", platform, c.Entrypoint, want)
	}
	if !slices.Equal(c.Cmd, []string{"bash"}) {
		t.Errorf("%s: cmd %v, want the base's", platform, c.Cmd)
	}
	for _, want := range []string{"PATH=/usr/bin", "PIP_INDEX_URL=http://127.0.0.1:3141/simple/", "UV_DEFAULT_INDEX=http://127.0.0.1:3141/simple/",
		"UV_INDEX_URL=http://127.0.0.1:3141/simple/", "PIP_DISABLE_PIP_VERSION_CHECK=1"} {
		if !slices.Contains(c.Env, want) {
			t.Errorf("%s: env %v lacks %s", platform, c.Env, want)
		}
	}
	if slices.Contains(c.Env, "PIP_INDEX_URL=https://pypi.org/simple/") {
		t.Errorf("%s: the base's PIP_INDEX_URL survived", platform)
	}
	for _, l := range []string{"maintainer", LabelVersion, LabelLock, LabelWheelhouse, LabelCreated, LabelBaseDigest, layers.LayoutLabel} {
		if c.Labels[l] == "" {
			t.Errorf("%s: no label %s", platform, l)
		}
	}
	ls, _ := img.Layers()
	if len(cf.History) != len(ls) {
		t.Errorf("%s: %d history entries for %d layers", platform, len(cf.History), len(ls))
	}
	last := cf.History[len(cf.History)-1]
	if !strings.Contains(last.Comment, "delta") || last.Created.Time.IsZero() {
		t.Errorf("%s: last history entry %+v", platform, last)
	}
	if cf.Architecture+"" == "" || "linux/"+cf.Architecture != platform {
		t.Errorf("%s: config says %s/%s", platform, cf.OS, cf.Architecture)
	}
}

func TestTwoBakesInDifferentFoldersGiveTheSameDigest(t *testing.T) {
	testenv.Slow(t, "two full bakes a second apart")
	// Each bake has its own wheelhouse copy, layer folder and output, so
	// that nothing but the content is shared.
	var digests []string
	for i := range 2 {
		s := sample(t)
		if i == 1 {
			// Other file times and modes on disk must not matter, nor
			// the clock: the second bake runs a second later.
			old := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
			for _, e := range s.Entries() {
				os.Chmod(s.Path(e.Filename), 0o600)
				os.Chtimes(s.Path(e.Filename), old, old)
			}
			time.Sleep(time.Second)
		}
		out := mustRef(t, "oci:"+filepath.Join(t.TempDir(), "out"))
		rep := bake(t, request(t, s, baseLayout(t), out))
		digests = append(digests, rep.Digest)
	}
	if digests[0] != digests[1] {
		t.Errorf("two bakes of the same content: %s and %s", digests[0], digests[1])
	}
}

func TestPureBucketsAreTheSameBlobsInEveryPlatformImage(t *testing.T) {
	s := sample(t)
	rep := bake(t, request(t, s, baseLayout(t), mustRef(t, "oci:"+filepath.Join(t.TempDir(), "out"))))
	pure := func(p PlatformReport) []string {
		var out []string
		for _, l := range p.Layers {
			if strings.HasPrefix(l.What, "bucket pure") {
				out = append(out, l.Digest)
			}
		}
		return out
	}
	amd, arm := pure(rep.Images[0]), pure(rep.Images[1])
	if len(amd) == 0 || !slices.Equal(amd, arm) {
		t.Errorf("pure layers: amd64 %v, arm64 %v", amd, arm)
	}
	// The platform buckets differ.
	if rep.Images[0].Layers[len(rep.Images[0].Layers)-3].Digest == rep.Images[1].Layers[len(rep.Images[1].Layers)-3].Digest {
		t.Error("platform buckets are the same blob")
	}
}

// bump adds six 1.18.0 to the store and returns the closure without the
// old pure-project-07.
func bump(t *testing.T, s *wheelhouse.Store) []wheelhouse.Entry {
	t.Helper()
	wheelhousetest.Add(t, s, wheelhousetest.Dist(t, "six", "1.18.0", 5000, false, "py2.py3-none-any")...)
	var out []wheelhouse.Entry
	for _, e := range s.Entries() {
		if !strings.HasPrefix(e.Filename, "pure_project_07") {
			out = append(out, e)
		}
	}
	return out
}

func TestRefreshReplacesOnlyTheTopLayerAndUploadsOnlyIt(t *testing.T) {
	reg := newRegistry(t)
	s, out, req := sampleRequest(t, "docker://"+reg.host()+"/edx/lms:dev")
	first := bake(t, req)

	reg.reset()
	req.Entries = bump(t, s)
	second := bake(t, req) // --from defaults to the output
	if !second.Refreshed || second.From != out.String() {
		t.Fatalf("second bake did not refresh: refreshed %v from %q (%s)", second.Refreshed, second.From, second.Reason)
	}
	var newLayers []string
	for i, img := range second.Images {
		old := first.Images[i].Layers
		if len(img.Layers) != len(old) {
			t.Fatalf("%s: %d layers, then %d", img.Platform, len(old), len(img.Layers))
		}
		for j := range old {
			top := j == len(old)-1
			same := old[j].Digest == img.Layers[j].Digest
			if top == same {
				t.Errorf("%s: layer %d (%s) changed %v, want only the top one changed", img.Platform, j, img.Layers[j].What, !same)
			}
		}
		delta := img.Layers[len(img.Layers)-1]
		if delta.Files != 1 || !slices.Contains(delta.Names, "six-1.18.0-py2.py3-none-any.whl") {
			t.Errorf("%s: delta holds %v", img.Platform, delta.Names)
		}
		newLayers = append(newLayers, delta.Digest)
	}
	// The refresh read no layer of the previous image: the diff IDs come
	// from its config.
	for _, l := range reg.requests() {
		if strings.HasPrefix(l, "GET ") && strings.Contains(l, "/blobs/") {
			for _, img := range first.Images {
				for _, lr := range img.Layers[:len(img.Layers)-1] {
					if strings.Contains(l, lr.Digest) && lr.State != StateBase {
						t.Errorf("the refresh downloaded a kept layer: %s", l)
					}
				}
			}
		}
	}
	// The registry got the two deltas, two configs and nothing else
	// (manifests are not blobs).
	got := reg.uploads()
	if len(got) != 4 {
		t.Errorf("uploaded %d blobs, want 2 deltas and 2 configs: %v", len(got), got)
	}
	for _, d := range newLayers {
		if !slices.Contains(got, d) {
			t.Errorf("delta %s was not uploaded: %v", d, got)
		}
	}
	if second.Write.Blobs != len(got) {
		t.Errorf("report says %d blobs uploaded, the registry saw %d", second.Write.Blobs, len(got))
	}
	// In the image, the removed file is whited out and the manifest
	// matches what is there.
	src := openOutput(t, out)
	img, _ := src.ForPlatform("linux/amd64")
	if err := validate.Image(img); err != nil {
		t.Fatal(err)
	}
	fs := flatten(t, img)
	if _, ok := fs["wheelhouse/files/six-1.18.0-py2.py3-none-any.whl"]; !ok {
		t.Error("the bumped file is not in the image")
	}
	for name := range fs {
		if strings.Contains(name, "pure_project_07") {
			t.Errorf("%s is still visible", name)
		}
	}
	m, err := wheelhouse.Open(extract(t, fs))
	if err != nil {
		t.Fatalf("the image's wheelhouse does not open: %v", err)
	}
	if len(m.Entries()) != len(second.Images[0].Layers[0].Names)+0 && len(m.Entries()) != second.Images[0].Files {
		t.Errorf("the image's manifest lists %d files, the report %d", len(m.Entries()), second.Images[0].Files)
	}
	// The kept pages layer and the new delta's pages over it are the
	// image's static index, the dropped project's folder gone with it.
	checkServedPages(t, out, "linux/amd64", req.Entries)
}

func TestARefreshWithAnotherWheelhousePathBakesAfresh(t *testing.T) {
	_, out, req := sampleRequest(t, "oci:"+filepath.Join(t.TempDir(), "out")+":dev", "linux/amd64")
	bake(t, req)
	req.Path = "/srv/wheelhouse"
	second := bake(t, req)
	if second.Refreshed || !strings.Contains(second.Reason, "holds its wheelhouse at /wheelhouse, not /srv/wheelhouse") {
		t.Errorf("refreshed %v (%s), want a fresh layout saying the path changed", second.Refreshed, second.Reason)
	}
	img, err := openOutput(t, out).ForPlatform("linux/amd64")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for name := range flatten(t, img) {
		if strings.HasPrefix(name, "wheelhouse/") {
			t.Errorf("%s is left at the old path", name)
		}
		if strings.HasPrefix(name, "srv/wheelhouse/files/") && !strings.HasSuffix(name, ".metadata") {
			n++
		}
	}
	if n == 0 || n != second.Images[0].Files {
		t.Errorf("%d files at the new path, want the image's %d", n, second.Images[0].Files)
	}
}

func TestRefreshFromAnOCILayoutKeepsBucketsAndCompactsPastTheThreshold(t *testing.T) {
	s, out, req := sampleRequest(t, "oci:"+filepath.Join(t.TempDir(), "out")+":dev", "linux/amd64")
	first := bake(t, req)
	req.Entries = bump(t, s)
	second := bake(t, req)
	if !second.Refreshed || second.Write.Blobs != 3 {
		t.Errorf("refresh: refreshed %v, wrote %d blobs (want delta, config, manifest)", second.Refreshed, second.Write.Blobs)
	}
	// The old delta is gone from the layout: only referenced blobs stay.
	oldDelta := first.Images[0].Layers[len(first.Images[0].Layers)-1].Digest
	h, _ := v1.NewHash(oldDelta)
	if _, err := os.Stat(filepath.Join(out.Path, "blobs", "sha256", h.Hex)); err == nil {
		t.Error("the replaced delta is still in the layout")
	}
	// --compact lays out afresh: what a first bake of the new closure makes.
	req.Compact = true
	compacted := bake(t, req)
	req.Compact, req.NoFrom = false, true
	req.Output = mustRef(t, "oci:"+filepath.Join(t.TempDir(), "fresh"))
	fresh := bake(t, req)
	if !compacted.Compacted || compacted.Digest != fresh.Digest {
		t.Errorf("compaction %v gave %s, a first bake %s", compacted.Compacted, compacted.Digest, fresh.Digest)
	}
}

func TestPlanWritesNothingAndSaysWhatWouldBeWritten(t *testing.T) {
	s := sample(t)
	dir := filepath.Join(t.TempDir(), "out")
	out := mustRef(t, "oci:"+dir)
	req := request(t, s, baseLayout(t), out, "linux/amd64")
	req.DryRun = true
	plan := bake(t, req)
	if _, err := os.Stat(dir); err == nil {
		t.Fatal("--plan wrote the output")
	}
	if ents, _ := os.ReadDir(req.layerDir); len(ents) != 0 {
		t.Fatalf("--plan kept %d layer files", len(ents))
	}
	if plan.Upload == nil || plan.Upload.Blobs == 0 {
		t.Fatalf("plan says it would write %+v", plan.Upload)
	}
	req.DryRun = false
	real := bake(t, req)
	if real.Digest != plan.Digest {
		t.Errorf("plan digest %s, bake digest %s", plan.Digest, real.Digest)
	}
	if real.Write.Blobs != plan.Upload.Blobs || real.Write.Bytes != plan.Upload.Bytes {
		t.Errorf("plan said %d blobs, %d bytes; the bake wrote %d, %d", plan.Upload.Blobs, plan.Upload.Bytes, real.Write.Blobs, real.Write.Bytes)
	}
	req.DryRun = true
	again := bake(t, req)
	if again.Upload.Blobs != 0 {
		t.Errorf("after the bake, a plan would still write %d blobs", again.Upload.Blobs)
	}
}

func TestWheelhouseOnlyImageHoldsTheWheelhouseAlone(t *testing.T) {
	s := sample(t)
	out := mustRef(t, "oci:"+filepath.Join(t.TempDir(), "wh"))
	req := request(t, s, Ref{}, out, "linux/amd64")
	req.WheelhouseOnly = true
	req.IndexBinaries = nil
	bake(t, req)
	img, _ := openOutput(t, out).ForPlatform("linux/amd64")
	if err := validate.Image(img); err != nil {
		t.Fatal(err)
	}
	for name := range flatten(t, img) {
		if !strings.HasPrefix(name, "wheelhouse/") && name != "wheelhouse" {
			t.Errorf("%s in a wheelhouse-only image", name)
		}
	}
	cf, _ := img.ConfigFile()
	if len(cf.Config.Entrypoint) != 0 || len(cf.Config.Env) != 0 {
		t.Errorf("wheelhouse-only image has entrypoint %v env %v", cf.Config.Entrypoint, cf.Config.Env)
	}
}

func TestBadInputsFailClearlyAndLeaveNoOutput(t *testing.T) {
	s := sample(t)
	base := baseLayout(t)
	dir := t.TempDir()
	out := mustRef(t, "oci:"+filepath.Join(dir, "out"))
	amd64Only := mustRef(t, "docker-archive:"+filepath.Join(dir, "amd64.tar"))
	bake(t, request(t, s, base, amd64Only, "linux/amd64"))
	os.RemoveAll(filepath.Join(dir, "out"))

	corrupt := sample(t)
	victim := corrupt.Entries()[3]
	os.WriteFile(corrupt.Path(victim.Filename), []byte(strings.Repeat("x", int(victim.Size))), 0o644)

	for _, c := range []struct {
		name string
		req  Request
		want []string
	}{
		{"missing base", request(t, s, mustRef(t, "oci:"+filepath.Join(dir, "nope")+":x"), out), []string{"base image", "does not exist"}},
		{"base without the platform", request(t, s, amd64Only, out, "linux/arm64"), []string{"linux/amd64, not linux/arm64"}},
		{"unreachable registry", request(t, s, mustRef(t, "docker://127.0.0.1:1/base:1"), out), []string{"127.0.0.1:1", "connection refused"}},
		{"wheelhouse that fails verify", request(t, corrupt, base, out), []string{victim.Filename, victim.SHA256}},
		{"missing index binary", func() Request {
			r := request(t, s, base, out)
			r.IndexBinaries = map[string]string{"linux/amd64": r.IndexBinaries["linux/amd64"]}
			return r
		}(), []string{"no larder-index binary for linux/arm64"}},
		{"index binary of another machine", func() Request {
			r := request(t, s, base, out, "linux/amd64")
			r.IndexBinaries = map[string]string{"linux/amd64": indexBinaries(t)["linux/arm64"]}
			return r
		}(), []string{"built for EM_AARCH64, not amd64"}},
		{"multi-platform docker-archive", request(t, s, base, mustRef(t, "docker-archive:"+filepath.Join(dir, "out.tar"))), []string{"one platform"}},
		{"too many layers", func() Request {
			r := request(t, s, base, out, "linux/amd64")
			r.Buckets = 16
			r.Entries = manyProjects(t, s)
			return r
		}(), nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Bake(context.Background(), c.req)
			if c.want == nil {
				// 16+16 buckets fit: the check is reached only past 100.
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				os.RemoveAll(filepath.Join(dir, "out"))
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			// The CLI hints at --index-binary from the typed error.
			var ib *IndexBinaryError
			if strings.Contains(c.name, "index binary") && (!errors.As(err, &ib) || ib.Platform == "") {
				t.Errorf("error %v is not an *IndexBinaryError naming the platform", err)
			}
			if _, serr := os.Stat(filepath.Join(dir, "out")); serr == nil {
				t.Error("a failed bake left an output")
			}
			if _, serr := os.Stat(filepath.Join(dir, "out.tar")); serr == nil {
				t.Error("a failed bake left a tarball")
			}
			if left, _ := filepath.Glob(filepath.Join(dir, ".*tmp*")); len(left) > 0 {
				t.Errorf("temporary files left: %v", left)
			}
			if left, _ := filepath.Glob(filepath.Join(dir, "*.tmp-*")); len(left) > 0 {
				t.Errorf("temporary folders left: %v", left)
			}
		})
	}
}

// manyProjects adds enough projects for every bucket to be used.
func manyProjects(t *testing.T, s *wheelhouse.Store) []wheelhouse.Entry {
	t.Helper()
	for i := range 80 {
		wheelhousetest.Add(t, s, wheelhousetest.Dist(t, "extra-"+string(rune('a'+i%26))+strings.Repeat("z", i/26), "1.0", 0, false, "py3-none-any")...)
	}
	return s.Entries()
}

func TestTooManyLayersIsRefused(t *testing.T) {
	parts := make([]layers.Part, MaxLayers)
	_, err := Assemble(baseImage(t, "amd64"), parts, nil, Changes{})
	// What to do about it (fewer --buckets) is the CLI's hint, from the type.
	var tm *TooManyLayersError
	if err == nil || !strings.Contains(err.Error(), "102 layers") || !errors.As(err, &tm) || tm.Larder != MaxLayers {
		t.Errorf("got %v", err)
	}
}

func TestBakingOntoABakedImageDoesNotWrapTheEntrypointTwice(t *testing.T) {
	s := sample(t)
	dir := t.TempDir()
	first := mustRef(t, "docker-archive:"+filepath.Join(dir, "first.tar"))
	bake(t, request(t, s, baseLayout(t), first, "linux/amd64"))
	out := mustRef(t, "oci:"+filepath.Join(dir, "second"))
	bake(t, request(t, s, first, out, "linux/amd64"))
	img, _ := openOutput(t, out).ForPlatform("linux/amd64")
	cf, _ := img.ConfigFile()
	if n := strings.Count(strings.Join(cf.Config.Entrypoint, " "), "larder-index"); n != 1 {
		t.Errorf("entrypoint %v wraps larder-index %d times", cf.Config.Entrypoint, n)
	}
}

func TestOutputsAreReadableByGoContainerregistryReaders(t *testing.T) {
	s := sample(t)
	dir := t.TempDir()
	lay := mustRef(t, "oci:"+filepath.Join(dir, "l")+":v1")
	bake(t, request(t, s, baseLayout(t), lay))
	checkReadable(t, lay)
	arc := mustRef(t, "docker-archive:"+filepath.Join(dir, "a.tar")+":edx/app:1")
	bake(t, request(t, s, baseLayout(t), arc, "linux/amd64"))
	checkReadable(t, arc)
}

func TestBakeRefusesAWheelhousePathAnImageCannotHold(t *testing.T) {
	for _, tc := range []struct {
		path string
		ok   bool
	}{
		{"/wheelhouse", true},
		{"/opt/larder/wheelhouse", true},
		{"/wheelhouse ü", true},
		{"wheelhouse", false},
		{"/", false},
		{"/wheelhouse/", false},
		{"/a/../wheelhouse", false},
		{"/wheel\xffhouse", false},
		{"/wheel\nhouse", false},
		{"/wheel\x00house", false},
	} {
		err := CheckPath(tc.path)
		if (err == nil) != tc.ok {
			t.Errorf("CheckPath(%q): %v, want ok %v", tc.path, err, tc.ok)
		}
		if tc.ok {
			continue
		}
		// A library caller gets the same refusal, before any work.
		_, err = Bake(context.Background(), Request{Platforms: []string{"linux/amd64"}, Path: tc.path})
		if err == nil || !strings.Contains(err.Error(), "want an absolute folder inside the image") {
			t.Errorf("Bake with path %q: %v, want the path refused", tc.path, err)
		}
	}
}
