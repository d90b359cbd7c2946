package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The hostile upstream is this test binary run again with
// hostileModeEnv set: a process of its own, as a real upstream is, whose
// memory and connections are not the server's. It prints its address on
// the first line of stdout, then one line per connection it accepts.
const (
	hostileModeEnv = "LARDER_TEST_HOSTILE_UPSTREAM"
	hostileSizeEnv = "LARDER_TEST_HOSTILE_PAGE_BYTES"
	hostileSelfEnv = "LARDER_TEST_HOSTILE_SELF"
)

// maxRSS is what larder-index may take inside a container, whatever the
// upstream sends.
const maxRSS = 100 << 20

// runHostileUpstream serves as the hostile upstream mode says, until
// killed.
func runHostileUpstream(mode string) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	out := bufio.NewWriter(os.Stdout)
	var mu sync.Mutex
	say := func(s string) { mu.Lock(); out.WriteString(s + "\n"); out.Flush(); mu.Unlock() }
	say(ln.Addr().String())
	size, _ := strconv.Atoi(os.Getenv(hostileSizeEnv))
	self := os.Getenv(hostileSelfEnv)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		say("request")
		hostilePage(w, r, mode, size, self, ln.Addr().String())
	})}
	for {
		c, err := ln.Accept()
		if err != nil {
			return 1
		}
		say("accept")
		switch mode {
		case "reset":
			c.(*net.TCPConn).SetLinger(0)
			c.Close()
		case "hang":
			go func() { io.Copy(io.Discard, c) }() // never answers
		default:
			go srv.Serve(&oneConn{c: c})
		}
	}
}

// hostilePage answers a page request of the "pages" and "self" modes.
func hostilePage(w http.ResponseWriter, r *http.Request, mode string, size int, self, own string) {
	name, isPage := strings.CutPrefix(r.URL.Path, "/simple/")
	name = strings.TrimSuffix(name, "/")
	switch {
	case strings.HasPrefix(r.URL.Path, "/redirect/"):
		// A file on the upstream's own origin that redirects, hop after
		// hop, and finally to the server's own address.
		hop, file, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/redirect/"), "/")
		n, _ := strconv.Atoi(hop)
		if n >= 5 {
			http.Redirect(w, r, "http://"+self+"/files/"+file, http.StatusFound)
			return
		}
		http.Redirect(w, r, "/redirect/"+strconv.Itoa(n+1)+"/"+file, http.StatusFound)
		return
	case !isPage:
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/vnd.pypi.simple.v1+json")
	bw := bufio.NewWriterSize(w, 64<<10)
	defer bw.Flush()
	fmt.Fprintf(bw, `{"meta":{"api-version":"1.0"},"name":%q,"files":[`, name)
	if mode == "self" {
		// File URLs naming the server, however it is spelt.
		_, port, _ := net.SplitHostPort(self)
		hosts := []string{self, "localhost:" + port, "[::1]:" + port, "0.0.0.0:" + port, "127.0.0.2:" + port}
		for i := range 2000 {
			fmt.Fprintf(bw, `{"filename":"%s-%d.tar.gz","url":"http://%s/files/%s-%d.tar.gz"},`, name, i, hosts[i%len(hosts)], name, i)
		}
		fmt.Fprintf(bw, `{"filename":"%s-9999.tar.gz","url":"http://%s/redirect/0/%s-9999.tar.gz"}]}`, name, own, name)
		return
	}
	// The shortest valid entries, distinct, up to size bytes: the most
	// files a page of that size can list.
	written := 0
	for i := 0; written < size-64; i++ {
		n, _ := fmt.Fprintf(bw, `{"filename":"%s-%d.tar.gz","url":"%s-%d.tar.gz"},`, name, i, name, i)
		written += n
	}
	fmt.Fprintf(bw, `{"filename":"%s-0.zip","url":"%s-0.zip"}]}`, name, name)
}

// oneConn is a listener that yields one connection, so that the hostile
// upstream counts its accepts itself.
type oneConn struct {
	c    net.Conn
	done atomic.Bool
}

func (l *oneConn) Accept() (net.Conn, error) {
	if l.done.Swap(true) {
		select {} // http.Server keeps serving the connection it has
	}
	return l.c, nil
}
func (l *oneConn) Close() error   { return nil }
func (l *oneConn) Addr() net.Addr { return l.c.LocalAddr() }

// upstreamProc is a running hostile upstream and its count of accepted
// connections.
type upstreamProc struct {
	addr     string
	accepts  atomic.Int64
	requests atomic.Int64
}

func startHostileUpstream(t *testing.T, mode string, env ...string) *upstreamProc {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, self)
	cmd.Env = append(os.Environ(), append([]string{hostileModeEnv + "=" + mode}, env...)...)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); cmd.Wait() })
	up := &upstreamProc{}
	sc := bufio.NewScanner(stdout)
	if !sc.Scan() {
		t.Fatal("the hostile upstream did not start")
	}
	up.addr = sc.Text()
	go func() {
		for sc.Scan() {
			if sc.Text() == "accept" {
				up.accepts.Add(1)
			} else {
				up.requests.Add(1)
			}
		}
	}()
	return up
}

