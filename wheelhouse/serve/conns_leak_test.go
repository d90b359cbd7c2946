package serve

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// slotsInUse is how many slots l holds and how many clients it counts.
func (l *connLimit) slotsInUse() (int, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.slots), len(l.open)
}

// waitForNoSlots waits until every slot of l has come back but the
// accepting one: Accept takes a slot before it waits for a connection
// (want 1), and gives it back once the listener is closed (want 0).
func waitForNoSlots(t *testing.T, l *connLimit, want int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		slots, clients := l.slotsInUse()
		if slots == want && clients == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d slots held and %d clients counted after every connection ended", slots, clients)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// limitedServer serves h on a loopback listener bounded by limitConns.
func limitedServer(t *testing.T, network, addr string, total, perClient int, h http.Handler) (*http.Server, *connLimit, *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Skipf("cannot listen on %s: %v", addr, err)
	}
	var refused atomic.Int64
	l := limitConns(ln, total, perClient, &refused)
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 200 * time.Millisecond, IdleTimeout: 2 * time.Minute,
		ErrorLog: log.New(io.Discard, "", 0)}
	done := make(chan struct{})
	go func() { hs.Serve(l); close(done) }()
	t.Cleanup(func() { hs.Close(); <-done })
	return hs, l, &refused
}

