package images

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// needTool finds a real client on PATH. CI installs them and sets
// LARDER_REQUIRE_TOOLS=1, so that a missing one fails there instead of
// skipping.
func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("LARDER_REQUIRE_TOOLS") == "1" {
			t.Fatalf("%s is not installed (LARDER_REQUIRE_TOOLS=1)", name)
		}
		t.Skipf("%s is not installed", name)
	}
	return p
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// dockerRegistry is Debian's docker-registry (the CNCF distribution
// registry) serving from a temporary folder on a free loopback port.
type dockerRegistry struct {
	host    string
	storage string
}

func startDockerRegistry(t *testing.T) *dockerRegistry {
	t.Helper()
	bin := needTool(t, "docker-registry")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	host := l.Addr().String()
	l.Close()
	dir := t.TempDir()
	r := &dockerRegistry{host: host, storage: filepath.Join(dir, "storage")}
	cfg := fmt.Sprintf("version: 0.1\nlog: {level: error}\nstorage: {filesystem: {rootdirectory: %s}, delete: {enabled: true}}\nhttp: {addr: %s}\n", r.storage, host)
	cfgPath := filepath.Join(dir, "registry.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	logf, _ := os.Create(filepath.Join(dir, "registry.log"))
	cmd := exec.Command(bin, "serve", cfgPath)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		logf.Close()
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get("http://" + host + "/v2/")
		if err == nil {
			resp.Body.Close()
			return r
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "registry.log"))
			t.Fatalf("docker-registry did not answer on %s: %v\n%s", host, err, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// blobs lists the digests the registry stores.
func (r *dockerRegistry) blobs(t *testing.T) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	paths, _ := filepath.Glob(filepath.Join(r.storage, "docker/registry/v2/blobs/sha256/*/*/data"))
	for _, p := range paths {
		out["sha256:"+filepath.Base(filepath.Dir(p))] = true
	}
	return out
}

func TestRealClientsAcceptTheOutputs(t *testing.T) {
	skopeo := needTool(t, "skopeo")
	umoci := needTool(t, "umoci")
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
}

func TestPushToARealRegistryPullsBackTheSameDigestAndRefreshUploadsOneLayer(t *testing.T) {
	skopeo := needTool(t, "skopeo")
	reg := startDockerRegistry(t)
	s := sample(t)
	out := mustRef(t, "docker://"+reg.host+"/edx/lms:dev")
	req := request(t, s, baseLayout(t), out, "linux/amd64")
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

	before := reg.blobs(t)
	req.Entries = bump(t, s)
	second := bake(t, req)
	after := reg.blobs(t)
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
}
