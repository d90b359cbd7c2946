package main

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/larder-build/larder/internal/pypitest"
	"github.com/larder-build/larder/wheelhouse"
	"github.com/larder-build/larder/wheelhouse/serve"
)

// The benchmarks run, on the same store over loopback, `larder serve` (the
// larder binary, built from ../larder when the benchmarks first need it),
// larder-index (built by TestMain) and, when installed, Debian's nginx,
// with a Go load generator of keep-alive connections; each kind of request
// is measured at every count of benchConns, with max(b.N,
// benchMinRequests) requests per server, so that make bench's -benchtime
// 1x measures too:
//
//	go test -run '^$' -bench . -benchtime=40000x ./cmd/larder-index/
//
// The benchmark store: benchProjects projects of two releases each, one
// wheel of benchWheelSize bytes per release.
const (
	benchProjects    = 1000
	benchWheelSize   = 16 << 10
	benchConcurrency = 32
	benchMinRequests = 30000
	// benchLoadTimeout bounds one load: a server that stops answering
	// fails the benchmark instead of hanging it.
	benchLoadTimeout = 2 * time.Minute
)

// benchConns are the keep-alive connection counts each kind is measured at.
var benchConns = []int{50, 500}

// benchEnv is the store, its static layout and the servers, made once per
// test binary and torn down by TestMain.
var benchEnv struct {
	once     sync.Once
	err      error
	dir      string
	pages    []string // /simple/<name>/
	files    []string // /files/<filename>
	serve    *exec.Cmd
	serveURL string
	index    *exec.Cmd
	indexURL string
	nginx    *exec.Cmd
	nginxURL string
}

func stopBenchEnv() {
	// SIGQUIT is nginx's graceful shutdown, which takes its workers down
	// too; killing the master would orphan them. SIGTERM ends the Go
	// servers (SIGQUIT would have them dump their goroutines).
	for _, c := range []*exec.Cmd{benchEnv.serve, benchEnv.index, benchEnv.nginx} {
		if c != nil && c.Process != nil {
			sig := syscall.SIGTERM
			if c == benchEnv.nginx {
				sig = syscall.SIGQUIT
			}
			c.Process.Signal(sig)
			done := make(chan struct{})
			go func() { c.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				c.Process.Kill()
				<-done
			}
		}
	}
	if benchEnv.dir != "" {
		os.RemoveAll(benchEnv.dir)
	}
}

func setupBench(b *testing.B) {
	b.Helper()
	benchEnv.once.Do(func() { benchEnv.err = buildBenchEnv() })
	if benchEnv.err != nil {
		b.Fatal(benchEnv.err)
	}
}

func buildBenchEnv() error {
	dir, err := os.MkdirTemp("", "larder-index-bench-")
	if err != nil {
		return err
	}
	benchEnv.dir = dir
	idx := &pypitest.Index{}
	for i := range benchProjects {
		name := fmt.Sprintf("project-%04d", i)
		var rel []pypitest.Release
		for _, v := range []string{"1.0", "1.1"} {
			rel = append(rel, pypitest.Release{Version: v, RequiresPython: ">=3.8", Wheels: []pypitest.Wheel{{Tags: "py3-none-any", Size: benchWheelSize}}})
		}
		idx.Projects = append(idx.Projects, pypitest.Project{Name: name, Releases: rel})
	}
	fake := pypitest.New(idx)
	whDir := filepath.Join(dir, "wheelhouse")
	st, err := wheelhouse.Create(whDir)
	if err != nil {
		return err
	}
	for _, p := range idx.Projects {
		files, err := fake.Files(p.Name)
		if err != nil {
			return err
		}
		for _, f := range files {
			if err := os.WriteFile(st.Path(f.Filename), f.Data, 0o644); err != nil {
				return err
			}
			if err := os.WriteFile(st.MetadataPath(f.Filename), f.Metadata, 0o644); err != nil {
				return err
			}
			if err := st.Put(wheelhouse.Entry{Filename: f.Filename, Project: p.Name, Version: f.Version, SHA256: f.SHA256, Size: int64(f.Size),
				MetadataSHA256: f.MetadataSHA256, RequiresPython: f.RequiresPython, UploadTime: f.UploadTime,
				Origin: wheelhouse.Origin{Kind: wheelhouse.OriginIndex}}); err != nil {
				return err
			}
			benchEnv.files = append(benchEnv.files, "/files/"+f.Filename)
		}
		benchEnv.pages = append(benchEnv.pages, "/simple/"+p.Name+"/")
	}
	if err := st.Commit(); err != nil {
		return err
	}
	if err := writeStaticLayout(st, filepath.Join(dir, "static")); err != nil {
		return err
	}

	addr, err := freePort()
	if err != nil {
		return err
	}
	benchEnv.index = exec.Command(binPath, "serve", "--config=", "--wheelhouse", whDir, "--addr", addr, "--offline", "--cache-dir", filepath.Join(dir, "cache"))
	benchEnv.indexURL = addr
	if err := startListening(benchEnv.index, addr); err != nil {
		return err
	}

	// larder serve, built as make build builds it, run from a folder
	// without a larder.toml.
	larder := filepath.Join(dir, "larder")
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", larder, "../larder")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("building larder: %v\n%s", err, out)
	}
	if addr, err = freePort(); err != nil {
		return err
	}
	benchEnv.serve = exec.Command(larder, "serve", "--no-progress", "--wheelhouse", whDir, "--addr", addr, "--offline", "--cache-dir", filepath.Join(dir, "serve-cache"))
	benchEnv.serve.Dir = dir
	benchEnv.serveURL = addr
	if err := startListening(benchEnv.serve, addr); err != nil {
		return err
	}
	if nginx, err := exec.LookPath("nginx"); err == nil {
		addr, err := freePort()
		if err != nil {
			return err
		}
		if benchEnv.nginx, err = startNginx(nginx, filepath.Join(dir, "nginx"), filepath.Join(dir, "static"), whDir, addr); err != nil {
			return err
		}
		benchEnv.nginxURL = addr
		if err := waitListening(addr); err != nil {
			return err
		}
	}
	return nil
}

