package images

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/larder-build/larder/internal/indexbin"
	"github.com/larder-build/larder/internal/pypitest"
	"github.com/larder-build/larder/layers"
	"github.com/larder-build/larder/resolver"
	"github.com/larder-build/larder/resolver/target"
	"github.com/larder-build/larder/wheelhouse"
	"github.com/larder-build/larder/wheelhouse/fetch"
)

// scaleSizes are the closures BenchmarkScale measures, in packages.
var scaleSizes = []int{60, 300, 1000, 3000}

// Goals of BenchmarkScale.
const (
	// scaleSlack is how much more a package may cost at 3,000 than at
	// 300 before the growth counts as worse than linear (noise, and the
	// caches of a bigger working set).
	scaleSlack = 2.0
	// scaleStartGoal bounds larder-index's start-up with 3,000 projects.
	scaleStartGoal = 100 * time.Millisecond
)

// scaleCost is what one size cost.
type scaleCost struct {
	lock, fetch, bake, start time.Duration
	peakRSS                  float64 // MB
}

// BenchmarkScale locks, fetches and bakes synthetic closures of
// scaleSizes packages (small wheels: the bytes are BenchmarkBakeEdx's
// business), and starts the real larder-index on each wheelhouse: its
// start-up is the time until it answers its first page, its peak RSS
// (VmHWM) is read after it has served every page once. Each cost is
// reported per size and per package, and fails the benchmark when a
// package costs more than scaleSlack times as much at 3,000 as at 300,
// or larder-index starts in more than scaleStartGoal with 3,000
// projects. b.N is ignored: each size is measured once.
//
//	go test -run '^$' -bench BenchmarkScale -benchtime 1x ./images/
func BenchmarkScale(b *testing.B) {
	bins := indexbin.Build(b, "amd64")
	costs := map[int]scaleCost{}
	for _, n := range scaleSizes {
		b.Run(fmt.Sprintf("packages=%d", n), func(b *testing.B) {
			c := measureScale(b, n, bins)
			costs[n] = c
			per := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(n) }
			b.ReportMetric(c.lock.Seconds(), "lock-s")
			b.ReportMetric(c.fetch.Seconds(), "fetch-s")
			b.ReportMetric(c.bake.Seconds(), "bake-s")
			b.ReportMetric(float64(c.start.Microseconds())/1000, "index-start-ms")
			b.ReportMetric(c.peakRSS, "index-peak-RSS-MB")
			b.ReportMetric(per(c.lock), "lock-us/pkg")
			b.ReportMetric(per(c.fetch), "fetch-us/pkg")
			b.ReportMetric(per(c.bake), "bake-us/pkg")
		})
	}
	small, big := costs[300], costs[3000]
	if small.lock == 0 || big.lock == 0 {
		return // a size was left out (-bench with a sub-benchmark pattern)
	}
	for _, m := range []struct {
		what       string
		small, big float64
	}{
		{"lock", small.lock.Seconds(), big.lock.Seconds()},
		{"fetch", small.fetch.Seconds(), big.fetch.Seconds()},
		{"bake", small.bake.Seconds(), big.bake.Seconds()},
		{"larder-index start-up", small.start.Seconds(), big.start.Seconds()},
		{"larder-index peak RSS", small.peakRSS, big.peakRSS},
	} {
		if growth := (m.big / 3000) / (m.small / 300); growth > scaleSlack {
			b.Errorf("%s grows worse than linearly: a package costs %.1f times as much at 3,000 packages as at 300", m.what, growth)
		}
	}
	if big.start > scaleStartGoal {
		b.Errorf("larder-index starts in %v with 3,000 projects, over the %v goal", big.start, scaleStartGoal)
	}
}

// scaleIndex is n projects of two releases each, one small pure wheel
// per release; project i requires project i/2, so that the resolver
// follows edges as well as roots.
func scaleIndex(n int) *pypitest.Index {
	idx := &pypitest.Index{}
	for i := range n {
		var requires []string
		if i > 0 {
			requires = []string{fmt.Sprintf("scale-%04d>=1.0", i/2)}
		}
		var rel []pypitest.Release
		for _, v := range []string{"1.0", "1.1"} {
			rel = append(rel, pypitest.Release{Version: v, RequiresPython: ">=3.8", Requires: requires,
				Wheels: []pypitest.Wheel{{Tags: "py3-none-any", Size: 2 << 10}}})
		}
		idx.Projects = append(idx.Projects, pypitest.Project{Name: fmt.Sprintf("scale-%04d", i), Releases: rel})
	}
	return idx
}

