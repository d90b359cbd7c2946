package serve

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// dialFrom opens a connection to addr from a loopback source address
// (Linux answers all of 127.0.0.0/8).
func dialFrom(t *testing.T, src, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// askRoot sends a GET of the root page on c and reads the answer's
// status, waiting at most wait.
func askRoot(c net.Conn, wait time.Duration) (int, error) { return askWithin(c, "/simple/", wait) }

// askWithin sends a GET of path on c and reads the answer's status,
// waiting at most wait.
func askWithin(c net.Conn, path string, wait time.Duration) (int, error) {
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path)
	c.SetReadDeadline(time.Now().Add(wait))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

func TestOneClientCannotTakeEveryConnection(t *testing.T) {
	st, _ := smallStore(t)
	s, base := startServer(t, st, WithOffline(true), withMaxConns(64, 8))
	addr := strings.TrimPrefix(base, "http://")
	var held []net.Conn
	for range 8 {
		held = append(held, dialFrom(t, "127.0.0.1", addr))
	}
	// Every held connection is accepted and served.
	if code, err := askRoot(held[0], 5*time.Second); err != nil || code != 200 {
		t.Fatalf("a connection within the share: %d, %v", code, err)
	}
	// The ninth of the same client is answered 503 with Retry-After.
	extra := dialFrom(t, "127.0.0.1", addr)
	extra.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(extra), nil)
	if err != nil {
		t.Fatalf("the connection over the share: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || !strings.Contains(string(body), "too many connections") {
		t.Errorf("over the share: %d %v %q", resp.StatusCode, resp.Header, body)
	}
	if n := s.Stats().ConnsRefused; n != 1 {
		t.Errorf("ConnsRefused = %d, want 1", n)
	}
	other := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}).DialContext}}
	if resp, err := other.Get(base + "/metrics"); err != nil {
		t.Error(err)
	} else {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(b), "\nlarder_connections_refused_total 1\n") {
			t.Errorf("/metrics does not count the connection refused:\n%s", b)
		}
	}
	// Another client is served meanwhile.
	if code, err := askRoot(dialFrom(t, "127.0.0.2", addr), 5*time.Second); err != nil || code != 200 {
		t.Errorf("another client: %d, %v", code, err)
	}
	// A connection closed gives its place back.
	held[7].Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		code, err := askRoot(dialFrom(t, "127.0.0.1", addr), 5*time.Second)
		if err == nil && code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after one of its connections closed, the client still gets %d, %v", code, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestPastTheConnectionLimitNewConnectionsWaitForAFreeOne(t *testing.T) {
	st, _ := smallStore(t)
	_, base := startServer(t, st, WithOffline(true), withMaxConns(4, 4))
	addr := strings.TrimPrefix(base, "http://")
	var held []net.Conn
	for i := range 4 {
		c := dialFrom(t, fmt.Sprintf("127.0.0.%d", 2+i), addr)
		if code, err := askRoot(c, 5*time.Second); err != nil || code != 200 {
			t.Fatalf("connection %d: %d, %v", i, code, err)
		}
		held = append(held, c)
	}
	// The fifth waits in the backlog: no answer while four are open.
	waiting := dialFrom(t, "127.0.0.9", addr)
	if code, err := askRoot(waiting, 300*time.Millisecond); err == nil {
		t.Fatalf("a fifth connection was served (%d) past a limit of four", code)
	}
	held[0].Close()
	waiting.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(waiting), nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("once a connection closed, the waiting one got %v, %v", resp, err)
	}
	resp.Body.Close()
}

func TestTheServerShutsDownWhileAcceptWaitsForASlot(t *testing.T) {
	st, _ := smallStore(t)
	s, err := New(st, WithOffline(true), withMaxConns(1, 1))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	c := dialFrom(t, "127.0.0.1", ln.Addr().String())
	if code, err := askRoot(c, 5*time.Second); err != nil || code != 200 {
		t.Fatalf("%d, %v", code, err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(shutdownGrace + 5*time.Second):
		t.Fatal("Serve did not return")
	}
}