// writeStaticLayout writes the PEP 503 tree nginx serves: the very HTML
// pages larder-index answers text/html with, and the store's files.
func writeStaticLayout(st *wheelhouse.Store, root string) error {
	s, err := serve.New(st, serve.WithOffline(true))
	if err != nil {
		return err
	}
	paths := append([]string{"/simple/"}, benchEnv.pages...)
	for _, p := range paths {
		req := httptest.NewRequest(http.MethodGet, p, nil)
		req.Header.Set("Accept", "text/html")
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Code != 200 {
			return fmt.Errorf("rendering %s: %d", p, rec.Code)
		}
		out := filepath.Join(root, filepath.FromSlash(p), "index.html")
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(out, rec.Body.Bytes(), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func startNginx(nginx, prefix, static, wh, addr string) (*exec.Cmd, error) {
	if err := os.MkdirAll(prefix, 0o755); err != nil {
		return nil, err
	}
	conf := fmt.Sprintf(`daemon off;
user root;
worker_processes auto;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  client_body_temp_path %[1]s/body;
  proxy_temp_path %[1]s/proxy;
  fastcgi_temp_path %[1]s/fastcgi;
  uwsgi_temp_path %[1]s/uwsgi;
  scgi_temp_path %[1]s/scgi;
  types { text/html html; }
  default_type application/octet-stream;
  server {
    listen %[2]s;
    root %[3]s;
    location /files/ { alias %[4]s/files/; }
  }
}
`, prefix, addr, static, wh)
	if err := os.WriteFile(filepath.Join(prefix, "nginx.conf"), []byte(conf), 0o644); err != nil {
		return nil, err
	}
	cmd := exec.Command(nginx, "-p", prefix, "-c", filepath.Join(prefix, "nginx.conf"), "-e", filepath.Join(prefix, "error.log"))
	cmd.Stderr = os.Stderr
	// SIGTERM, not SIGKILL: the master then stops its workers.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	return cmd, cmd.Start()
}

func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// startListening starts c, a server told to listen on addr, with its
// errors on stderr and killed when the benchmark's process dies, and waits
// until addr answers.
func startListening(c *exec.Cmd, addr string) error {
	c.Stderr = os.Stderr
	c.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := c.Start(); err != nil {
		return err
	}
	return waitListening(addr)
}

func waitListening(addr string) error {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return nil
		}
	}
	return fmt.Errorf("nothing listens on %s", addr)
}

// load sends n GET requests for paths (round robin) over conc keep-alive
// connections to addr (on 127.0.0.1) and returns the latencies of the
// answered requests and the count of failed ones (at least those left
// unanswered). It parses just enough HTTP/1.1 (status line,
// Content-Length) to stay light next to the servers, and reads every body
// whole. A failed request costs its
// connection, which is dialled again; a connection that fails
// maxConnErrors times in a row stops, and the whole load stops at
// benchLoadTimeout.
func load(b *testing.B, addr string, paths []string, accept string, n, conc int) ([]time.Duration, int64) {
	b.Helper()
	const maxConnErrors = 10
	if !strings.HasPrefix(addr, "127.0.0.1:") {
		b.Fatalf("load: %s is not on 127.0.0.1", addr)
	}
	deadline := time.Now().Add(benchLoadTimeout)
	lat := make([]time.Duration, n)
	done := make([]bool, n)
	var next, errs atomic.Int64
	var lastErr atomic.Value
	var wg sync.WaitGroup
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var conn net.Conn
			var r *bufio.Reader
			defer func() {
				if conn != nil {
					conn.Close()
				}
			}()
			var req []byte
			for failures := 0; failures < maxConnErrors; {
				if conn == nil {
					c, err := net.DialTimeout("tcp", addr, 5*time.Second)
					if err != nil {
						errs.Add(1)
						lastErr.Store(err)
						failures++
						continue
					}
					c.SetDeadline(deadline)
					conn, r = c, bufio.NewReaderSize(c, 64<<10)
				}
				i := int(next.Add(1)) - 1
				if i >= n || time.Now().After(deadline) {
					return
				}
				req = append(req[:0], "GET "...)
				req = append(req, paths[i%len(paths)]...)
				req = append(req, " HTTP/1.1\r\nHost: bench\r\nUser-Agent: pip/23.2.1\r\nAccept-Encoding: identity\r\n"...)
				req = append(req, accept...)
				req = append(req, "\r\n\r\n"...)
				start := time.Now()
				_, err := conn.Write(req)
				if err == nil {
					err = readResponse(r)
				}
				if err != nil {
					errs.Add(1)
					lastErr.Store(fmt.Errorf("%s: %w", paths[i%len(paths)], err))
					failures++
					conn.Close()
					conn = nil
					continue
				}
				lat[i], done[i] = time.Since(start), true
				failures = 0
			}
		}()
	}
	wg.Wait()
	if err, _ := lastErr.Load().(error); err != nil {
		b.Logf("%s: %d failed requests, the last: %v", addr, errs.Load(), err)
	}
	out := lat[:0]
	for i, ok := range done {
		if ok {
			out = append(out, lat[i])
		}
	}
	return out, max(errs.Load(), int64(n-len(out)))
}

