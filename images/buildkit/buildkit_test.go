package buildkit

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/larder-build/larder/images"
	"github.com/larder-build/larder/internal/baseimage"
	"github.com/larder-build/larder/internal/buildkitd"
	"github.com/larder-build/larder/internal/gittest"
	"github.com/larder-build/larder/internal/pypitest"
	"github.com/larder-build/larder/internal/runc"
	"github.com/larder-build/larder/internal/testenv"
	"github.com/larder-build/larder/internal/wheelhousetest"
	"github.com/larder-build/larder/resolver/target"
	"github.com/larder-build/larder/wheelhouse/build"
)

func TestMain(m *testing.M) { testenv.Main(m, buildkitd.StopShared) }

func TestAnUnreachableDaemonSaysWhereAndHowToStartOne(t *testing.T) {
	a := "unix://" + filepath.Join(t.TempDir(), "nobody.sock")
	_, err := Connect(context.Background(), a)
	var ue *UnreachableError
	// How to start one is the CLI's hint (cmd's hintFor), from the type.
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), a) || ue.Addr != a {
		t.Fatalf("got %v", err)
	}
	if strings.Contains(err.Error(), "rpc error") {
		t.Errorf("gRPC noise in %q", err)
	}
}

// TestBuilderAddressSchemesAreKnown dials the schemes of docker buildx,
// podman and nerdctl builders: each runs its CLI (absent or failing here),
// where an unknown scheme would be taken for a host name.
func TestBuilderAddressSchemesAreKnown(t *testing.T) {
	for _, a := range []string{"docker-container://buildx_buildkit_nobody0", "podman-container://nobody", "nerdctl-container://nobody"} {
		t.Run(a, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			_, err := Connect(ctx, a)
			var ue *UnreachableError
			if !errors.As(err, &ue) || !strings.Contains(err.Error(), a) {
				t.Fatalf("got %v", err)
			}
			if msg := err.Error(); !strings.Contains(msg, "dial-stdio") && !strings.Contains(msg, "executable file not found") {
				t.Errorf("the scheme was not handed to its helper: %v", err)
			}
		})
	}
}

