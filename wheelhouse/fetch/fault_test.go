package fetch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/larder-build/larder/internal/pypitest"
	"github.com/larder-build/larder/resolver/pylock"
	"github.com/larder-build/larder/wheelhouse"
)

var libWheel = pypitest.WheelFilename("lib", "2.0", "py3-none-any")
var bigWheel = pypitest.WheelFilename("Big_Pkg", "3.0", "py3-none-any")

// assertNothingKept checks that a failed file left no trace: nothing
// under its name, no temporary file, no entry.
func assertNothingKept(t *testing.T, s *wheelhouse.Store, name string) {
	t.Helper()
	if _, err := os.Stat(s.Path(name)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s exists under its real name after a failure (%v)", name, err)
	}
	if _, err := os.Stat(s.MetadataPath(name)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s.metadata exists after a failure", name)
	}
	if l := leftovers(t, s); len(l) > 0 {
		t.Errorf("temporary files left behind: %v", l)
	}
	if _, ok := reopen(t, s).Lookup(name); ok {
		t.Errorf("%s is in the manifest after a failure", name)
	}
}

func TestFetchRefusesAFileWhoseHashDiffersFromTheLock(t *testing.T) {
	srv, lock := lockIndex(t, smallIndex(), []string{"app"}, []string{amd64}, pypitest.WithWrongHash(libWheel))
	s := newStore(t)
	_, err := Fetch(context.Background(), s, lock, fastOptions()...)
	var he *HashError
	if !errors.As(err, &he) {
		t.Fatalf("error %v, want a *HashError", err)
	}
	files, _ := srv.Files("lib")
	var real string
	for _, f := range files {
		if f.Filename == libWheel {
			real = f.SHA256
		}
	}
	locked := ""
	for _, p := range lock.Packages {
		if p.Name == "lib" {
			locked = p.Wheels[0].Hashes["sha256"]
		}
	}
	for _, want := range []string{libWheel, real, locked} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	if srv.Requests("/files/"+libWheel) != 1 {
		t.Errorf("a wrong hash was retried: %v", srv.Counts())
	}
	assertNothingKept(t, s, libWheel)
}

func TestFetchRetriesFailuresThenReportsThemClearly(t *testing.T) {
	tests := []struct {
		name     string
		knob     func(srv *pypitest.Server)
		requests int    // for libWheel
		want     string // in the error
	}{
		{"a body truncated every time", func(srv *pypitest.Server) { srv.SetTruncate(libWheel, 100) }, 5, "giving up after 5 attempts"},
		{"a server error every time", func(srv *pypitest.Server) { srv.FailPath("/files/"+libWheel, pypitest.Fail500) }, 5, "500 Internal Server Error"},
		{"a connection reset every time", func(srv *pypitest.Server) { srv.FailPath("/files/"+libWheel, pypitest.FailReset) }, 5, "giving up after 5 attempts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, lock := lockIndex(t, smallIndex(), []string{"app"}, []string{amd64})
			tt.knob(srv)
			s := newStore(t)
			opts := fastOptions(WithJobs(1))
			_, err := Fetch(context.Background(), s, lock, opts...)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), libWheel) {
				t.Fatalf("error %v, want one naming %s and %q", err, libWheel, tt.want)
			}
			// Go's transport itself retries a GET once when a reused
			// connection resets before any answer.
			if n := srv.Requests("/files/" + libWheel); n < tt.requests || n > 2*tt.requests {
				t.Errorf("%d requests for the file, want %d", n, tt.requests)
			}
			assertNothingKept(t, s, libWheel)
		})
	}
}

func TestFetchRetriesTransientFailuresAndSucceeds(t *testing.T) {
	for _, mode := range []pypitest.FailMode{pypitest.Fail500, pypitest.FailReset} {
		t.Run(fmt.Sprint(mode), func(t *testing.T) {
			srv, lock := lockIndex(t, smallIndex(), []string{"app"}, []string{amd64})
			srv.FailRequest(1, mode)
			srv.FailRequest(2, mode)
			s := newStore(t)
			rep, err := Fetch(context.Background(), s, lock, fastOptions()...)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Retries != 2 || rep.Downloaded != 4 {
				t.Errorf("report %+v, want 2 retries and 4 downloads", rep)
			}
			mustVerifyClean(t, s, lock)
		})
	}
}