// TestEveryConnectionGivesItsSlotBack: however a connection ends, its
// slot and its client's count come back, exactly once.
func TestEveryConnectionGivesItsSlotBack(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	mux.HandleFunc("/abort", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("partial"))
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler)
	})
	mux.HandleFunc("/hijack", func(w http.ResponseWriter, r *http.Request) {
		c, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
		c.Close()
		c.Close() // a second close gives nothing back twice
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	for _, tc := range []struct {
		name string
		use  func(t *testing.T, c net.Conn)
	}{
		{"closed by the peer before a byte", func(t *testing.T, c net.Conn) { c.Close() }},
		{"closed by the peer after an answer", func(t *testing.T, c net.Conn) {
			if code, err := askPath(c, "/ok"); err != nil || code != 200 {
				t.Errorf("%d, %v", code, err)
			}
			c.Close()
		}},
		{"closed by the peer in the middle of a request", func(t *testing.T, c net.Conn) {
			io.WriteString(c, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
			time.Sleep(50 * time.Millisecond)
			c.Close()
		}},
		{"headers never finished (ReadHeaderTimeout)", func(t *testing.T, c net.Conn) {
			io.WriteString(c, "GET /ok HTTP/1.1\r\nHost: x\r\n")
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			io.Copy(io.Discard, c) // until the server closes it
		}},
		{"garbage instead of a request", func(t *testing.T, c net.Conn) {
			c.Write([]byte("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n"))
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			io.Copy(io.Discard, c)
		}},
		{"a handler that panics with ErrAbortHandler", func(t *testing.T, c net.Conn) {
			io.WriteString(c, "GET /abort HTTP/1.1\r\nHost: x\r\n\r\n")
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			io.Copy(io.Discard, c)
		}},
		{"hijacked and closed twice", func(t *testing.T, c net.Conn) {
			if code, err := askPath(c, "/hijack"); err != nil || code != 200 {
				t.Errorf("%d, %v", code, err)
			}
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			io.Copy(io.Discard, c)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, l, _ := limitedServer(t, "tcp", "127.0.0.1:0", 4, 2, mux)
			for range 3 { // more than the client's share, one after another
				c, err := net.DialTimeout("tcp", l.Addr().String(), 5*time.Second)
				if err != nil {
					t.Fatal(err)
				}
				tc.use(t, c)
				c.Close()
				waitForNoSlots(t, l, 1)
			}
		})
	}
}

// askPath sends a GET of path on c and reads the answer's status.
func askPath(c net.Conn, path string) (int, error) { return askWithin(c, path, 5*time.Second) }

// TestShutdownGivesEverySlotBack: Shutdown closes idle connections and
// waits for busy ones; each gives its slot back, and an Accept waiting
// for a slot returns.
func TestShutdownGivesEverySlotBack(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	mux.HandleFunc("/busy", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(300 * time.Millisecond)
		io.WriteString(w, "done")
	})
	hs, l, _ := limitedServer(t, "tcp", "127.0.0.1:0", 2, 2, mux)
	idle := dialFrom(t, "127.0.0.1", l.Addr().String())
	if code, err := askPath(idle, "/ok"); err != nil || code != 200 {
		t.Fatalf("%d, %v", code, err)
	}
	busy := dialFrom(t, "127.0.0.1", l.Addr().String())
	fmt.Fprintf(busy, "GET /busy HTTP/1.1\r\nHost: x\r\n\r\n")
	// Both slots are taken: Accept waits for one.
	dialFrom(t, "127.0.0.1", l.Addr().String())
	time.Sleep(100 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	busy.SetReadDeadline(time.Now().Add(5 * time.Second))
	if resp, err := http.ReadResponse(bufio.NewReader(busy), nil); err != nil || resp.StatusCode != 200 {
		t.Errorf("a request in flight at Shutdown: %v, %v", resp, err)
	}
	waitForNoSlots(t, l, 0)
}

// TestARefusedClientThatSentItsRequestReadsThe503: pip sends its request
// as soon as it connects; the 503 must reach it, not a reset that the
// unread request provokes when the refusal closes the connection.
func TestARefusedClientThatSentItsRequestReadsThe503(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	_, l, refused := limitedServer(t, "tcp", "127.0.0.1:0", 8, 1, mux)
	held := dialFrom(t, "127.0.0.1", l.Addr().String())
	if code, err := askPath(held, "/ok"); err != nil || code != 200 {
		t.Fatalf("%d, %v", code, err)
	}
	const tries = 200
	var resets []error
	for range tries {
		c, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		// A request with a body the refusal never reads, as an upload.
		fmt.Fprintf(c, "POST /ok HTTP/1.1\r\nHost: x\r\nContent-Length: 65536\r\n\r\n%s", strings.Repeat("x", 65536))
		code, err := func() (int, error) {
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				return 0, err
			}
			resp.Body.Close()
			return resp.StatusCode, nil
		}()
		c.Close()
		if err != nil {
			resets = append(resets, err)
			continue
		}
		if code != http.StatusServiceUnavailable {
			t.Fatalf("a connection over the share got %d", code)
		}
	}
	if len(resets) > 0 {
		t.Errorf("%d of %d refused clients that had sent a request read no 503: %v", len(resets), tries, errors.Join(resets[:min(3, len(resets))]...))
	}
	if n := refused.Load(); n != tries {
		t.Errorf("refused %d, want %d", n, tries)
	}
}

// TestADualStackListenerCountsAnIPv4ClientOnce: on a listener of both
// families, an IPv4 client (whose address the kernel gives as IPv4-mapped
// IPv6) is counted as its IPv4 address; ::1 is another client.
func TestADualStackListenerCountsAnIPv4ClientOnce(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, r.RemoteAddr) })
	_, l, refused := limitedServer(t, "tcp", "[::]:0", 8, 1, mux)
	_, port, _ := net.SplitHostPort(l.Addr().String())
	held, err := net.Dial("tcp4", net.JoinHostPort("127.0.0.1", port))
	if err != nil {
		t.Skipf("no IPv4 on the dual-stack listener: %v", err)
	}
	defer held.Close()
	if code, err := askPath(held, "/ok"); err != nil || code != 200 {
		t.Fatalf("%d, %v", code, err)
	}
	for _, tc := range []struct {
		network, host string
		want          int
	}{
		{"tcp4", "127.0.0.1", http.StatusServiceUnavailable},
		{"tcp6", "::1", http.StatusOK},
	} {
		c, err := net.DialTimeout(tc.network, net.JoinHostPort(tc.host, port), 5*time.Second)
		if err != nil {
			t.Logf("%s %s: %v (skipped)", tc.network, tc.host, err)
			continue
		}
		code, err := askPath(c, "/ok")
		c.Close()
		if err != nil || code != tc.want {
			t.Errorf("from %s: %d, %v; want %d", tc.host, code, err, tc.want)
		}
	}
	if refused.Load() == 0 {
		t.Error("no connection refused")
	}
}