// peakRSS reads a process's high-water resident set size.
func peakRSS(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc status")
	return 0
}

// startAgainst runs larder-index serve against an upstream on addr.
func startAgainst(t *testing.T, addr, upstream string) *proc {
	t.Helper()
	return startServe(t, addr, "--config=", "--wheelhouse", testStore(t), "--upstream", "http://"+upstream+"/simple/",
		"--cache-dir", t.TempDir())
}

// getPages asks for pages, n at a time, and returns their status codes.
func getPages(t *testing.T, addr string, names []string, n int) map[string]int {
	t.Helper()
	client := &http.Client{Timeout: 2 * time.Minute}
	var mu sync.Mutex
	codes := map[string]int{}
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	for _, name := range names {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/simple/"+name+"/", nil)
			req.Header.Set("Accept", "application/vnd.pypi.simple.v1+json")
			code := 0
			if resp, err := client.Do(req); err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				code = resp.StatusCode
			}
			mu.Lock()
			codes[name] = code
			mu.Unlock()
		}()
	}
	wg.Wait()
	return codes
}

// TestIndexStaysUnder100MBWhateverTheUpstreamSends serves pages of the
// shortest valid entries from a real upstream process: six just under the
// old 64 MiB limit at once, and many distinct ones just under today's
// limit, so that the cache, the parses and the rendered pages all fill up.
func TestIndexStaysUnder100MBWhateverTheUpstreamSends(t *testing.T) {
	if testing.Short() {
		t.Skip("moves hundreds of MB through loopback")
	}
	cases := []struct {
		name     string
		size     int
		projects int
		parallel int
	}{
		{"six_pages_under_64MiB", 64<<20 - 1024, 6, 6},
		{"many_pages_under_16MiB", 16<<20 - 1024, 24, 6},
		// Pages the server keeps, just under its bound on a parsed page
		// (about 23,000 files each): they fill the page cache, and six
		// clients are written such pages at once.
		{"many_pages_kept", 1100 << 10, 24, 6},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			up := startHostileUpstream(t, "pages", hostileSizeEnv+"="+strconv.Itoa(c.size))
			addr := freeAddr(t)
			p := startAgainst(t, addr, up.addr)
			var names []string
			for i := range c.projects {
				names = append(names, fmt.Sprintf("huge%d", i))
			}
			start := time.Now()
			for round := range 2 {
				codes := getPages(t, addr, names, c.parallel)
				for n, code := range codes {
					if code != 200 && code != 404 {
						t.Errorf("round %d: %s answered %d", round, n, code)
					}
				}
			}
			rss := peakRSS(t, p.cmd.Process.Pid)
			h, err := health(addr)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: peak RSS %.1f MB after %d pages in %s; upstream accepts %d; stats %+v",
				c.name, float64(rss)/(1<<20), 2*c.projects, time.Since(start).Round(time.Millisecond), up.accepts.Load(), h.Stats)
			if rss > maxRSS {
				t.Errorf("peak RSS %d bytes, over %d", rss, maxRSS)
			}
			if h.Upstream.State != "ok" {
				t.Errorf("upstream state %q after pages it merely refused", h.Upstream.State)
			}
		})
	}
}

