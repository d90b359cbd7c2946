package main

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/larder-build/larder/internal/piptest"
	"github.com/larder-build/larder/internal/testenv"
	"github.com/larder-build/larder/internal/wheelhousetest"
)

// BenchmarkPipInstallEdx has the real pip install the edx-platform closure
// (requirements/edx/base.txt, 302 packages) from the same wheelhouse four
// ways in one run: through larder-index, through Debian's nginx serving the
// wheelhouse's static simple/ tree (when nginx is installed), from that
// tree through file://, and with --no-index --find-links. The goal is
// larder-index within 5% of nginx. LARDER_BENCH_SCALE sizes the workload
// (default 0.1: 30 MB).
//
//	go test -run '^$' -bench PipInstallEdx -benchtime 1x ./cmd/larder-index/
func BenchmarkPipInstallEdx(b *testing.B) {
	pip := piptest.New(b, "python3")
	scale := testenv.BenchScale(b, 0.1)
	work := b.TempDir()
	edx := wheelhousetest.FetchEdx(b, filepath.Join(work, "edx"), scale, "linux/amd64:3.11:glibc2.36")
	wh := edx.Store.Dir()
	reqs := filepath.Join("..", "..", "testdata", "edxindex", "requirements", "edx", "base.txt")

	addr, err := freePort()
	if err != nil {
		b.Fatal(err)
	}
	index := exec.Command(binPath, "serve", "--config=", "--wheelhouse", wh, "--addr", addr, "--offline", "--cache-dir", filepath.Join(work, "cache"))
	index.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := index.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { index.Process.Kill(); index.Wait() })
	if err := waitListening(addr); err != nil {
		b.Fatal(err)
	}
	ways := []struct{ name, flags string }{
		{"larder-index", "--index-url http://" + addr + "/simple/"},
	}
	if nginx, err := exec.LookPath("nginx"); err == nil {
		naddr, err := freePort()
		if err != nil {
			b.Fatal(err)
		}
		cmd, err := startNginx(nginx, filepath.Join(work, "nginx"), wh, wh, naddr)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { cmd.Process.Signal(syscall.SIGQUIT); cmd.Wait() })
		if err := waitListening(naddr); err != nil {
			b.Fatal(err)
		}
		ways = append(ways, struct{ name, flags string }{"nginx-static-tree", "--index-url http://" + naddr + "/simple/"})
	} else {
		b.Log("nginx is not installed (apt-get install nginx-light): no nginx row")
	}
	ways = append(ways,
		struct{ name, flags string }{"file-static-tree", "--index-url file://" + wh + "/simple/"},
		struct{ name, flags string }{"find-links", "--no-index --find-links " + wh + "/files"})
	for _, way := range ways {
		b.Run(way.name, func(b *testing.B) {
			var total time.Duration
			for i := 0; i < b.N; i++ {
				target := filepath.Join(b.TempDir(), "site")
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
				args := append([]string{"-m", "pip", "install", "-q", "--no-compile", "--target", target}, strings.Fields(way.flags)...)
				cmd := exec.CommandContext(ctx, pip.Python, append(args, "-r", reqs)...)
				cmd.Env = pip.Env
				start := time.Now()
				out, err := cmd.CombinedOutput()
				total += time.Since(start)
				cancel()
				if err != nil {
					b.Fatalf("pip install: %v\n%s", err, out)
				}
				dists, _ := filepath.Glob(filepath.Join(target, "*.dist-info"))
				if len(dists) < 300 {
					b.Fatalf("pip installed %d distributions:\n%s", len(dists), out)
				}
			}
			b.ReportMetric(total.Seconds()/float64(b.N), "s/install")
		})
	}
}
