package cmd

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/larder-build/larder/images"
	"github.com/larder-build/larder/internal/baseimage"
	"github.com/larder-build/larder/internal/buildkitd"
	"github.com/larder-build/larder/internal/piptest"
	"github.com/larder-build/larder/internal/testenv"
	"github.com/larder-build/larder/resolver/pylock"
)

func TestMain(m *testing.M) { testenv.Main(m, buildkitd.StopShared) }

func TestExportPrintsBuildctlFlagsThatWorkExactlyAsPrinted(t *testing.T) {
	addr := buildkitd.Shared(t)
	buildctl := buildkitd.Buildctl(t)
	base := baseimage.ForTest(t)
	dir, _ := bakeProject(t)
	layout := filepath.Join(dir, "exported")
	code, out, stderr := run(t, dir, "export", "--oci-layout", layout, "--platform", "linux/amd64")
	if code != 0 {
		t.Fatalf("export: %d\n%s\n%s", code, out, stderr)
	}
	var printed string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "buildctl build ") {
			printed = strings.TrimSpace(l)
		}
	}
	if printed == "" || !strings.Contains(out, "docker buildx build --build-context wheelhouse=oci-layout://"+layout+"@sha256:") {
		t.Fatalf("export printed:\n%s", out)
	}
	// A project that installs from the wheelhouse context, with no network.
	proj := filepath.Join(dir, "app")
	writeFiles(t, proj, map[string]string{
		"requirements.txt": "web\nfast\n",
		"Dockerfile": `FROM base
COPY requirements.txt /req.txt
RUN --mount=type=bind,from=wheelhouse,source=/wheelhouse,target=/wheelhouse \
    python3 -m venv /v && /v/bin/pip install --index-url file:///wheelhouse/simple/ -r /req.txt && /v/bin/python -c "import web, fast"
`,
	})
	src, err := images.Open(t.Context(), mustParse(t, base), images.Remote{})
	if err != nil {
		t.Fatal(err)
	}
	// The command exactly as printed; then what any build adds: where the
	// daemon is, the base image's context, no network, an output.
	args := strings.Fields(strings.TrimPrefix(printed, "buildctl "))
	baseDir := strings.TrimSuffix(strings.TrimPrefix(base, "oci:"), ":"+baseimage.Tag)
	args = append([]string{"--addr", addr}, append(args,
		"--oci-layout", "base="+baseDir, "--opt", "context:base=oci-layout://base@"+src.Digest.String(),
		"--opt", "force-network-mode=none", "--output", "type=oci,dest="+filepath.Join(dir, "out.tar"))...)
	cmd := exec.Command(buildctl, args...)
	cmd.Dir = proj
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("buildctl %s: %v\n%s", strings.Join(args, " "), err, b)
	}
	if st, err := os.Stat(filepath.Join(dir, "out.tar")); err != nil || st.Size() == 0 {
		t.Errorf("buildctl wrote no image: %v", err)
	}
	// --json says the same.
	code, out, _ = run(t, dir, "export", "--oci-layout", layout, "--platform", "linux/amd64", "--json")
	var s exportSummary
	if code != 0 || json.Unmarshal([]byte(out), &s) != nil || !strings.Contains(printed, s.Digest) {
		t.Errorf("export --json: %d\n%s", code, out)
	}
}

