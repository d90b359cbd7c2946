package serve

import (
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Limits on connections. Every open connection costs a goroutine and its
// buffers (about 15 kB), and larder-index runs in containers with little
// memory: without a bound, one host opening idle connections by the tens
// of thousands would exhaust it.
const (
	// maxConns bounds the connections open at once; past it the server
	// accepts no more until one closes (new ones wait in the kernel's
	// backlog); idle ones are closed after two minutes.
	maxConns = 4096
	// maxClientConns bounds the connections one client (a host, or an
	// IPv6 /64) has open at once, so that one client cannot take every
	// slot: far more than pip (10) or uv (50) opens, and room for a few
	// CI jobs behind one address. Past it a new connection is answered
	// 503 with Retry-After, which pip and uv retry, and closed.
	maxClientConns = 512
)

// limitConns bounds ln's connections to total at once and perClient for
// any one client, counting the connections refused into refused.
func limitConns(ln net.Listener, total, perClient int, refused *atomic.Int64) *connLimit {
	return &connLimit{Listener: ln, slots: make(chan struct{}, total), done: make(chan struct{}), perClient: perClient, open: map[string]int{}, refused: refused}
}

// connLimit is a listener whose connections are counted.
type connLimit struct {
	net.Listener
	slots     chan struct{}
	done      chan struct{}
	closeOnce sync.Once
	perClient int

	refused *atomic.Int64

	mu   sync.Mutex
	open map[string]int
}

// Accept waits for a free slot, then for a connection; a connection of
// a client that has its share open is answered 503 and closed.
func (l *connLimit) Accept() (net.Conn, error) {
	for {
		select {
		case l.slots <- struct{}{}:
		case <-l.done:
			return nil, net.ErrClosed
		}
		c, err := l.Listener.Accept()
		if err != nil {
			<-l.slots
			return nil, err
		}
		key := clientKey(c.RemoteAddr().String())
		l.mu.Lock()
		full := l.open[key] >= l.perClient
		if !full {
			l.open[key]++
		}
		l.mu.Unlock()
		if full {
			<-l.slots
			l.refused.Add(1)
			go refuseConn(c)
			continue
		}
		return &countedConn{Conn: c, l: l, key: key}, nil
	}
}

// Close stops Accept, even one waiting for a slot.
func (l *connLimit) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return l.Listener.Close()
}

// refuseConn answers a connection over its client's share and closes it,
// spending at most a second on it.
func refuseConn(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	const body = "too many connections from this address\n"
	c.Write([]byte("HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nConnection: close\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body))
}

// countedConn gives its slot back once closed.
type countedConn struct {
	net.Conn
	l    *connLimit
	key  string
	once sync.Once
}

// ReadFrom is the TCP connection's: net/http sends files with sendfile
// only through a connection's ReadFrom.
func (c *countedConn) ReadFrom(r io.Reader) (int64, error) {
	if rf, ok := c.Conn.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(writerOnly{c.Conn}, r)
}

// CloseWrite is the TCP connection's: net/http half-closes a connection
// whose request body it leaves unread (an answer before a large upload's
// end), so that the client reads the answer's end rather than a reset;
// hidden behind the wrapper, the half close was skipped.
func (c *countedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// writerOnly hides a writer's ReadFrom from io.Copy.
type writerOnly struct{ io.Writer }

// unwrapConn returns the connection a countedConn counts.
func unwrapConn(c net.Conn) net.Conn {
	if cc, ok := c.(*countedConn); ok {
		return cc.Conn
	}
	return c
}

func (c *countedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		c.l.mu.Lock()
		if c.l.open[c.key]--; c.l.open[c.key] <= 0 {
			delete(c.l.open, c.key)
		}
		c.l.mu.Unlock()
		<-c.l.slots
	})
	return err
}