func readResponse(r *bufio.Reader) error {
	line, err := r.ReadSlice('\n')
	if err != nil {
		return err
	}
	if !bytes.HasPrefix(line, []byte("HTTP/1.1 200")) {
		return fmt.Errorf("status %q", bytes.TrimSpace(line))
	}
	length := -1
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return err
		}
		if len(line) <= 2 {
			break
		}
		if k, v, ok := bytes.Cut(line, []byte(":")); ok && bytes.EqualFold(k, []byte("Content-Length")) {
			length, _ = strconv.Atoi(string(bytes.TrimSpace(v)))
		}
	}
	if length < 0 {
		return fmt.Errorf("no Content-Length")
	}
	_, err = r.Discard(length)
	return err
}

// stats summarizes latencies: requests per second over elapsed, p50, p99.
func stats(lat []time.Duration, elapsed time.Duration) (rps float64, p50, p99 time.Duration) {
	if len(lat) == 0 || elapsed <= 0 {
		return 0, 0, 0
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return float64(len(lat)) / elapsed.Seconds(), lat[len(lat)/2], lat[len(lat)*99/100]
}

// cpuTime is the CPU time (user and system) that a process and its
// children (nginx's workers) have used, from /proc: 0 where it cannot be
// read.
func cpuTime(pid int) time.Duration {
	entries, _ := os.ReadDir("/proc")
	var ticks int64
	for _, e := range entries {
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil || e.Name()[0] < '0' || e.Name()[0] > '9' {
			continue
		}
		// pid (comm) state ppid ... utime stime: fields 14 and 15, counted
		// after the command name, which may hold spaces.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 13 {
			continue
		}
		self, _ := strconv.Atoi(e.Name())
		if ppid, _ := strconv.Atoi(f[1]); self != pid && ppid != pid {
			continue
		}
		u, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		ticks += u + st
	}
	// The kernel counts in USER_HZ, 100 a second on Linux.
	return time.Duration(ticks) * 10 * time.Millisecond
}

// rssMB reads a process's resident set size.
func rssMB(pid int) (float64, float64) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, 0
	}
	var rss, hwm float64
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 {
			kb, _ := strconv.ParseFloat(f[1], 64)
			switch f[0] {
			case "VmRSS:":
				rss = kb / 1024
			case "VmHWM:":
				hwm = kb / 1024
			}
		}
	}
	return rss, hwm
}

// rounds is how many slices each server's load is cut into: the servers
// take turns, so that a burst of other work on the machine hits them all.
const rounds = 10

// compare measures paths at each count of benchConns, a sub-benchmark each.
func compare(b *testing.B, paths []string, accept string) {
	setupBench(b)
	for _, conns := range benchConns {
		b.Run(fmt.Sprintf("conns=%d", conns), func(b *testing.B) { compareAt(b, paths, accept, conns) })
	}
}