func TestBuildFromTheCommandLineAndItsErrors(t *testing.T) {
	dir, _ := bakeProject(t)
	// No daemon: the error names the address and how to start one.
	code, _, stderr := run(t, dir, "build", "--buildkit-addr", "unix://"+filepath.Join(dir, "none.sock"), "--output", "oci:out", "--platform", "linux/amd64")
	if code != 1 || !strings.Contains(stderr, "cannot reach BuildKit at unix://") || !strings.Contains(stderr, "hint: start one") {
		t.Errorf("build with no daemon: %d\n%s", code, stderr)
	}
	// ...and nothing was baked for a daemon that is not there.
	if strings.Contains(stderr, "wheelhouse context:") {
		t.Errorf("build baked the wheelhouse context before finding no daemon:\n%s", stderr)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "cache", "*", "contexts", "*")); len(m) > 0 {
		t.Errorf("build baked %v before finding no daemon", m)
	}
	for _, bad := range [][]string{{"build", "--build-arg", "NOVALUE"}, {"build", "--build-context", "x"}, {"build", "--platform", "linux/sparc"}} {
		if code, _, stderr := run(t, dir, append(bad, "--output", "oci:out")...); code != 2 {
			t.Errorf("larder %v: exit %d, want 2\n%s", bad, code, stderr)
		}
	}

	addr := buildkitd.Shared(t)
	base := baseimage.ForTest(t)
	writeFiles(t, dir, map[string]string{"Dockerfile": `FROM base
COPY requirements.txt /req.txt
RUN --mount=type=bind,from=wheelhouse,source=/wheelhouse,target=/wheelhouse \
    python3 -m venv /v && /v/bin/pip install --no-index --find-links /wheelhouse/files -r /req.txt
`})
	code, out, stderr := run(t, dir, "build", "--buildkit-addr", addr, "--build-context", "base="+base, "--network-none",
		"--platform", "linux/amd64", "--output", "oci:built:v1", "--no-progress", ".")
	if code != 0 || !strings.Contains(out, "built oci:") || !strings.Contains(stderr, "wheelhouse context: oci:") {
		t.Fatalf("build: %d\n%s\n%s", code, out, stderr)
	}
	src, err := images.Open(t.Context(), mustParse(t, "oci:"+filepath.Join(dir, "built")+":v1"), images.Remote{})
	if err != nil || src.Image == nil {
		t.Fatalf("the built image does not read back: %v", err)
	}
}