func TestDockerfileBuildInstallsTheEdxClosureWithNoNetworkAndRunsUnderRunc(t *testing.T) {
	a := buildkitd.Shared(t)
	base := baseimage.ForTest(t)
	testenv.Need(t, runc.Available())
	ctx := context.Background()
	work := t.TempDir()
	edx := wheelhousetest.FetchEdx(t, filepath.Join(work, "edx"), 0.02, "linux/amd64:3.11.2:glibc2.36")
	whRef, err := images.ParseRef("oci:"+filepath.Join(work, "wh")+":wheelhouse", false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := images.Bake(ctx, images.Request{Store: edx.Store, Entries: edx.Closure(t), Platforms: []string{"linux/amd64"},
		Output: whRef, WheelhouseOnly: true, NoFrom: true, Path: "/wheelhouse"}, images.WithLayerDir(filepath.Join(work, "layers"))); err != nil {
		t.Fatal(err)
	}
	proj := filepath.Join(work, "proj")
	reqs, err := os.ReadFile(filepath.Join("..", "..", "testdata", "edxindex", "requirements", "edx", "base.txt"))
	if err != nil {
		t.Fatal(err)
	}
	write(t, proj, map[string]string{
		"requirements/edx/base.txt": string(reqs),
		"Dockerfile": `FROM base
COPY requirements /edx/requirements
RUN --mount=type=bind,from=wheelhouse,source=/wheelhouse,target=/wheelhouse \
    python3 -m venv /v && /v/bin/pip install -q --index-url file:///wheelhouse/simple/ -r /edx/requirements/edx/base.txt
`,
	})
	out := filepath.Join(work, "out")
	outRef, _ := images.ParseRef("oci:"+out+":built", false)
	var log bytes.Buffer
	res, err := BuildImage(ctx, a, Image{Request: Request{ContextDir: proj, Contexts: namedContexts(t, ctx, base, whRef.String()), Platforms: []string{"linux/amd64"},
		NetworkNone: true, Progress: &log, Plain: true}, Output: outRef})
	if err != nil {
		t.Fatalf("%v\n%s", err, tail(log.String(), 30))
	}
	if res.Blobs == 0 {
		t.Errorf("the build wrote no blobs")
	}
	b, err := runc.Unpack(ctx, out, "built", filepath.Join(work, "bundle"))
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	code, err := b.Run(cctx, "larder-bk-test", []string{}, []string{"/v/bin/python", "-c",
		"import django, requests, lxml, numpy; print('imported', django.__version__, requests.__version__)"}, nil, &got)
	if err != nil || code != 0 {
		t.Fatalf("running the built image: exit %d, %v\n%s", code, err, got.String())
	}
	if !strings.Contains(got.String(), "imported 5.2.11 2.32.5") {
		t.Errorf("the built image says %q", got.String())
	}
}

func TestADockerfileThatIgnoresTheWheelhouseStillBuilds(t *testing.T) {
	a := buildkitd.Shared(t)
	base := baseimage.ForTest(t)
	ctx := context.Background()
	work := t.TempDir()
	write(t, work, map[string]string{"Dockerfile": "FROM base\nRUN echo built > /built.txt\n"})
	s := wheelhousetest.Store(t, wheelhousetest.Dir(t), wheelhousetest.Dist(t, "six", "1.17.0", 0, false, "py2.py3-none-any")...)
	whRef, _ := images.ParseRef("oci:"+filepath.Join(work, "wh"), false)
	if _, err := images.Bake(ctx, images.Request{Store: s, Entries: s.Entries(), Platforms: []string{"linux/amd64"},
		Output: whRef, WheelhouseOnly: true, NoFrom: true}, images.WithLayerDir(filepath.Join(work, "layers"))); err != nil {
		t.Fatal(err)
	}
	outRef, _ := images.ParseRef("docker-archive:"+filepath.Join(work, "out.tar")+":app:1", false)
	if _, err := BuildImage(ctx, a, Image{Request: Request{ContextDir: work, Contexts: namedContexts(t, ctx, base, whRef.String()), Platforms: []string{"linux/amd64"}}, Output: outRef}); err != nil {
		t.Fatal(err)
	}
	if _, err := images.Open(ctx, outRef, images.Remote{}); err != nil {
		t.Errorf("the docker-archive does not read back: %v", err)
	}
}

func TestWheelBuilderBuildsAnSdistAndAForkForAmd64InTheBaseImage(t *testing.T) {
	a := buildkitd.Shared(t)
	base := baseimage.ForTest(t)
	work := t.TempDir()
	sd, err := pypitest.BuildSdist(&pypitest.Project{Name: "srconly"}, &pypitest.Release{Version: "0.5"})
	if err != nil {
		t.Fatal(err)
	}
	sdPath := filepath.Join(work, sd.Filename)
	if err := os.WriteFile(sdPath, sd.Data, 0o644); err != nil {
		t.Fatal(err)
	}
	repo := gittest.New(t)
	commit := repo.Commit(map[string]string{
		"pkg/pyproject.toml":        "[build-system]\nrequires = [\"setuptools\"]\nbuild-backend = \"setuptools.build_meta\"\n\n[project]\nname = \"acme-fork\"\nversion = \"2.0.1\"\n",
		"pkg/acme_fork/__init__.py": "__version__ = '2.0.1'\n",
	}, "fork")
	tgt, _ := target.Parse("linux/amd64:3.11.2:glibc2.36")
	w := &WheelBuilder{Addr: a, Base: base, GitCacheDir: filepath.Join(work, "git")}
	out := filepath.Join(work, "wheels")
	for _, req := range []build.Request{
		{Project: "srconly", Version: "0.5", Sdist: sdPath, Target: tgt},
		{Project: "acme-fork", Version: "2.0.1", VCS: &build.VCS{URL: "git+" + repo.URL(), Commit: commit, Subdirectory: "pkg"}, Target: tgt},
	} {
		wheel, err := w.Build(context.Background(), req, out)
		if err != nil {
			t.Fatalf("%s: %v", req.Project, err)
		}
		if !strings.HasSuffix(wheel, ".whl") || filepath.Dir(wheel) != out {
			t.Errorf("%s: built %s", req.Project, wheel)
		}
	}
	// Installed by the real pip, and importable.
	site := filepath.Join(work, "site")
	wheels, _ := filepath.Glob(filepath.Join(out, "*.whl"))
	args := append([]string{"-m", "pip", "install", "-q", "--no-deps", "--no-index", "--target", site}, wheels...)
	if b, err := exec.Command("python3", args...).CombinedOutput(); err != nil {
		t.Fatalf("pip install: %v\n%s", err, b)
	}
	cmd := exec.Command("python3", "-c", "import srconly, acme_fork; print(srconly.__version__, acme_fork.__version__)")
	cmd.Env = append(os.Environ(), "PYTHONPATH="+site)
	if b, err := cmd.CombinedOutput(); err != nil || strings.TrimSpace(string(b)) != "0.5 2.0.1" {
		t.Errorf("importing the built wheels: %v %q", err, b)
	}
}

func TestABuildDependencyThatFailsToInstallShowsTheLogsLastLines(t *testing.T) {
	a := buildkitd.Shared(t)
	base := baseimage.ForTest(t)
	work := t.TempDir()
	sd, _ := pypitest.BuildSdist(&pypitest.Project{Name: "mysqlclient"}, &pypitest.Release{Version: "2.2.4"})
	sdPath := filepath.Join(work, sd.Filename)
	os.WriteFile(sdPath, sd.Data, 0o644)
	tgt, _ := target.Parse("linux/amd64:3.11.2:glibc2.36")
	// The daemon's network namespace has only loopback: apt cannot
	// reach a mirror, as on a machine cut off from Debian's.
	w := &WheelBuilder{Addr: a, Base: base, Apt: map[string][]string{"mysqlclient": {"default-libmysqlclient-dev"}}}
	_, err := w.Build(context.Background(), build.Request{Project: "mysqlclient", Version: "2.2.4", Sdist: sdPath, Target: tgt}, filepath.Join(work, "out"))
	var be *build.Error
	if !errors.As(err, &be) {
		t.Fatalf("got %v, want a build.Error", err)
	}
	if !strings.Contains(be.Log, "apt-get") || len(strings.Split(be.Log, "\n")) < 3 {
		t.Errorf("the error does not show the log's last lines:\n%s", be.Log)
	}
	if !strings.Contains(err.Error(), "mysqlclient 2.2.4") {
		t.Errorf("the error does not name the project: %v", err)
	}
	t.Logf("the error, as users see it:\n%v", err)
}

// namedContexts are the base image and the wheelhouse layout as the
// build contexts "base" and "wheelhouse" of the tests' Dockerfiles.
func namedContexts(tb testing.TB, ctx context.Context, base, wheelhouse string) []Context {
	tb.Helper()
	var cs []Context
	for _, nr := range [][2]string{{"base", base}, {"wheelhouse", wheelhouse}} {
		c, err := ContextFor(ctx, nr[0], nr[1])
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(c.Release)
		cs = append(cs, c)
	}
	return cs
}

func write(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