func TestFetchDoesNotRetryANotFound(t *testing.T) {
	srv, lock := lockIndex(t, smallIndex(), []string{"app"}, []string{amd64})
	gone := srv.BaseURL() + "/files/gone-1.0-py3-none-any.whl"
	setURL(lock, libWheel, gone)
	s := newStore(t)
	_, err := Fetch(context.Background(), s, lock, fastOptions()...)
	if err == nil || !strings.Contains(err.Error(), "404") || !strings.Contains(err.Error(), libWheel) || !strings.Contains(err.Error(), gone) {
		t.Fatalf("error %v, want a 404 naming the file and the URL", err)
	}
	if n := srv.Requests("/files/gone-1.0-py3-none-any.whl"); n != 1 {
		t.Errorf("a 404 was requested %d times", n)
	}
	assertNothingKept(t, s, libWheel)
}

func setURL(l *pylock.Lock, name, url string) {
	for i := range l.Packages {
		for j := range l.Packages[i].Wheels {
			if l.Packages[i].Wheels[j].FileName() == name {
				l.Packages[i].Wheels[j].Name = name
				l.Packages[i].Wheels[j].URL = url
			}
		}
	}
}

// rebase points every URL of the lock at another server.
func rebase(l *pylock.Lock, from, to string) {
	for i := range l.Packages {
		p := &l.Packages[i]
		for j := range p.Wheels {
			p.Wheels[j].URL = strings.Replace(p.Wheels[j].URL, from, to, 1)
		}
		if p.Sdist != nil {
			p.Sdist.URL = strings.Replace(p.Sdist.URL, from, to, 1)
		}
	}
}

func TestFetchResumesAfterAConnectionResetMidFile(t *testing.T) {
	srv, lock := lockIndex(t, smallIndex(), []string{"app"}, []string{amd64})
	var reset atomic.Bool
	var mu sync.Mutex
	var ranges []string
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/files/"+bigWheel {
			srv.ServeHTTP(w, r)
			return
		}
		mu.Lock()
		ranges = append(ranges, r.Header.Get("Range"))
		mu.Unlock()
		if !reset.CompareAndSwap(false, true) {
			srv.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		w.Header().Set("ETag", rec.Header().Get("ETag"))
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body[:len(body)/2])
		rc := http.NewResponseController(w)
		_ = rc.Flush()
		conn, _, err := rc.Hijack()
		if err != nil {
			return
		}
		_ = conn.(*net.TCPConn).SetLinger(0) // RST, not FIN
		conn.Close()
	}))
	defer front.Close()
	rebase(lock, srv.BaseURL(), front.URL)
	s := newStore(t)
	rep, err := Fetch(context.Background(), s, lock, fastOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(ranges) != 2 || ranges[0] != "" || !strings.HasPrefix(ranges[1], "bytes=") || ranges[1] == "bytes=0-" {
		t.Errorf("requests for the big wheel had ranges %q, want a full one then a resumed one", ranges)
	}
	if rep.Retries != 1 {
		t.Errorf("report %+v", rep)
	}
	mustVerifyClean(t, s, lock)
}

// fullDisk fails every write once limit bytes were written through it.
type fullDisk struct {
	w       io.Writer
	written *atomic.Int64
	limit   int64
}

func (d *fullDisk) Write(p []byte) (int, error) {
	if d.written.Add(int64(len(p))) > d.limit {
		return 0, &os.PathError{Op: "write", Path: "file", Err: syscall.ENOSPC}
	}
	return d.w.Write(p)
}

func TestFetchStopsAtAFullDiskAndLeavesNothingBehind(t *testing.T) {
	srv, lock := lockIndex(t, smallIndex(), []string{"app"}, []string{amd64})
	s := newStore(t)
	opts := fastOptions(WithJobs(1))
	var written atomic.Int64
	opts = append(opts, func(o *options) error {
		o.wrapWriter = func(w io.Writer) io.Writer { return &fullDisk{w: w, written: &written, limit: 200 << 10} }
		return nil
	})
	_, err := Fetch(context.Background(), s, lock, opts...)
	if !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), bigWheel) {
		t.Fatalf("error %v, want ENOSPC naming %s", err, bigWheel)
	}
	if n := srv.Requests("/files/" + bigWheel); n != 1 {
		t.Errorf("a full disk was retried: %d requests", n)
	}
	assertNothingKept(t, s, bigWheel)
	// What finished before is kept and verified.
	r, err := Verify(context.Background(), reopen(t, s), lock)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range r.Problems {
		if p.Kind != wheelhouse.ProblemMissing {
			t.Errorf("problem %+v after a full disk, want only missing files", p)
		}
	}
}

