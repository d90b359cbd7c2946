package registrycache

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
)

// questionRegistry is a registry that kept no upload of any name: it
// answers every question about a project's tag (Kept) with 404, counts
// them, and holds each until release is closed when hold is set.
type questionRegistry struct {
	mu      sync.Mutex
	asked   int
	arrived chan struct{} // a value for each question, as it arrives
	release chan struct{}
}

func startQuestionRegistry(t *testing.T, hold bool) (*Served, *questionRegistry) {
	t.Helper()
	qr := &questionRegistry{arrived: make(chan struct{}, 100), release: make(chan struct{})}
	if !hold {
		close(qr.release)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/" {
			return
		}
		if r.Method != http.MethodHead || !strings.Contains(r.URL.Path, "/manifests/project-") {
			t.Errorf("%s %s: the registry was asked more than whether a project was kept", r.Method, r.URL.Path)
			http.NotFound(w, r)
			return
		}
		qr.mu.Lock()
		qr.asked++
		qr.mu.Unlock()
		select {
		case qr.arrived <- struct{}{}:
		default:
		}
		select {
		case <-qr.release:
		case <-r.Context().Done():
		}
		http.NotFound(w, r)
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() {
		select {
		case <-qr.release:
		default:
			close(qr.release)
		}
	})
	c, err := Open(context.Background(), "docker://"+strings.TrimPrefix(srv.URL, "http://")+"/c",
		WithKeychain(authn.NewMultiKeychain()))
	if err != nil {
		t.Fatal(err)
	}
	return c.Served(), qr
}

func (qr *questionRegistry) questions() int {
	qr.mu.Lock()
	defer qr.mu.Unlock()
	return qr.asked
}

// waitArrived waits up to 5 s for a question to reach the registry.
func (qr *questionRegistry) waitArrived(t *testing.T) {
	t.Helper()
	select {
	case <-qr.arrived:
	case <-time.After(5 * time.Second):
		t.Fatal("no question reached the registry within 5 s")
	}
}

// keptAsync asks s whether project was kept, in a goroutine; the
// channel gets its error, or one for a "yes".
func keptAsync(s *Served, project string) <-chan error {
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		kept, err := s.Kept(ctx, project)
		if err == nil && kept {
			err = errors.New("kept, want not kept")
		}
		done <- err
	}()
	return done
}

// TestCallersOfOneMomentOnEitherSideOfAKeptTTLPeriodShareOneQuestion:
// a caller that asks about a name while a question about it is under
// way, started less than keptTTL ago, waits for that one, even when the
// clock passed a multiple of keptTTL between the two (questions were
// shared by keptTTL period, and two callers a moment apart asked twice).
// The first caller asks 150 ms before such a multiple, the second
// 150 ms after it; the registry holds the question until then.
func TestCallersOfOneMomentOnEitherSideOfAKeptTTLPeriodShareOneQuestion(t *testing.T) {
	t.Parallel()
	s, qr := startQuestionRegistry(t, true)
	// The Cache's transport is made first: its ping is not the question.
	if _, err := s.c.reader(t.Context()); err != nil {
		t.Fatal(err)
	}
	untilBoundary := func() time.Duration {
		return time.Duration(int64(keptTTL) - time.Now().UnixNano()%int64(keptTTL))
	}
	if d := untilBoundary() - 150*time.Millisecond; d > 0 {
		time.Sleep(d)
	} else {
		time.Sleep(d + keptTTL)
	}
	first := keptAsync(s, "acme")
	qr.waitArrived(t)
	if d := untilBoundary(); d < keptTTL/2 {
		time.Sleep(d + 150*time.Millisecond)
	} // else a loaded machine took the question past the multiple already
	second := keptAsync(s, "acme")
	// A second question, if the second caller asks one, arrives well
	// within this.
	select {
	case <-qr.arrived:
	case <-time.After(500 * time.Millisecond):
	}
	close(qr.release)
	for i, ch := range []<-chan error{first, second} {
		if err := <-ch; err != nil {
			t.Errorf("caller %d: %v", i+1, err)
		}
	}
	if n := qr.questions(); n != 1 {
		t.Errorf("%d questions for two callers 0.3 s apart, want 1", n)
	}
}