// TestExportRequirementsInstallsWithPipNoDepsAndRefusesATamperedHash
// checks the requirements file with the real pip: the whole closure of one
// target installs from the wheelhouse's static index with --no-deps, and a
// hash that does not match stops it.
func TestExportRequirementsInstallsWithPipNoDepsAndRefusesATamperedHash(t *testing.T) {
	pip := piptest.New(t, "python3")
	dir, _ := bakeProject(t)
	code, out, stderr := run(t, dir, "export", "--requirements", "reqs.txt")
	if code != 2 || !strings.Contains(stderr, "the lock has 2 targets, choose one with --target: linux/amd64:3.11") {
		t.Fatalf("two targets and no --target: %d\n%s\n%s", code, out, stderr)
	}
	code, out, stderr = run(t, dir, "export", "--requirements", "reqs.txt", "--target", "linux/s390x")
	if code != 2 || !strings.Contains(stderr, "--target linux/s390x: the lock has no such target; its targets: linux/amd64:3.11") {
		t.Fatalf("unknown target: %d\n%s\n%s", code, out, stderr)
	}
	code, out, stderr = run(t, dir, "export", "--requirements", "reqs.txt", "--target", "linux/amd64")
	if code != 0 || !strings.Contains(out, "wrote reqs.txt: 4 projects for linux/amd64:3.11") {
		t.Fatalf("export --requirements: %d\n%s\n%s", code, out, stderr)
	}
	reqs, err := os.ReadFile(filepath.Join(dir, "reqs.txt"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"\nasgiref==3.8.1 \\\n    --hash=sha256:", "\ndjango==5.0 \\\n", "\nfast==1.0 \\\n", "\nweb==2.0 \\\n"} {
		if !strings.Contains(string(reqs), want) {
			t.Errorf("reqs.txt lacks %q:\n%s", want, reqs)
		}
	}
	if strings.Contains(string(reqs), "aarch64") || strings.Count(string(reqs), "--hash=") != 4 {
		t.Errorf("reqs.txt should hold one hash per project, amd64 only:\n%s", reqs)
	}
	install := func(reqFile string) (string, error) {
		cmd := exec.Command(pip.Python, "-m", "pip", "install", "--no-compile", "--no-deps", "--target", filepath.Join(t.TempDir(), "site"),
			"--index-url", "file://"+filepath.Join(dir, "wh", "simple")+"/", "-r", reqFile)
		cmd.Env = pip.Env
		b, err := cmd.CombinedOutput()
		return string(b), err
	}
	if out, err := install(filepath.Join(dir, "reqs.txt")); err != nil || !strings.Contains(out, "Successfully installed asgiref-3.8.1 django-5.0 fast-1.0 web-2.0") {
		t.Fatalf("pip install --no-deps -r reqs.txt: %v\n%s", err, out)
	}
	i := strings.Index(string(reqs), "--hash=sha256:") + len("--hash=sha256:")
	tampered := string(reqs[:i]) + "0000" + string(reqs[i+4:])
	if err := os.WriteFile(filepath.Join(dir, "tampered.txt"), []byte(tampered), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := install(filepath.Join(dir, "tampered.txt")); err == nil || !strings.Contains(out, "THESE PACKAGES DO NOT MATCH THE HASHES") {
		t.Fatalf("pip accepted a tampered hash: %v\n%s", err, out)
	}
	code, _, stderr = run(t, dir, "export", "--requirements", filepath.Join(dir, "no", "such", "reqs.txt"), "--target", "linux/amd64")
	if code != 1 || !strings.Contains(stderr, "no folder "+filepath.Join(dir, "no", "such")) {
		t.Errorf("a missing folder: %d\n%s", code, stderr)
	}
	// stdout, and JSON.
	code, out, _ = run(t, dir, "export", "--requirements", "-", "--target", "linux/arm64")
	if code != 0 || !strings.Contains(out, "fast==1.0") || strings.Contains(out, "x86_64") {
		t.Errorf("export --requirements -: %d\n%s", code, out)
	}
	if code, _, stderr := run(t, dir, "--json", "export", "--requirements", "-", "--target", "linux/arm64"); code != 2 || !strings.Contains(stderr, "both write to stdout") {
		t.Errorf("--json with --requirements -: %d\n%s", code, stderr)
	}
	code, out, _ = run(t, dir, "--json", "export", "--requirements", "arm.txt", "--target", "linux/arm64")
	var s exportSummary
	if code != 0 || json.Unmarshal([]byte(out), &s) != nil || s.Projects != 4 || !strings.HasPrefix(s.Target, "linux/arm64:") || s.Layout != "" {
		t.Errorf("export --json: %d %+v\n%s", code, s, out)
	}
}

func TestLockTargetTakesAFullNameOrALeadingPartOnlyOneTargetHas(t *testing.T) {
	amd311, amd312, arm := "linux/amd64:3.11.2:glibc2.36", "linux/amd64:3.12.1:glibc2.36", "linux/arm64:3.11.2:glibc2.36"
	lock := &pylock.Lock{Tool: pylock.Tool{Larder: &pylock.LarderTool{Targets: []string{amd311, amd312, arm}}}}
	tests := []struct{ want, got, err string }{
		{amd311, amd311, ""},
		{"linux/arm64", arm, ""},
		{"linux/amd64:3.11", amd311, ""},
		{"linux/amd64:3.12.1", amd312, ""},
		{"linux/amd64", "", "several such targets, name one: " + amd311 + ", " + amd312},
		{"linux/amd64:3.1", "", "no such target"},
		{"linux/amd", "", "no such target"},
		{"", "", "the lock has 3 targets, choose one with --target"},
	}
	for _, tt := range tests {
		got, err := lockTarget(lock, tt.want)
		if got != tt.got || (tt.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("lockTarget(%q) = %q, %v; want %q, %q", tt.want, got, err, tt.got, tt.err)
		}
	}
}