// compareAt sends max(b.N, benchMinRequests) requests to each server
// (larder serve, larder-index, then nginx when installed) over conns
// connections, interleaved in rounds, and reports each one's requests per
// second and 99th percentile latency, each larder server's share of
// nginx's throughput, and failed requests (which fail the benchmark).
func compareAt(b *testing.B, paths []string, accept string, conns int) {
	type server struct {
		name, addr string
		pid        int
		lat        []time.Duration
		errs       int64
		elapsed    time.Duration
		cpu        time.Duration
	}
	servers := []*server{
		{name: "serve", addr: benchEnv.serveURL, pid: benchEnv.serve.Process.Pid},
		{name: "index", addr: benchEnv.indexURL, pid: benchEnv.index.Process.Pid},
	}
	if benchEnv.nginxURL != "" {
		servers = append(servers, &server{name: "nginx", addr: benchEnv.nginxURL, pid: benchEnv.nginx.Process.Pid})
	} else {
		b.Log("nginx is not installed (apt-get install -y nginx-light): measuring the larder servers alone")
	}
	for _, s := range servers {
		load(b, s.addr, paths, accept, max(len(paths), conns), conns) // warm up
	}
	total := max(b.N, benchMinRequests)
	b.ResetTimer()
	for r := range rounds {
		n := total / rounds
		if r == 0 {
			n += total % rounds
		}
		for _, s := range servers {
			cpu0 := cpuTime(s.pid)
			start := time.Now()
			lat, errs := load(b, s.addr, paths, accept, n, conns)
			s.elapsed += time.Since(start)
			s.cpu += cpuTime(s.pid) - cpu0
			s.lat = append(s.lat, lat...)
			s.errs += errs
		}
	}
	b.StopTimer()
	rps := map[string]float64{}
	for _, s := range servers {
		r, _, p99 := stats(s.lat, s.elapsed)
		rps[s.name] = r
		b.ReportMetric(r, s.name+"-req/s")
		b.ReportMetric(float64(p99.Microseconds()), s.name+"-p99-µs")
		if len(s.lat) > 0 {
			b.ReportMetric(float64(s.cpu.Microseconds())/float64(len(s.lat)), s.name+"-cpu-µs/req")
		}
		if s.errs > 0 {
			b.ReportMetric(float64(s.errs), s.name+"-errors")
			b.Errorf("%s: %d of %d requests failed", s.name, s.errs, total)
		}
	}
	if n := rps["nginx"]; n > 0 {
		b.ReportMetric(100*rps["serve"]/n, "serve/nginx-%")
		b.ReportMetric(100*rps["index"]/n, "index/nginx-%")
	}
}

// BenchmarkProjectPages compares project pages of a 1,000-project store:
// the same HTML bytes from larder serve and larder-index (negotiated) and
// nginx (static files). The goal, for every benchmark here: both larder
// servers at least at nginx's requests per second, with a p99 no worse.
func BenchmarkProjectPages(b *testing.B) {
	setupBench(b)
	compare(b, benchEnv.pages, "Accept: text/html")
}

// BenchmarkProjectPagesJSON measures the pages as pip 23 asks for them,
// from the larder servers (nginx serves no JSON; it is given the same header and
// answers HTML).
func BenchmarkProjectPagesJSON(b *testing.B) {
	setupBench(b)
	compare(b, benchEnv.pages, "Accept: application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01")
}

// BenchmarkFiles compares the store's wheels, 16 kB each.
func BenchmarkFiles(b *testing.B) {
	setupBench(b)
	compare(b, benchEnv.files, "Accept: */*")
}

// BenchmarkRSS reports larder-index's resident memory while serving the
// 1,000-project store, after a fixed load (b.N is ignored): every page in
// both forms four times and every file twice.
func BenchmarkRSS(b *testing.B) {
	setupBench(b)
	var errs int64
	for _, l := range []struct {
		paths  []string
		accept string
		n      int
	}{
		{benchEnv.pages, "Accept: text/html", len(benchEnv.pages) * 4},
		{benchEnv.pages, "Accept: application/vnd.pypi.simple.v1+json", len(benchEnv.pages) * 4},
		{benchEnv.files, "Accept: */*", len(benchEnv.files) * 2},
	} {
		_, e := load(b, benchEnv.indexURL, l.paths, l.accept, l.n, benchConcurrency)
		errs += e
	}
	if errs > 0 {
		b.Errorf("%d requests failed", errs)
	}
	rss, hwm := rssMB(benchEnv.index.Process.Pid)
	b.ReportMetric(rss, "RSS-MB")
	b.ReportMetric(hwm, "peak-RSS-MB")
	if rss > 30 {
		b.Errorf("larder-index uses %.1f MB serving %d projects, over the 30 MB goal", rss, benchProjects)
	}
}