// TestCallersThatArriveAsAQuestionEndsUseItsAnswer: 20 callers, a
// millisecond apart, asking about one name again and again for 200 ms, much less than keptTTL,
// cost one question: a caller that found no answer and a question
// that ended (and was forgotten) before it could join it used to ask
// again.
func TestCallersThatArriveAsAQuestionEndsUseItsAnswer(t *testing.T) {
	t.Parallel()
	s, qr := startQuestionRegistry(t, false)
	start := time.Now()
	var wg sync.WaitGroup
	for g := range 20 {
		wg.Go(func() {
			// The callers start a millisecond apart, so that some
			// arrive as the question ends.
			time.Sleep(time.Duration(g) * time.Millisecond)
			for i := 0; i < 1000 && time.Since(start) < 200*time.Millisecond; i++ {
				if kept, err := s.Kept(t.Context(), "acme"); err != nil || kept {
					t.Errorf("Kept: %v, %v; want false, nil", kept, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if n := qr.questions(); n != 1 {
		t.Errorf("%d questions in %v, want 1", n, time.Since(start).Round(time.Millisecond))
	}
}

// TestAnUploadKeptWhileAQuestionIsUnderWayIsNotHiddenByItsNo: the "no"
// of a question asked before this server kept an upload of the name
// (Keep forgets the "no" it knows) is not remembered when it comes back
// after: the next caller asks again, and learns of the upload.
func TestAnUploadKeptWhileAQuestionIsUnderWayIsNotHiddenByItsNo(t *testing.T) {
	t.Parallel()
	s, qr := startQuestionRegistry(t, true)
	first := keptAsync(s, "acme")
	qr.waitArrived(t)
	s.forgetNotKept("acme") // what Keep does once the upload is kept
	close(qr.release)
	if err := <-first; err != nil {
		t.Fatalf("the caller that asked before the upload: %v", err)
	}
	if _, err := s.Kept(t.Context(), "acme"); err != nil {
		t.Fatal(err)
	}
	if n := qr.questions(); n != 2 {
		t.Errorf("%d questions, want 2: the answer from before the upload was used after it", n)
	}
}

// TestAServerThatGivesUpOnAQuestionDoesNotFailTheOthersWaitingForIt:
// the caller that asked the registry whether a name was kept gives up
// (its pip went away) while another waits for the same question: the
// one that gave up gets its own context's error at once, the other
// gets the answer, and the registry is asked once.
func TestAServerThatGivesUpOnAQuestionDoesNotFailTheOthersWaitingForIt(t *testing.T) {
	t.Parallel()
	s, qr := startQuestionRegistry(t, true)
	// The Cache's transport is made first: its ping is not the question.
	if _, err := s.c.reader(t.Context()); err != nil {
		t.Fatal(err)
	}
	joined := make(chan struct{})
	var joinedOnce sync.Once
	s.testHookJoined = func(string) { joinedOnce.Do(func() { close(joined) }) }
	actx, cancelA := context.WithCancel(t.Context())
	defer cancelA()
	a := make(chan error, 1)
	go func() {
		_, err := s.Kept(actx, "acme")
		a <- err
	}()
	qr.waitArrived(t)
	b := keptAsync(s, "acme")
	select {
	case <-joined:
	case <-time.After(5 * time.Second):
		t.Fatal("the second caller did not join the question within 5 s")
	}
	cancelA()
	select {
	case err := <-a:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("the caller that gave up: %v, want its context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the caller that gave up was kept waiting 5 s")
	}
	close(qr.release)
	if err := <-b; err != nil {
		t.Errorf("the caller that waited: %v, want not kept", err)
	}
	if n := qr.questions(); n != 1 {
		t.Errorf("%d questions, want 1", n)
	}
}
