package serve

import (
	"bytes"
	"context"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// slowCache is a fall-through cache's file whose every write takes
// delay, as on a disk that is busy.
type slowCache struct {
	bytes.Buffer
	delay time.Duration
}

func (c *slowCache) Write(p []byte) (int, error) {
	time.Sleep(c.delay)
	return c.Buffer.Write(p)
}

// TestASlowCacheWriteDoesNotCountAgainstTheUpstreamsIdleBound relays a
// download whose upstream sends each 64 KiB at once into a cache whose
// every write takes three times the read idle timeout: only the time
// spent waiting on the upstream counts, so the download is never cut,
// and the client and the cache get it whole. The read idle timeout is
// 0.5 s, not tens of milliseconds: the relay's own work between two
// reads must fit in it, and on a loaded machine a goroutine can wait
// hundreds of milliseconds to run.
func TestASlowCacheWriteDoesNotCountAgainstTheUpstreamsIdleBound(t *testing.T) {
	t.Parallel()
	const readIdle = 500 * time.Millisecond
	st, _ := smallStore(t)
	s, err := New(st, WithOffline(true), withReadIdleTimeout(readIdle))
	if err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 2*64<<10)
	rand.Read(data)
	var cuts atomic.Int32
	cache := &slowCache{delay: 3 * readIdle}
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodGet, "/files/x-1.0-py3-none-any.whl", nil)
	n, cached, whole := s.relay(w, r, bytes.NewReader(data), func() { cuts.Add(1) }, cache, "x-1.0-py3-none-any.whl", sha256Of(data), int64(len(data)))
	if c := cuts.Load(); c != 0 {
		t.Errorf("the relay was cut as idle %d times while it wrote to the cache", c)
	}
	if n != int64(len(data)) || !cached || !whole {
		t.Errorf("relayed %d of %d bytes, cached %v, whole %v", n, len(data), cached, whole)
	}
	if !bytes.Equal(w.Body.Bytes(), data) || !bytes.Equal(cache.Bytes(), data) {
		t.Errorf("the client got %d bytes, the cache %d; want the %d sent", w.Body.Len(), cache.Len(), len(data))
	}
}

// stallingBody sends its first 64 KiB, then stalls until cut.
type stallingBody struct {
	sent bool
	cut  chan struct{}
}

func (b *stallingBody) Read(p []byte) (int, error) {
	if !b.sent {
		b.sent = true
		return len(p), nil
	}
	<-b.cut
	return 0, context.Canceled
}

// TestAFallThroughDownloadThatStallsIsCutOnceIdle: the idle cut runs
// while the upstream is read, so an upstream that stops sending is cut
// after the read idle timeout, and the client's download with it.
func TestAFallThroughDownloadThatStallsIsCutOnceIdle(t *testing.T) {
	const readIdle = 50 * time.Millisecond
	st, _ := smallStore(t)
	s, err := New(st, WithOffline(true), withReadIdleTimeout(readIdle))
	if err != nil {
		t.Fatal(err)
	}
	body := &stallingBody{cut: make(chan struct{})}
	var once sync.Once
	cancel := func() { once.Do(func() { close(body.cut) }) }
	r := httptest.NewRequest(http.MethodGet, "/files/x-1.0-py3-none-any.whl", nil)
	start := time.Now()
	defer func() {
		if p := recover(); p != http.ErrAbortHandler {
			t.Errorf("relay ended with %v, want the client's download cut", p)
		}
		if took := time.Since(start); took < readIdle || took > readIdle+5*time.Second {
			t.Errorf("cut after %v, want after the read idle timeout of %v", took, readIdle)
		}
	}()
	s.relay(httptest.NewRecorder(), r, body, cancel, nil, "x-1.0-py3-none-any.whl", "", -1)
}