// manyIndex has n independent projects with one wheel each.
func manyIndex(n int) (*pypitest.Index, []string) {
	idx := &pypitest.Index{}
	var roots []string
	for i := range n {
		name := fmt.Sprintf("pkg%02d", i)
		idx.Projects = append(idx.Projects, pypitest.Project{Name: name, Releases: []pypitest.Release{{Version: "1.0", Wheels: []pypitest.Wheel{{Tags: "py3-none-any", Size: 40 << 10}}}}})
		roots = append(roots, name)
	}
	return idx, roots
}

func TestCancelledFetchKeepsWhatFinishedAndTheNextDownloadsOnlyTheRest(t *testing.T) {
	idx, roots := manyIndex(16)
	srv, lock := lockIndex(t, idx, roots, []string{amd64})
	srv.SetLatency(40 * time.Millisecond)
	s := newStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var done atomic.Int32
	opts := fastOptions(WithJobs(2))
	opts = append(opts, WithProgress(func(e Event) {
		if e.State == Done && done.Add(1) == 4 {
			cancel()
		}
	}))
	_, err := Fetch(ctx, s, lock, opts...)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want the cancellation", err)
	}
	if l := leftovers(t, s); len(l) > 0 {
		t.Errorf("temporary files left behind: %v", l)
	}
	kept := reopen(t, s).Entries()
	if len(kept) < 4 || len(kept) >= 16 {
		t.Fatalf("the manifest kept %d files, want the 4 or so that finished", len(kept))
	}
	r, err := Verify(context.Background(), reopen(t, s), lock)
	if err != nil {
		t.Fatal(err)
	}
	if r.Count(wheelhouse.ProblemMissing) != 16-len(kept) || len(r.Problems) != 16-len(kept) {
		t.Errorf("after the cancel: %+v", r.Problems)
	}

	// A request the cancelled fetch sent just before it gave up may reach
	// the server late: counted before the Reset, not as the re-run's.
	srv.Settle(t)
	srv.Reset()
	srv.SetLatency(0)
	rep, err := Fetch(context.Background(), reopen(t, s), lock, fastOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	if n := fileRequests(srv); n != 16-len(kept) || rep.Downloaded != n || rep.Present != len(kept) {
		t.Errorf("re-run made %d file requests with %d kept, report %+v", n, len(kept), rep)
	}
	for _, e := range kept {
		if c := srv.Requests("/files/" + e.Filename); c != 0 {
			t.Errorf("%s was kept yet downloaded again", e.Filename)
		}
	}
	mustVerifyClean(t, s, lock)
}

func TestFetchWithRetriesTriesExactlyThatManyTimesMore(t *testing.T) {
	for _, retries := range []int{0, 1, 3} {
		t.Run(fmt.Sprint(retries), func(t *testing.T) {
			srv, lock := lockIndex(t, smallIndex(), []string{"app"}, []string{amd64})
			srv.FailPath("/files/"+libWheel, pypitest.Fail500)
			s := newStore(t)
			_, err := Fetch(context.Background(), s, lock, append(fastOptions(), WithJobs(1), WithRetries(retries))...)
			if err == nil || !strings.Contains(err.Error(), libWheel) {
				t.Fatalf("error %v, want one naming %s", err, libWheel)
			}
			if n := srv.Requests("/files/" + libWheel); n != retries+1 {
				t.Errorf("%d requests for the file with %d retries, want %d", n, retries, retries+1)
			}
		})
	}
}

func TestFetchRefusesOptionsOutOfRangeBeforeAnyRequest(t *testing.T) {
	tests := []struct {
		name string
		opt  Option
		want string
	}{
		{"no jobs", WithJobs(0), "jobs 0"},
		{"negative jobs", WithJobs(-2), "jobs -2"},
		{"negative retries", WithRetries(-1), "retries -1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, lock := lockIndex(t, smallIndex(), []string{"app"}, []string{amd64})
			before := srv.TotalRequests()
			_, err := Fetch(context.Background(), newStore(t), lock, tt.opt)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one saying %q", err, tt.want)
			}
			if n := srv.TotalRequests() - before; n != 0 {
				t.Errorf("%d requests made with an invalid option", n)
			}
		})
	}
}
