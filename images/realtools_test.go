package images

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/larder-build/larder/internal/dockerregistry"
	"github.com/larder-build/larder/internal/testenv"
)

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestRealClientsAcceptTheOutputs(t *testing.T) {
	testenv.Slow(t, "runs skopeo and umoci")
	skopeo := testenv.Tool(t, "skopeo")
	umoci := testenv.Tool(t, "umoci")
	s := sample(t)
	dir := t.TempDir()

	// A two-platform index in an OCI layout: skopeo reads it.
	multi := mustRef(t, "oci:"+filepath.Join(dir, "multi")+":dev")
	rep := bake(t, request(t, s, baseLayout(t), multi))
	var raw struct {
		Manifests []struct{ Platform struct{ Architecture string } }
	}
	if err := json.Unmarshal([]byte(run(t, skopeo, "inspect", "--raw", multi.String())), &raw); err != nil || len(raw.Manifests) != 2 {
		t.Fatalf("skopeo reads the index as %+v (%v)", raw, err)
	}
	var insp struct {
		Digest string
		Labels map[string]string
	}
	json.Unmarshal([]byte(run(t, skopeo, "inspect", "--override-arch", "arm64", multi.String())), &insp)
	if insp.Labels[LabelWheelhouse] != "/wheelhouse" {
		t.Errorf("skopeo sees labels %v", insp.Labels)
	}

	// One platform: umoci unpacks it into a runnable bundle.
	single := mustRef(t, "oci:"+filepath.Join(dir, "single")+":dev")
	bake(t, request(t, s, baseLayout(t), single, "linux/amd64"))
	bundle := filepath.Join(dir, "bundle")
	run(t, umoci, "unpack", "--rootless", "--image", single.Path+":dev", bundle)
	rootfs := filepath.Join(bundle, "rootfs")
	for _, p := range []string{"wheelhouse/manifest.json", "wheelhouse/simple/index.html", "usr/local/bin/larder-index", "etc/larder/index.json", "etc/os-release"} {
		if _, err := os.Stat(filepath.Join(rootfs, p)); err != nil {
			t.Errorf("umoci's rootfs lacks %s", p)
		}
	}
	if st, err := os.Stat(filepath.Join(rootfs, "usr/local/bin/larder-index")); err == nil && st.Mode().Perm() != 0o755 {
		t.Errorf("larder-index has mode %v", st.Mode())
	}
	var spec struct{ Process struct{ Args []string } }
	b, _ := os.ReadFile(filepath.Join(bundle, "config.json"))
	json.Unmarshal(b, &spec)
	if strings.Join(spec.Process.Args, " ") != "/usr/local/bin/larder-index exec -- /usr/bin/tini -- bash" {
		t.Errorf("umoci's runtime spec runs %v", spec.Process.Args)
	}
	for _, e := range s.Entries() {
		_, err := os.Stat(filepath.Join(rootfs, "wheelhouse/files", e.Filename))
		if aarch64 := strings.Contains(e.Filename, "aarch64"); aarch64 == (err == nil) {
			t.Errorf("%s in the amd64 image: %v, want %v", e.Filename, err == nil, !aarch64)
		}
	}
	if len(rep.Images) != 2 {
		t.Errorf("the index holds %d images", len(rep.Images))
	}

	// A docker load tarball: skopeo reads it, and copies it into an OCI
	// layout that umoci unpacks.
	archive := mustRef(t, "docker-archive:"+filepath.Join(dir, "app.tar")+":edx/app:dev")
	bake(t, request(t, s, baseLayout(t), archive, "linux/arm64"))
	var ainsp struct {
		Architecture string
		Labels       map[string]string
		Layers       []string
	}
	json.Unmarshal([]byte(run(t, skopeo, "inspect", archive.String())), &ainsp)
	if ainsp.Architecture != "arm64" || ainsp.Labels[LabelWheelhouse] != "/wheelhouse" || len(ainsp.Layers) < 3 {
		t.Errorf("skopeo reads the docker-archive as %+v", ainsp)
	}
	copied := filepath.Join(dir, "copied")
	run(t, skopeo, "copy", archive.String(), "oci:"+copied+":dev")
	run(t, umoci, "unpack", "--rootless", "--image", copied+":dev", filepath.Join(dir, "bundle2"))
	if _, err := os.Stat(filepath.Join(dir, "bundle2", "rootfs", "wheelhouse", "manifest.json")); err != nil {
		t.Errorf("the docker-archive, copied by skopeo and unpacked by umoci, lacks the wheelhouse: %v", err)
	}
}

