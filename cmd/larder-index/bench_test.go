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

// The benchmarks run larder-index (built by TestMain) and, when installed,
// Debian's nginx on the same store over loopback, with a Go load generator
// of benchConcurrency keep-alive connections and b.N requests per server:
//
//	go test -run '^$' -bench . -benchtime=200000x ./cmd/larder-index/
//
// The benchmark store: benchProjects projects of two releases each, one
// wheel of benchWheelSize bytes per release.
const (
	benchProjects    = 1000
	benchWheelSize   = 16 << 10
	benchConcurrency = 32
)

// benchEnv is the store, its static layout and the two servers, made once
// per test binary and torn down by TestMain.
var benchEnv struct {
	once     sync.Once
	err      error
	dir      string
	pages    []string // /simple/<name>/
	files    []string // /files/<filename>
	index    *exec.Cmd
	indexURL string
	nginx    *exec.Cmd
	nginxURL string
}

func stopBenchEnv() {
	// SIGQUIT is nginx's graceful shutdown, which takes its workers down
	// too; killing the master would orphan them.
	for _, c := range []*exec.Cmd{benchEnv.index, benchEnv.nginx} {
		if c != nil && c.Process != nil {
			c.Process.Signal(syscall.SIGQUIT)
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
	benchEnv.index.Stderr = os.Stderr
	benchEnv.index.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := benchEnv.index.Start(); err != nil {
		return err
	}
	benchEnv.indexURL = addr
	if err := waitListening(addr); err != nil {
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
// connections and returns the latencies. It parses just enough HTTP/1.1
// (status line, Content-Length) to stay light next to the servers.
func load(b *testing.B, addr string, paths []string, accept string, n, conc int) []time.Duration {
	b.Helper()
	lat := make([]time.Duration, n)
	var next atomic.Int64
	var failed atomic.Value
	var wg sync.WaitGroup
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				failed.Store(err)
				return
			}
			defer conn.Close()
			r := bufio.NewReaderSize(conn, 64<<10)
			var req []byte
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				req = append(req[:0], "GET "...)
				req = append(req, paths[i%len(paths)]...)
				req = append(req, " HTTP/1.1\r\nHost: bench\r\nUser-Agent: pip/23.2.1\r\nAccept-Encoding: identity\r\n"...)
				req = append(req, accept...)
				req = append(req, "\r\n\r\n"...)
				start := time.Now()
				if _, err := conn.Write(req); err != nil {
					failed.Store(err)
					return
				}
				if err := readResponse(r); err != nil {
					failed.Store(fmt.Errorf("%s: %w", paths[i%len(paths)], err))
					return
				}
				lat[i] = time.Since(start)
			}
		}()
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
	return lat
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
// take turns, so that a burst of other work on the machine hits both.
const rounds = 10

// compare sends b.N requests to each server (larder-index, then nginx when
// installed), interleaved in rounds, and reports each one's requests per
// second and latencies, and larder-index's share of nginx's throughput.
func compare(b *testing.B, paths []string, accept string) {
	setupBench(b)
	type server struct {
		name, addr string
		lat        []time.Duration
		elapsed    time.Duration
	}
	servers := []*server{{name: "larder", addr: benchEnv.indexURL}}
	if benchEnv.nginxURL != "" {
		servers = append(servers, &server{name: "nginx", addr: benchEnv.nginxURL})
	} else {
		b.Log("nginx is not installed (apt-get install -y nginx-light): measuring larder-index alone")
	}
	for _, s := range servers {
		load(b, s.addr, paths, accept, len(paths), benchConcurrency) // warm up
	}
	b.ResetTimer()
	for r := range rounds {
		n := b.N/rounds + map[bool]int{true: b.N % rounds}[r == 0]
		for _, s := range servers {
			start := time.Now()
			s.lat = append(s.lat, load(b, s.addr, paths, accept, n, benchConcurrency)...)
			s.elapsed += time.Since(start)
		}
	}
	b.StopTimer()
	var rps []float64
	for _, s := range servers {
		r, p50, p99 := stats(s.lat, s.elapsed)
		rps = append(rps, r)
		b.ReportMetric(r, s.name+"-req/s")
		b.ReportMetric(float64(p50.Microseconds()), s.name+"-p50-µs")
		b.ReportMetric(float64(p99.Microseconds()), s.name+"-p99-µs")
	}
	if len(rps) == 2 {
		b.ReportMetric(100*rps[0]/rps[1], "larder/nginx-%")
	}
	rss, _ := rssMB(benchEnv.index.Process.Pid)
	b.ReportMetric(rss, "larder-RSS-MB")
}

// BenchmarkProjectPages compares project pages of a 1,000-project store:
// the same HTML bytes from larder-index (negotiated) and nginx (static
// files). The goal is at least 90% of nginx's requests per second.
func BenchmarkProjectPages(b *testing.B) {
	setupBench(b)
	compare(b, benchEnv.pages, "Accept: text/html")
}

// BenchmarkProjectPagesJSON measures the pages as pip 23 asks for them,
// from larder-index (nginx serves no JSON; it is given the same header and
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
	load(b, benchEnv.indexURL, benchEnv.pages, "Accept: text/html", len(benchEnv.pages)*4, benchConcurrency)
	load(b, benchEnv.indexURL, benchEnv.pages, "Accept: application/vnd.pypi.simple.v1+json", len(benchEnv.pages)*4, benchConcurrency)
	load(b, benchEnv.indexURL, benchEnv.files, "Accept: */*", len(benchEnv.files)*2, benchConcurrency)
	rss, hwm := rssMB(benchEnv.index.Process.Pid)
	b.ReportMetric(rss, "RSS-MB")
	b.ReportMetric(hwm, "peak-RSS-MB")
	if rss > 30 {
		b.Errorf("larder-index uses %.1f MB serving %d projects, over the 30 MB goal", rss, benchProjects)
	}
}
