package regtransport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/larder-build/larder/internal/watchdog"
)

// How long and how much a registry may take (see the package doc).
const (
	// AnswerTimeout bounds the wait for the headers of an answer.
	AnswerTimeout = 60 * time.Second
	// IdleTimeout cuts a body, either way, that moves nothing this long.
	IdleTimeout = 60 * time.Second
	// maxInFlight is the most of an upload the network may still hold
	// when the transport has read the body's end (the kernel's send
	// buffer grows to 4 MiB), and DrainPerMiB how long a MiB of it may
	// take to reach the registry (32 KiB/s): the wait for the answer
	// starts after that, or a slow link's push is cut while its last
	// bytes are still on their way.
	maxInFlight = 4 << 20
	DrainPerMiB = 32 * time.Second
	// MaxManifestBytes bounds a manifest read (the registry's own limit
	// on a manifest pushed is 4 MiB; a wheelhouse of 10,000 files is
	// about 5 MiB).
	MaxManifestBytes = 16 << 20
	// MaxTagPageBytes bounds one page of a tag list.
	MaxTagPageBytes = 16 << 20
)

// Timeouts are the bounds in time of a transport's requests.
type Timeouts struct {
	// Answer bounds the wait for an answer's headers.
	Answer time.Duration
	// Idle cuts a request's or an answer's body that moves nothing
	// this long.
	Idle time.Duration
	// DrainPerMiB is how long a MiB of an upload still in flight may
	// take to arrive before the wait for the answer starts.
	DrainPerMiB time.Duration
}

// Default are the bounds of every registry request larder sends.
var Default = Timeouts{Answer: AnswerTimeout, Idle: IdleTimeout, DrainPerMiB: DrainPerMiB}

// Shortened is Default with shorter answer and idle bounds, for tests:
// the time allowed for an upload's bytes in flight is shortened as the
// answer's.
func Shortened(answer, idle time.Duration) Timeouts {
	drain := time.Duration(float64(DrainPerMiB) * float64(answer) / float64(AnswerTimeout))
	return Timeouts{Answer: answer, Idle: idle, DrainPerMiB: drain}
}

// TimeoutError is a request to the registry that got no answer, or no
// byte of its answer's body, in time, or whose body the registry stopped
// taking.
type TimeoutError struct {
	Method, URL string
	Waited      time.Duration
	Body        bool // the headers came, the body stalled
	Upload      bool // the registry stopped taking the request's body
}

// Error says what was waited for, and how long.
func (e *TimeoutError) Error() string {
	what := "no answer from the registry"
	switch {
	case e.Body:
		what = "no byte of the answer from the registry"
	case e.Upload:
		what = "no byte of the upload taken by the registry"
	}
	return fmt.Sprintf("%s %s: %s in %v", e.Method, e.URL, what, e.Waited.Round(time.Millisecond))
}

// TooLargeError is a registry answer longer than larder reads of its
// kind.
type TooLargeError struct {
	URL string
	Max int64
}

// Error names the URL and the bound.
func (e *TooLargeError) Error() string {
	return fmt.Sprintf("%s: the registry's answer is longer than the %d bytes read of it", e.URL, e.Max)
}

// New bounds every request sent through next (the token exchange
// included) in time, and manifests and tag lists in size.
func New(next http.RoundTripper, t Timeouts) http.RoundTripper {
	return &bounded{next: next, t: t}
}

// bounded is New's transport.
type bounded struct {
	next http.RoundTripper
	t    Timeouts
}

// bodyLimit is how much of an answer to path is read: manifests and tag
// lists are read whole into memory; blobs are streamed and bounded by
// their callers. The endpoints are told by their last segments
// (.../manifests/REFERENCE, .../tags/list): a repository's own name may
// hold a component "manifests", and its blobs are not manifests.
func bodyLimit(path string) int64 {
	dir, _, _ := cutLast(path)
	_, last, _ := cutLast(dir)
	switch {
	case last == "manifests":
		return MaxManifestBytes
	case strings.HasSuffix(path, "/tags/list"):
		return MaxTagPageBytes
	}
	return 0
}

// cutLast cuts s around its last slash.
func cutLast(s string) (before, after string, found bool) {
	i := strings.LastIndexByte(s, '/')
	if i < 0 {
		return "", s, false
	}
	return s[:i], s[i+1:], true
}

