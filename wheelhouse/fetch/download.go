package fetch

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/larder-build/larder/internal/watchdog"
	"github.com/larder-build/larder/resolver/simple"
)

// progressStep is how many bytes pass between two Progress events of a
// file: often enough for a smooth line, rare enough to cost nothing.
const progressStep = 256 << 10

// MaxUnsizedDownload is the most bytes a download whose size the lock
// does not give (its size is optional in pylock.toml) may take: the
// largest wheels on PyPI are a few GB (CUDA builds of torch and its
// libraries), so 10 GiB holds any real file, while a server that sends
// a body without end can no longer fill the disk. A file the lock gives
// a size is held to that size exactly.
const MaxUnsizedDownload = 10 << 30

// ceiling is the most bytes the fetch takes for w: its size from the
// lock, or the ceiling of a file of unknown size.
func (f *fetcher) ceiling(w *want) int64 {
	if w.size > 0 {
		return w.size
	}
	return f.opts.maxUnsized
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 128<<10); return &b }}

// download gets a file from its URL into a temporary file, hashing while
// writing, then verifies, syncs and stores it.
func (f *fetcher) download(ctx context.Context, w *want) (err error) {
	tmp, err := f.createTemp()
	if err != nil {
		return fmt.Errorf("downloading %s: %w", w.name, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	f.emit(Event{File: w.name, Project: w.project, Version: w.version, State: Started, Via: ViaDownload, Total: w.size})
	h := sha256.New()
	d := &transfer{f: f, w: w, shown: simple.RedactURL(w.url), file: tmp, h: h}
	if err := d.run(ctx); err != nil {
		return err
	}
	if w.size > 0 && d.written != w.size {
		return fmt.Errorf("downloading %s: got %d bytes, the lock says %d", w.name, d.written, w.size)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != w.sha256 {
		return &HashError{File: w.name, Want: w.sha256, Got: got}
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("writing %s: %w", w.name, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", w.name, err)
	}
	if err := f.finish(tmp.Name(), w, d.written, true); err != nil {
		return err
	}
	f.count(func(r *Report) { r.Downloaded++; r.Bytes += d.written })
	f.emit(Event{File: w.name, Project: w.project, Version: w.version, State: Done, Via: ViaDownload, Bytes: d.written, Total: d.written})
	return nil
}

// transfer is the state of one file's download across attempts.
type transfer struct {
	f       *fetcher
	w       *want
	shown   string // w.url as errors show it: without a password
	file    *os.File
	h       hash.Hash
	written int64
	etag    string // strong validator of the bytes written so far
}

// retryable marks an attempt's failure as worth another try.
type retryable struct {
	err        error
	retryAfter time.Duration
}

func (r *retryable) Error() string { return r.err.Error() }
func (r *retryable) Unwrap() error { return r.err }

// run tries the download until it succeeds, fails for good, or runs out
// of retries, waiting longer after each failure.
func (d *transfer) run(ctx context.Context) error {
	retries := d.f.opts.retries
	for attempt := 0; ; attempt++ {
		err := d.attempt(ctx)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		var r *retryable
		if !errors.As(err, &r) {
			return fmt.Errorf("downloading %s: %w", d.w.name, err)
		}
		if attempt >= retries {
			if retries == 0 {
				return fmt.Errorf("downloading %s: %w", d.w.name, r.err)
			}
			return fmt.Errorf("downloading %s: giving up after %d attempts: %w", d.w.name, attempt+1, r.err)
		}
		d.f.count(func(r *Report) { r.Retries++ })
		wait := backoff(d.f.opts.backoff, attempt)
		if r.retryAfter > wait {
			wait = min(r.retryAfter, 30*time.Second)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return context.Cause(ctx)
		case <-t.C:
		}
	}
}

// backoff doubles the delay after each failure, with jitter so that many
// downloads failing together do not retry in lockstep.
func backoff(base time.Duration, attempt int) time.Duration {
	d := base << min(attempt, 6)
	d = min(d, 10*time.Second)
	return d/2 + rand.N(d/2+1)
}

// attempt makes one request, resuming with a Range request after a
// partial body when the server gave a strong ETag.
func (d *transfer) attempt(ctx context.Context) error {
	actx, cancel := context.WithCancelCause(withIndex(ctx, d.w.index))
	defer cancel(nil)
	req, err := http.NewRequestWithContext(actx, http.MethodGet, d.w.url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", "larder")
	d.f.opts.authorize(req)
	resume := d.written > 0 && d.etag != ""
	if resume {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", d.written))
		req.Header.Set("If-Range", d.etag)
	}
	resp, err := d.f.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &retryable{err: err}
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusOK:
		if d.written > 0 {
			if err := d.restart(); err != nil {
				return err
			}
		}
	case resp.StatusCode == http.StatusPartialContent && resume:
		if start, ok := contentRangeStart(resp.Header.Get("Content-Range")); !ok || start != d.written {
			d.etag = "" // the next attempt starts over
			return &retryable{err: fmt.Errorf("the server resumed at the wrong offset (%s)", resp.Header.Get("Content-Range"))}
		}
	default:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		se := &StatusError{URL: d.shown, Code: resp.StatusCode, Status: resp.Status}
		if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
			return &retryable{err: se, retryAfter: retryAfter(resp.Header.Get("Retry-After"))}
		}
		return se
	}
	if et := resp.Header.Get("ETag"); et != "" && !strings.HasPrefix(et, "W/") {
		d.etag = et
	} else if !resume {
		d.etag = ""
	}
	return d.copyBody(actx, cancel, resp.Body)
}

// restart drops a partial body when the server sent the whole file again.
func (d *transfer) restart() error {
	if _, err := d.file.Seek(0, io.SeekStart); err != nil {
		return err
	}
	if err := d.file.Truncate(0); err != nil {
		return err
	}
	d.h.Reset()
	d.written = 0
	return nil
}

// writeError marks a failure to write the temporary file (a full disk):
// never retried.
type writeError struct{ err error }

func (e *writeError) Error() string { return "writing: " + e.err.Error() }
func (e *writeError) Unwrap() error { return e.err }

// copyBody streams the body into the file and the hash. A body that sends
// nothing for the stall time is cancelled and retried; one that trickles
// (watchdog) is cut, and not retried.
func (d *transfer) copyBody(actx context.Context, cancel context.CancelCauseFunc, body io.Reader) error {
	wd := watchdog.Start(d.f.opts.stall, func() { cancel(watchdog.ErrStalled) })
	defer wd.Stop()
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	out := d.f.writer(d.file, d.h)
	var reported int64
	for {
		n, rerr := body.Read(buf)
		if err := wd.Arrived(n); err != nil && rerr == nil {
			return fmt.Errorf("GET %s: %w", d.shown, err)
		}
		if n > 0 {
			if _, err := out.Write(buf[:n]); err != nil {
				return &writeError{err: err}
			}
			d.written += int64(n)
			if d.w.size > 0 && d.written > d.w.size {
				return fmt.Errorf("the file is larger than the %d bytes the lock says", d.w.size)
			}
			if limit := d.f.ceiling(d.w); d.written > limit {
				return fmt.Errorf("GET %s: the lock gives no size for %s, and the body is larger than the %d bytes (%s) larder takes from a file of unknown size: cut; add the file's size to the lock if it is really that large", d.shown, d.w.name, limit, sizeWords(limit))
			}
			if d.written-reported >= progressStep {
				reported = d.written
				d.f.emit(Event{File: d.w.name, Project: d.w.project, Version: d.w.version, State: Progress, Via: ViaDownload, Bytes: d.written, Total: d.w.size})
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			if errors.Is(context.Cause(actx), watchdog.ErrStalled) {
				return &retryable{err: fmt.Errorf("GET %s: after %d bytes: %w", d.shown, d.written, watchdog.ErrStalled)}
			}
			if actx.Err() != nil {
				return actx.Err()
			}
			return &retryable{err: fmt.Errorf("after %d bytes: %w", d.written, rerr)}
		}
	}
	if d.w.size > 0 && d.written < d.w.size {
		return &retryable{err: fmt.Errorf("the body ended after %d of %d bytes", d.written, d.w.size)}
	}
	return nil
}

// sizeWords says a byte count in GiB or MiB, for a message.
func sizeWords(n int64) string {
	if n >= 1<<30 && n%(1<<30) == 0 {
		return fmt.Sprintf("%d GiB", n>>30)
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

// contentRangeStart reads the first byte position of "bytes N-M/T".
func contentRangeStart(s string) (int64, bool) {
	rest, ok := strings.CutPrefix(s, "bytes ")
	if !ok {
		return 0, false
	}
	start, _, ok := strings.Cut(rest, "-")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(start, 10, 64)
	return n, err == nil
}

// retryAfter reads a Retry-After header in seconds or as an HTTP date.
func retryAfter(s string) time.Duration {
	if s == "" {
		return 0
	}
	if n, err := strconv.Atoi(s); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(s); err == nil {
		return time.Until(t)
	}
	return 0
}