func TestAClientIsItsHostAndAnIPv6ClientItsSlash64(t *testing.T) {
	for _, tc := range []struct{ a, b string }{
		{"127.0.0.1:1", "127.0.0.1:2"},
		{"[2001:db8::1]:1", "[2001:db8::ffff:ffff:ffff:ffff]:2"},
		{"[fe80::1%eth0]:1", "[fe80::2%eth1]:2"},
	} {
		if ka, kb := clientKey(tc.a), clientKey(tc.b); ka != kb {
			t.Errorf("%s is %q and %s is %q: want one client", tc.a, ka, tc.b, kb)
		}
	}
	for _, tc := range []struct{ a, b string }{
		{"127.0.0.1:1", "127.0.0.2:1"},
		{"[2001:db8::1]:1", "[2001:db8:0:1::1]:1"},
		{"[::ffff:192.0.2.1]:1", "[::ffff:192.0.2.2]:1"},
	} {
		if ka, kb := clientKey(tc.a), clientKey(tc.b); ka == kb {
			t.Errorf("%s and %s are both %q: want two clients", tc.a, tc.b, ka)
		}
	}
}

// TestConnectionsOpenedAndClosedAtOnceGiveEverySlotBack: clients of four
// addresses opening, using, dropping and being refused connections at
// once leave no slot held and no client counted.
func TestConnectionsOpenedAndClosedAtOnceGiveEverySlotBack(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	_, l, refused := limitedServer(t, "tcp", "127.0.0.1:0", 6, 2, mux)
	var served atomic.Int64
	done := make(chan struct{})
	for w := range 8 {
		go func() {
			defer func() { done <- struct{}{} }()
			d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(1+w%4))}, Timeout: 5 * time.Second}
			for i := range 40 {
				c, err := d.Dial("tcp", l.Addr().String())
				if err != nil {
					t.Error(err)
					return
				}
				switch i % 3 {
				case 0: // dropped at once
				case 1: // a request, answered 200 or 503
					if code, err := askPath(c, "/ok"); err == nil && code == 200 {
						served.Add(1)
					}
				case 2: // half a request, then dropped
					io.WriteString(c, "GET /ok HTTP/1.1\r\n")
				}
				c.Close()
			}
		}()
	}
	for range 8 {
		<-done
	}
	waitForNoSlots(t, l, 1)
	if served.Load() == 0 {
		t.Error("no request served")
	}
	t.Logf("%d served, %d refused", served.Load(), refused.Load())
}

// TestAnAnswerBeforeAnUnreadBodyEndsInAHalfClose: a server that answers
// without reading a large request body (a 413, a 401 to an upload) half
// closes the connection (CloseWrite) before it drops the body, so that
// the client sees the answer end cleanly rather than a reset; the
// counted connection must keep that of the TCP connection.
func TestAnAnswerBeforeAnUnreadBodyEndsInAHalfClose(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "too large", http.StatusRequestEntityTooLarge)
	})
	_, l, _ := limitedServer(t, "tcp", "127.0.0.1:0", 8, 8, h)
	c := dialFrom(t, "127.0.0.1", l.Addr().String())
	fmt.Fprintf(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", 64<<20)
	c.Write(make([]byte, 1<<20)) // more than the server drains (256 KiB)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d", resp.StatusCode)
	}
	// net/http half closes, waits 500 ms, then closes: the answer's
	// connection ends in an EOF. Without the half close it ends in a
	// reset, as the close drops the unread body. (The deadline is not
	// under the 500 ms: a loaded machine can delay the half close that
	// long, and the EOF tells the two apart.)
	start := time.Now()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = br.ReadByte()
	if err != io.EOF {
		t.Errorf("after the answer: %v after %v; want EOF (a half close)", err, time.Since(start).Round(time.Millisecond))
	}
}