// TestIndexNeverFetchesFromItsOwnAddress lists files whose URLs name the
// server itself (as 127.0.0.1, localhost, [::1], 0.0.0.0, 127.0.0.2) and
// one on the upstream that redirects back to it: no request recurses, the
// upstream sees one connection per client request at most, and the
// breaker stays closed.
func TestIndexNeverFetchesFromItsOwnAddress(t *testing.T) {
	addr := freeAddr(t)
	up := startHostileUpstream(t, "self", hostileSelfEnv+"="+addr)
	p := startAgainst(t, addr, up.addr)
	client := &http.Client{Timeout: 30 * time.Second}
	get := func(path string) (int, string) {
		resp, err := client.Get("http://" + addr + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := get("/simple/loop/")
	if code != 200 {
		t.Fatalf("page: %d %s", code, body)
	}
	if strings.Contains(body, "loop-0.tar.gz") {
		t.Errorf("the page lists files on the server's own address")
	}
	requests := 1
	for _, f := range []string{"loop-0.tar.gz", "loop-1.tar.gz", "loop-2.tar.gz", "loop-3.tar.gz", "loop-4.tar.gz", "loop-9999.tar.gz"} {
		before := up.requests.Load()
		code, body := get("/files/" + f)
		requests++
		if code == 200 {
			t.Errorf("%s: served: %.80q", f, body)
		}
		// The file and at most three redirects.
		if n := up.requests.Load() - before; n > 4 {
			t.Errorf("%s: one client request cost %d upstream requests", f, n)
		}
	}
	rss := peakRSS(t, p.cmd.Process.Pid)
	h, err := health(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("self-referencing page: %d client requests, %d upstream requests on %d connections, peak RSS %.1f MB, stats %+v",
		requests, up.requests.Load(), up.accepts.Load(), float64(rss)/(1<<20), h.Stats)
	if n := up.requests.Load(); n > int64(4*requests) {
		t.Errorf("%d client requests cost %d upstream requests", requests, n)
	}
	if h.Upstream.State != "ok" {
		t.Errorf("the breaker opened for every project: %+v", h.Upstream)
	}
	if rss > maxRSS {
		t.Errorf("peak RSS %d bytes", rss)
	}
	if code, _ := get("/simple/other/"); code != 200 {
		t.Errorf("another project after the hostile page: %d", code)
	}
}

// TestBrokenUpstreamCostsOneConnectionAndOneProbeTimeout sends 40
// concurrent misses to a server whose upstream resets every connection,
// or accepts it and never answers: the upstream sees one connection, and
// together the 40 wait about one connect timeout (2 s), not a page
// timeout.
func TestBrokenUpstreamCostsOneConnectionAndOneProbeTimeout(t *testing.T) {
	for _, mode := range []string{"reset", "hang"} {
		t.Run(mode, func(t *testing.T) {
			up := startHostileUpstream(t, mode)
			addr := freeAddr(t)
			startAgainst(t, addr, up.addr)
			var names []string
			for i := range 40 {
				names = append(names, fmt.Sprintf("missing-%d", i))
			}
			names = append(names, "beta") // baked: answered from local files
			start := time.Now()
			codes := getPages(t, addr, names, len(names))
			took := time.Since(start)
			for n, code := range codes {
				if want := map[bool]int{true: 200, false: 404}[n == "beta"]; code != want {
					t.Errorf("%s: %d, want %d", n, code, want)
				}
			}
			h, err := health(addr)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: 41 concurrent pages in %s, %d upstream connections, state %s, stats %+v",
				mode, took.Round(time.Millisecond), up.accepts.Load(), h.Upstream.State, h.Stats)
			if n := up.accepts.Load(); n != 1 {
				t.Errorf("%d upstream connections, want 1", n)
			}
			if took > 4*time.Second {
				t.Errorf("41 pages took %s together, want about one connect timeout (2 s)", took)
			}
			if h.Upstream.State != "unreachable" {
				t.Errorf("upstream state %q", h.Upstream.State)
			}
		})
	}
}