func measureScale(b *testing.B, n int, bins map[string]string) scaleCost {
	ctx := context.Background()
	dir := b.TempDir()
	srv := pypitest.Start(b, scaleIndex(n))
	var reqs strings.Builder
	for i := range n {
		fmt.Fprintf(&reqs, "scale-%04d\n", i)
	}
	reqFile := filepath.Join(dir, "requirements.txt")
	if err := os.WriteFile(reqFile, []byte(reqs.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	t, err := target.Parse("linux/amd64:3.11:glibc2.35")
	if err != nil {
		b.Fatal(err)
	}
	var c scaleCost

	start := time.Now()
	locked, err := resolver.Lock(ctx, resolver.LockRequest{Requirements: []string{reqFile}, Targets: []target.Target{t},
		IndexURLs: []string{srv.URL()}, Python: "/usr/bin/python3"}, resolver.WithCacheDir(filepath.Join(dir, "lock-cache")))
	c.lock = time.Since(start)
	if err != nil {
		b.Fatal(err)
	}

	store, err := wheelhouse.Create(filepath.Join(dir, "wheelhouse"))
	if err != nil {
		b.Fatal(err)
	}
	start = time.Now()
	if _, err := fetch.Fetch(ctx, store, locked.Lock, fetch.WithCacheDir(filepath.Join(dir, "fetch-cache"))); err != nil {
		b.Fatal(err)
	}
	c.fetch = time.Since(start)
	entries, err := fetch.Closure(store, locked.Lock)
	if err != nil {
		b.Fatal(err)
	}
	if len(entries) != n {
		b.Fatalf("the closure has %d files, want %d", len(entries), n)
	}

	out, _ := ParseRef("oci:"+filepath.Join(dir, "out")+":dev", false)
	base, _ := ParseRef("scratch", false)
	req := Request{Store: store, Entries: entries, Platforms: []string{"linux/amd64"}, Base: base, Output: out,
		IndexBinaries: bins, IndexConfig: []byte(`{"wheelhouse":"/wheelhouse"}`), IndexURL: "http://127.0.0.1:3141/simple/",
		layerDir: filepath.Join(dir, "layers"), Compression: layers.Gzip, Version: "bench", LockSHA256: strings.Repeat("0", 64)}
	syscall.Sync()
	start = time.Now()
	if _, err := Bake(ctx, req); err != nil {
		b.Fatal(err)
	}
	c.bake = time.Since(start)

	c.start, c.peakRSS = indexStartup(b, bins["linux/amd64"], store, entries)
	return c
}

// indexStartup starts larder-index on a wheelhouse three times and
// returns the shortest time until it answered a project page (the
// machine's other work only ever adds to it), and the peak RSS of the
// last one once it has served every project's page.
func indexStartup(b *testing.B, bin string, store *wheelhouse.Store, entries []wheelhouse.Entry) (time.Duration, float64) {
	var best time.Duration
	var rss float64
	for i := range 3 {
		up, r := startIndex(b, bin, store, entries, i == 2)
		if i == 0 || up < best {
			best = up
		}
		rss = r
	}
	return best, rss
}

// startIndex starts larder-index once; with all, it then asks for every
// project's page and reads its peak RSS.
func startIndex(b *testing.B, bin string, store *wheelhouse.Store, entries []wheelhouse.Entry, all bool) (time.Duration, float64) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin, "serve", "--config=", "--wheelhouse", store.Dir(), "--addr", addr, "--offline", "--cache-dir", b.TempDir())
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	client := &http.Client{Timeout: time.Second}
	defer client.CloseIdleConnections()
	page := func(project string) (int, error) {
		resp, err := client.Get("http://" + addr + "/simple/" + project + "/")
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}()
	var up time.Duration
	for {
		if code, err := page(entries[0].Project); err == nil {
			if code != http.StatusOK {
				b.Fatalf("larder-index answered %d", code)
			}
			up = time.Since(start)
			break
		}
		if time.Since(start) > 10*time.Second {
			b.Fatal("larder-index did not answer within 10 s")
		}
		time.Sleep(time.Millisecond)
	}
	if !all {
		return up, 0
	}
	for _, e := range entries {
		if code, err := page(e.Project); err != nil || code != http.StatusOK {
			b.Fatalf("/simple/%s/: %d %v", e.Project, code, err)
		}
	}
	return up, peakRSS(b, cmd.Process.Pid)
}

// peakRSS reads a process's VmHWM in MB.
func peakRSS(b *testing.B, pid int) float64 {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	b.Fatal("no VmHWM in /proc/PID/status")
	return 0
}
