package buildkit

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/larder-build/larder/images"
	"github.com/larder-build/larder/internal/baseimage"
	"github.com/larder-build/larder/internal/buildkitd"
	"github.com/larder-build/larder/internal/testenv"
	"github.com/larder-build/larder/internal/wheelhousetest"
	"github.com/larder-build/larder/wheelhouse"
)

// BenchmarkDockerfileInstallEdx times the install step of a devstack-like
// Dockerfile (a venv and pip install -r requirements/edx/base.txt) on a
// real buildkitd, four ways in the same run: from the wheelhouse context
// with no network (pip's --find-links; the wheelhouse's static simple
// index through file://; the same with larder export --requirements and
// pip --no-deps), and from the fake index on loopback with 20 ms added to
// every request, which is what the same Dockerfile does against PyPI
// without larder. BuildKit's cache is off for both. LARDER_BENCH_SCALE
// sizes the workload (default 0.1: 30 MB).
func BenchmarkDockerfileInstallEdx(b *testing.B) {
	d := buildkitd.SharedDaemon(b)
	base := baseimage.ForTest(b)
	scale := testenv.BenchScale(b, 0.1)
	ctx := context.Background()
	work := b.TempDir()
	const target = "linux/amd64:3.11.2:glibc2.36"
	edx := wheelhousetest.FetchEdx(b, filepath.Join(work, "edx"), scale, target)
	whRef, _ := images.ParseRef("oci:"+filepath.Join(work, "wh")+":wheelhouse", false)
	if _, err := images.Bake(ctx, images.Request{Store: edx.Store, Entries: edx.Closure(b), Platforms: []string{"linux/amd64"},
		Output: whRef, WheelhouseOnly: true, NoFrom: true}, images.WithLayerDir(filepath.Join(work, "layers"))); err != nil {
		b.Fatal(err)
	}
	indexURL := startFakeIndex(b, d, scale, work)
	reqs, err := os.ReadFile(filepath.Join("..", "..", "testdata", "edxindex", "requirements", "edx", "base.txt"))
	if err != nil {
		b.Fatal(err)
	}
	// What larder export --requirements writes: the closure pinned with
	// hashes, for pip --no-deps.
	locked, _, err := wheelhouse.Requirements(edx.Closure(b), target)
	if err != nil {
		b.Fatal(err)
	}
	contexts := namedContexts(b, ctx, base, whRef.String())
	c, err := Connect(ctx, d.Addr)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	install := "python3 -m venv /v && /v/bin/pip install -q "
	fromIndex := "RUN " + strings.Replace(install, "venv", "venv --system-site-packages", 1) + "--no-build-isolation --index-url " + indexURL + " -r /req/base.txt"
	for _, way := range []struct {
		name, run string
		none      bool
		warm      bool // one untimed build first, to fill the cache mount
	}{
		{"context-find-links", "RUN --mount=type=bind,from=wheelhouse,source=/wheelhouse,target=/wheelhouse " + install + "--no-index --find-links /wheelhouse/files -r /req/base.txt", true, false},
		{"context-file-index", "RUN --mount=type=bind,from=wheelhouse,source=/wheelhouse,target=/wheelhouse " + install + "--index-url file:///wheelhouse/simple/ -r /req/base.txt", true, false},
		{"context-file-index-no-deps", "RUN --mount=type=bind,from=wheelhouse,source=/wheelhouse,target=/wheelhouse " + install + "--no-deps --index-url file:///wheelhouse/simple/ -r /req/locked.txt", true, false},
		// The fake index, like PyPI, has sdists but no setuptools or
		// wheel to build them with: the venv borrows Debian's.
		{"index-20ms", fromIndex, false, false},
		// What BuildKit offers without larder: pip's cache on a cache
		// mount, warm from the build before. pip still asks the index
		// for every project page.
		{"index-20ms-warm-cache-mount", strings.Replace(fromIndex, "RUN ", "RUN --mount=type=cache,target=/root/.cache/pip ", 1), false, true},
	} {
		b.Run(way.name, func(b *testing.B) {
			proj := filepath.Join(b.TempDir(), "proj")
			write(b, proj, map[string]string{"base.txt": string(reqs), "locked.txt": string(locked),
				"Dockerfile": "FROM base AS install\nCOPY base.txt locked.txt /req/\n" + way.run +
					" && /v/bin/pip freeze > /freeze.txt\nFROM scratch\nCOPY --from=install /freeze.txt /\n"})
			solve := func(out string) error {
				log := newTail(30)
				err := Solve(ctx, c, Request{ContextDir: proj, Contexts: contexts, Platforms: []string{"linux/amd64"},
					NetworkNone: way.none, NoCache: true, LocalDir: out, Progress: log, Plain: true})
				if err != nil {
					return fmt.Errorf("%v\n%s", err, log)
				}
				return nil
			}
			if way.warm {
				b.StopTimer()
				if err := solve(filepath.Join(b.TempDir(), "warm")); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
			var total time.Duration
			packages := 0
			for i := 0; i < b.N; i++ {
				out := filepath.Join(b.TempDir(), "out")
				start := time.Now()
				err := solve(out)
				total += time.Since(start)
				if err != nil {
					b.Fatal(err)
				}
				freeze, err := os.ReadFile(filepath.Join(out, "freeze.txt"))
				if err != nil {
					b.Fatal(err)
				}
				packages = strings.Count(string(freeze), "\n")
			}
			b.ReportMetric(total.Seconds()/float64(b.N), "s/build")
			b.ReportMetric(float64(packages), "packages")
		})
	}
}

// startFakeIndex serves the edx workload with 20 ms of latency inside the
// daemon's network namespace, where its builds can reach it on loopback.
func startFakeIndex(b *testing.B, d *buildkitd.Daemon, scale float64, work string) string {
	b.Helper()
	bin := filepath.Join(work, "fakepypi")
	build := exec.Command("go", "build", "-o", bin, "github.com/larder-build/larder/internal/cmd/fakepypi")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("building fakepypi: %v\n%s", err, out)
	}
	cmd := exec.Command("nsenter", "--net="+d.NetNS(), bin, "-edx", "-scale", fmt.Sprint(scale), "-latency", "20ms", "-addr", "127.0.0.1:0")
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		b.Fatalf("fakepypi printed no URL: %v", err)
	}
	return strings.TrimSpace(line)
}