func TestPushToARealRegistryPullsBackTheSameDigestAndRefreshUploadsOneLayer(t *testing.T) {
	testenv.Slow(t, "runs docker-registry and skopeo")
	skopeo := testenv.Tool(t, "skopeo")
	reg := dockerregistry.ForTest(t)
	s, out, req := sampleRequest(t, "docker://"+reg.Host+"/edx/lms:dev", "linux/amd64")
	first := bake(t, req)

	var insp struct{ Digest string }
	json.Unmarshal([]byte(run(t, skopeo, "inspect", "--tls-verify=false", out.String())), &insp)
	if insp.Digest != first.Digest {
		t.Errorf("skopeo sees %s in the registry, the bake wrote %s", insp.Digest, first.Digest)
	}
	pulled := filepath.Join(t.TempDir(), "pulled")
	run(t, skopeo, "copy", "--src-tls-verify=false", out.String(), "oci:"+pulled+":dev")
	var back struct{ Digest string }
	json.Unmarshal([]byte(run(t, skopeo, "inspect", "oci:"+pulled+":dev")), &back)
	if back.Digest != first.Digest {
		t.Errorf("pulled back %s, pushed %s", back.Digest, first.Digest)
	}

	before := reg.Blobs()
	req.Entries = bump(t, s)
	second := bake(t, req)
	after := reg.Blobs()
	var added []string
	for d := range after {
		if !before[d] {
			added = append(added, d)
		}
	}
	// The delta, the config and the manifest (the registry stores
	// manifests as blobs too).
	top := second.Images[0].Layers[len(second.Images[0].Layers)-1].Digest
	if len(added) != 3 || !after[top] || !after[second.Digest] {
		t.Errorf("the refresh added %d blobs %v; want the delta %s, a config and the manifest %s", len(added), added, top, second.Digest)
	}
	for i, l := range second.Images[0].Layers[:len(second.Images[0].Layers)-1] {
		if l.Digest != first.Images[0].Layers[i].Digest {
			t.Errorf("layer %d (%s) changed in the refresh", i, l.What)
		}
	}

	// Pulled by skopeo and unpacked by umoci, the refreshed image's
	// simple index is the kept pages layer under the delta's pages: the
	// bumped project's page is new, the dropped project's folder gone.
	umoci := testenv.Tool(t, "umoci")
	pulled = filepath.Join(t.TempDir(), "refreshed")
	run(t, skopeo, "copy", "--src-tls-verify=false", out.String(), "oci:"+pulled+":dev")
	bundle := filepath.Join(t.TempDir(), "bundle")
	run(t, umoci, "unpack", "--rootless", "--image", pulled+":dev", bundle)
	simple := filepath.Join(bundle, "rootfs", "wheelhouse", "simple")
	if _, err := os.Stat(filepath.Join(simple, "pure-project-07")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the dropped project's pages are still in the unpacked image: %v", err)
	}
	page, err := os.ReadFile(filepath.Join(simple, "six", "index.html"))
	if err != nil || !strings.Contains(string(page), "six-1.18.0-py2.py3-none-any.whl") {
		t.Errorf("the bumped project's page in the unpacked image lacks the new wheel: %v\n%s", err, page)
	}
	root, err := os.ReadFile(filepath.Join(simple, "index.html"))
	if err != nil || strings.Contains(string(root), "pure-project-07") || !strings.Contains(string(root), "pure-project-08") {
		t.Errorf("the unpacked image's root page is not the refreshed one: %v\n%s", err, root)
	}
}
