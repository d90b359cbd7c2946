package serve

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/larder-build/larder/internal/pypitest"
)

// TestAClientThatStopsReadingIsCut: a client that asks for a file and
// never reads it does not hold its connection, its handler and the open
// file (or the upstream's download) for ever: once the server's writes
// have made no progress for the write idle timeout, the connection is
// closed, and the client, reading at last, gets less than the file. The
// client waits ten times the timeout, not four: the server must first
// fill the buffers between the two ends (for a fall-through download,
// as it reads the upstream and writes its cache), and on a loaded
// machine that took longer than the 1.5 s four times left, so that the
// client read the whole file.
func TestAClientThatStopsReadingIsCut(t *testing.T) {
	t.Parallel()
	const idle = 500 * time.Millisecond
	const size = 32 << 20 // more than the kernel buffers between the two ends
	for _, c := range []struct {
		name  string
		start func(t *testing.T) (base string, f *pypitest.File, cache string)
	}{
		{"a stored upload", func(t *testing.T) (string, *pypitest.File, string) {
			_, _, base := uploadServer(t, withWriteIdleTimeout(idle))
			w := projectWheel(t, "acme-tools", "1.0", size)
			mustUpload(t, base, w, "alice", "pw")
			return base, w, ""
		}},
		{"a fall-through download", func(t *testing.T) (string, *pypitest.File, string) {
			p := pypitest.Project{Name: "big-thing", Releases: []pypitest.Release{{Version: "1.0",
				Wheels: []pypitest.Wheel{{Tags: "py3-none-any", Size: size}}}}}
			up := pypitest.Start(t, &pypitest.Index{Projects: []pypitest.Project{p}})
			st, _ := smallStore(t)
			cache := t.TempDir()
			_, base := startServer(t, st, WithUpstream(up.URL()), WithCacheDir(cache), withWriteIdleTimeout(idle))
			// The 32 MiB wheel is built before the page's timeout runs:
			// built for the page, it took longer on a loaded machine,
			// and the page was a 404.
			f := filesOf(t, up, nil, "big-thing")[0]
			pageOf(t, base, "big-thing")
			return base, f, cache
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			base, f, cache := c.start(t)
			conn, err := net.Dial("tcp", base[len("http://"):])
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			fmt.Fprintf(conn, "GET /files/%s HTTP/1.1\r\nHost: x\r\n\r\n", f.Filename)
			const stopped = 10 * idle
			time.Sleep(stopped)
			conn.SetReadDeadline(time.Now().Add(30 * time.Second))
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatal(err)
			}
			n, err := io.Copy(io.Discard, resp.Body)
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatalf("reading the download: %v after %d bytes", err, n)
			}
			if err == nil || n >= int64(f.Size) {
				t.Errorf("a client that stopped reading for %v got %d of %d bytes (%v); want the download cut", stopped, n, f.Size, err)
			}
			if cache != "" {
				// The handler ended: its temporary file is gone, and
				// nothing was kept of a download the client did not
				// take whole.
				cacheEmptied(t, cache)
			}
		})
	}
}

// TestAFallThroughDownloadThatTricklesIsCut: an upstream that sends a
// file a byte at a time, never idle for the read timeout, is cut once the
// download has run that long averaging under the watchdog's rate; the
// client's download is cut and nothing is kept.
func TestAFallThroughDownloadThatTricklesIsCut(t *testing.T) {
	const idle = 300 * time.Millisecond
	p := pypitest.Project{Name: "slow-thing", Releases: []pypitest.Release{{Version: "1.0",
		Wheels: []pypitest.Wheel{{Tags: "py3-none-any", Size: 100_000}}}}}
	fake := pypitest.New(&pypitest.Index{Projects: []pypitest.Project{p}})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, ".whl") {
			fake.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		fake.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		for i := range body {
			select {
			case <-r.Context().Done():
				return
			case <-time.After(20 * time.Millisecond):
			}
			w.Write(body[i : i+1])
			w.(http.Flusher).Flush()
		}
	}))
	defer up.Close()
	st, _ := smallStore(t)
	cache := t.TempDir()
	_, base := startServer(t, st, WithUpstream(up.URL+"/simple/"), WithCacheDir(cache), withReadIdleTimeout(idle))
	page := pageOf(t, base, "slow-thing")
	if len(page.Files) != 1 {
		t.Fatalf("page lists %d files", len(page.Files))
	}
	start := time.Now()
	client := &http.Client{Timeout: 20 * time.Second}
	resp, err := client.Get(base + "/files/" + page.Files[0]["filename"].(string))
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("the download was not cut: %v after %d bytes", err, n)
	}
	if err == nil {
		t.Errorf("a trickled download ended whole (%d bytes); want it cut", n)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("cut after %v; want soon after %v", took, idle)
	}
	cacheEmptied(t, cache)
}

// cacheEmptied waits (at most 10 s) for a fall-through cache to hold no
// file, hidden temporary ones included: the handler has ended and kept
// nothing.
func cacheEmptied(t *testing.T, cache string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		left, _ := filepath.Glob(filepath.Join(cache, "files", "*"))
		hidden, _ := filepath.Glob(filepath.Join(cache, "files", ".*"))
		if len(left)+len(hidden) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("files left in the cache: %v %v", left, hidden)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestAFallThroughDownloadIsNotCutWhileItsClientPauses: the upstream's
// idle cut counts the time spent waiting on the upstream only: a client
// that pauses for longer than the read idle time, but within the write
// idle time, while the upstream has its next bytes ready, gets the whole
// file (the relay was cut as idle while it waited on the client). The
// read idle time is a second, roomy against the upstream's reads on a
// loaded machine, and the pause twice that.
func TestAFallThroughDownloadIsNotCutWhileItsClientPauses(t *testing.T) {
	t.Parallel()
	const readIdle = time.Second
	const size = 32 << 20 // more than the kernel buffers between the two ends
	p := pypitest.Project{Name: "big-thing", Releases: []pypitest.Release{{Version: "1.0",
		Wheels: []pypitest.Wheel{{Tags: "py3-none-any", Size: size}}}}}
	up := pypitest.Start(t, &pypitest.Index{Projects: []pypitest.Project{p}})
	st, _ := smallStore(t)
	_, base := startServer(t, st, WithUpstream(up.URL()), WithCacheDir(t.TempDir()),
		withReadIdleTimeout(readIdle), withWriteIdleTimeout(10*readIdle))
	f := filesOf(t, up, nil, "big-thing")[0] // built before the page's timeout runs
	pageOf(t, base, "big-thing")
	conn, err := net.Dial("tcp", base[len("http://"):])
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /files/%s HTTP/1.1\r\nHost: x\r\n\r\n", f.Filename)
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * readIdle) // the buffers fill; the server waits on this client
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil || n != int64(f.Size) {
		t.Errorf("a client that paused for %v got %d of %d bytes (%v); want the whole file", 2*readIdle, n, f.Size, err)
	}
}