func (b *bounded) RoundTrip(r *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancelCause(r.Context())
	u := r.URL.Redacted()
	// The answer is waited for from the request's start, or from the end
	// of its body; a body the registry stops taking is cut after idle.
	st := &sendState{sending: r.Body != nil && r.Body != http.NoBody, waiting: b.t.Answer}
	first := b.t.Answer
	if st.sending {
		first = b.t.Idle
	}
	timer := time.AfterFunc(first, func() {
		st.mu.Lock()
		e := &TimeoutError{Method: r.Method, URL: u, Waited: st.waiting}
		if st.sending {
			e.Waited, e.Upload = b.t.Idle, true
		}
		st.mu.Unlock()
		cancel(e)
	})
	out := r.WithContext(ctx)
	if st.sending {
		send := func(rc io.ReadCloser) io.ReadCloser {
			return &sentBody{rc: rc, timer: timer, st: st, t: b.t, start: time.Now(), rate: watchdog.NewMeter(b.t.Idle)}
		}
		out.Body = send(r.Body)
		// A body the transport sends again (after a reused connection
		// broke) is watched as the first was: sending once more, with
		// the idle bound, not the answer's.
		if r.GetBody != nil {
			out.GetBody = func() (io.ReadCloser, error) {
				rc, err := r.GetBody()
				if err != nil {
					return nil, err
				}
				st.mu.Lock()
				if !st.answered {
					st.sending = true
					timer.Reset(b.t.Idle)
				}
				st.mu.Unlock()
				return send(rc), nil
			}
		}
	}
	resp, err := b.next.RoundTrip(out)
	st.mu.Lock()
	st.answered = true
	timer.Stop()
	st.mu.Unlock()
	if err != nil {
		var te *TimeoutError
		if cause := context.Cause(ctx); errors.As(cause, &te) {
			err = cause
		}
		cancel(nil)
		return nil, err
	}
	wb := &watchedBody{rc: resp.Body, ctx: ctx, cancel: cancel, limit: bodyLimit(r.URL.Path), method: r.Method, url: u}
	wb.wd = watchdog.Start(b.t.Idle, func() {
		cancel(&TimeoutError{Method: r.Method, URL: u, Waited: b.t.Idle, Body: true})
	})
	resp.Body = wb
	return resp, nil
}

// sendState is where a request is: sending its body, or answered; mu
// orders the timer's resets with the answer.
type sendState struct {
	mu                sync.Mutex
	sending, answered bool
	// waiting is how long the answer is waited for once the body is
	// sent: longer than Answer after an upload still in flight.
	waiting time.Duration
}

// sentBody is a request's body: every read the transport makes of it
// puts off the idle bound, and its end starts the wait for the answer,
// after the time the bytes still in flight may take to arrive.
type sentBody struct {
	rc    io.ReadCloser
	timer *time.Timer
	st    *sendState
	t     Timeouts
	start time.Time
	rate  watchdog.Meter
	ours  time.Duration // spent in rc's reads
	sent  int64
}

func (s *sentBody) Read(p []byte) (int, error) {
	before := time.Now()
	n, err := s.rc.Read(p)
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	s.sent += int64(n)
	// A registry that takes the upload a byte at a time, never idle for
	// long, is cut too; the time spent waiting on the caller's reader (a
	// slow disk, a pipe) is not the registry's.
	s.ours += time.Since(before)
	if werr := s.rate.Add(int64(n), time.Since(s.start)-s.ours); werr != nil && err == nil && s.st.sending {
		return n, werr
	}
	switch {
	case s.st.answered:
		// The transport may still send the rest of a body the registry
		// answered before taking: the answer's body has its own bound.
	case err == io.EOF:
		s.st.sending = false
		s.st.waiting = s.t.Answer + s.t.DrainPerMiB*time.Duration(min(s.sent, maxInFlight))/(1<<20)
		s.timer.Reset(s.st.waiting)
	case n > 0:
		s.timer.Reset(s.t.Idle)
	}
	return n, err
}

func (s *sentBody) Close() error { return s.rc.Close() }

// watchedBody is an answer's body cut when it sends nothing for idle,
// when it trickles (watchdog), or past limit bytes (when limit > 0).
type watchedBody struct {
	rc          io.ReadCloser
	ctx         context.Context
	cancel      context.CancelCauseFunc
	wd          *watchdog.Watch
	limit       int64
	n           int64
	method, url string
}

func (w *watchedBody) Read(p []byte) (int, error) {
	n, err := w.rc.Read(p)
	w.n += int64(n)
	if w.limit > 0 && w.n > w.limit {
		w.cancel(nil)
		return 0, &TooLargeError{URL: w.url, Max: w.limit}
	}
	if werr := w.wd.Arrived(n); werr != nil && err == nil {
		w.cancel(nil)
		return n, fmt.Errorf("%s %s: %w", w.method, w.url, werr)
	}
	if err != nil && err != io.EOF {
		var te *TimeoutError
		if cause := context.Cause(w.ctx); errors.As(cause, &te) {
			err = cause
		}
	}
	return n, err
}

func (w *watchedBody) Close() error {
	w.wd.Stop()
	err := w.rc.Close()
	w.cancel(nil)
	return err
}
