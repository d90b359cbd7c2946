package serve

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestAFullFailedLoginLimiterLetsNewClientsIn: once the failed-login
// limiter tracks as many clients as it may (lowered to 5 here), a new
// client's right password is let in and its wrong one answered 401, not
// 429, while a tracked client that used up its failures stays throttled;
// the log says once that the limiter is full.
func TestAFullFailedLoginLimiterLetsNewClientsIn(t *testing.T) {
	var log testLog
	_, base := proxiedServer(t, WithTrustedProxies("127.0.0.1"), withLimiterKeys(5), WithLogger(log.logger()))
	u := base + "/simple/"
	for i := range maxAuthFailures {
		if got := loginVia(t, u, "203.0.113.1", "alice", fmt.Sprintf("wr0ng-%d", i)); got != http.StatusUnauthorized {
			t.Fatalf("wrong login %d from 203.0.113.1: %d, want 401", i+1, got)
		}
	}
	for i := 2; i <= 5; i++ {
		if got := loginVia(t, u, fmt.Sprintf("203.0.113.%d", i), "alice", "wr0ng"); got != http.StatusUnauthorized {
			t.Fatalf("wrong login from 203.0.113.%d: %d, want 401", i, got)
		}
	}
	for _, c := range []struct {
		who, client, pass string
		want              int
	}{
		{"a new client's right password", "198.51.100.1", "pw", http.StatusOK},
		{"a new client's wrong password", "198.51.100.2", "wr0ng", http.StatusUnauthorized},
		{"another new client's right password", "198.51.100.3", "pw", http.StatusOK},
		{"the throttled client's right password", "203.0.113.1", "pw", http.StatusTooManyRequests},
	} {
		if got := loginVia(t, u, c.client, "alice", c.pass); got != c.want {
			t.Errorf("%s (%s) with the limiter full: %d, want %d", c.who, c.client, got, c.want)
		}
	}
	if n := strings.Count(log.String(), "the failed-login limiter is full"); n != 1 {
		t.Errorf("the log says %d times that the limiter is full, want once:\n%s", n, log.String())
	}
}

// TestALimiterPastItsBoundTracksNoNewKeys fills a limiter to
// maxLimiterKeys: a new key is allowed and taken without being counted,
// full is told once a period, and a tracked key keeps its limit.
func TestALimiterPastItsBoundTracksNoNewKeys(t *testing.T) {
	l := newWindowLimiter(2, time.Hour)
	told := 0
	l.full = func(tracked int) {
		told++
		if tracked != maxLimiterKeys {
			t.Errorf("full told %d keys tracked, want %d", tracked, maxLimiterKeys)
		}
	}
	for i := range maxLimiterKeys {
		if !l.take(fmt.Sprint(i)) {
			t.Fatalf("key %d refused before the bound", i)
		}
	}
	l.take("0") // key 0 reaches its limit of 2
	for range 3 {
		if !l.allowed("new") || !l.take("new") {
			t.Fatal("a key past the bound is refused")
		}
	}
	if l.allowed("0") || l.take("0") {
		t.Error("a tracked key past its limit is allowed")
	}
	if _, tracked := l.counts["new"]; tracked || len(l.counts) != maxLimiterKeys {
		t.Errorf("the limiter tracks %d keys, the new one: %v; want %d, not it", len(l.counts), tracked, maxLimiterKeys)
	}
	if told != 1 {
		t.Errorf("full told %d times, want once a period", told)
	}
	// A new period tracks new keys again, and tells again once full.
	l.start = l.start.Add(-time.Hour)
	if !l.take("new") || l.counts["new"] != 1 {
		t.Errorf("a new period: the new key counted %d, want 1", l.counts["new"])
	}
}

// bcryptGate is a bcrypt hook that counts the checks in their slots and
// holds each there until open is called (or 30 s pass: the server's read
// timeout is a minute).
type bcryptGate struct {
	inside, peak, ran atomic.Int32
	gate              chan struct{}
	once              sync.Once
}

func newBcryptGate() *bcryptGate { return &bcryptGate{gate: make(chan struct{})} }

func (g *bcryptGate) hook() {
	n := g.inside.Add(1)
	g.ran.Add(1)
	for p := g.peak.Load(); n > p && !g.peak.CompareAndSwap(p, n); p = g.peak.Load() {
	}
	select {
	case <-g.gate:
	case <-time.After(30 * time.Second):
	}
	g.inside.Add(-1)
}

func (g *bcryptGate) open() { g.once.Do(func() { close(g.gate) }) }

// waitInside waits up to a minute until n checks are in their slots.
func (g *bcryptGate) waitInside(t *testing.T, n int32) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); g.inside.Load() < n; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d bcrypt checks in their slots after a minute, want %d", g.inside.Load(), n)
		}
	}
}

// loginAsync GETs u as user from the forwarded client under ctx, and
// sends the status (0 for an error) to statuses.
func loginAsync(ctx context.Context, wg *sync.WaitGroup, u, client, user, pass string, statuses chan<- int) {
	wg.Go(func() {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			statuses <- 0
			return
		}
		req.SetBasicAuth(user, pass)
		req.Header.Set("X-Forwarded-For", client)
		resp, err := (&http.Client{Timeout: 5 * time.Minute}).Do(req)
		if err != nil {
			statuses <- 0
			return
		}
		resp.Body.Close()
		statuses <- resp.StatusCode
	})
}

// TestBcryptChecksRunningAtOnceNeverExceedTheCores sends wrong logins
// from many clients at once (each under its failure limit, through a
// trusted proxy), for a user the file lists and for one it does not:
// no more bcrypt checks run at once than GOMAXPROCS, the others wait
// for a slot, and all are answered once the slots free.
func TestBcryptChecksRunningAtOnceNeverExceedTheCores(t *testing.T) {
	g := newBcryptGate()
	defer g.open()
	s, base := proxiedServer(t, WithTrustedProxies("127.0.0.1"), withBcryptHook(g.hook))
	bound := int32(cap(s.auth.bcrypts))
	if bound < 1 {
		t.Fatalf("%d bcrypt slots", bound)
	}
	n := int(bound) + 8
	statuses := make(chan int, n)
	var wg sync.WaitGroup
	for i := range n {
		user := "alice"
		if i%2 == 1 {
			user = "mallory" // not in the file: a bcrypt all the same
		}
		loginAsync(context.Background(), &wg, base+"/simple/", fmt.Sprintf("198.51.100.%d", i+1), user, fmt.Sprintf("wr0ng-%d", i), statuses)
	}
	g.waitInside(t, bound)
	// Every slot is held: a server without the bound lets the others
	// in as they arrive, and they are all held there too.
	time.Sleep(200 * time.Millisecond)
	if in := g.inside.Load(); in != bound {
		t.Errorf("%d bcrypt checks running at once, want %d (GOMAXPROCS)", in, bound)
	}
	g.open()
	counts := byStatus(&wg, statuses)
	if counts[http.StatusUnauthorized] != n {
		t.Errorf("%d wrong logins at once: %v by status, want all 401", n, counts)
	}
	if p := g.peak.Load(); p > bound {
		t.Errorf("at most %d bcrypt checks ran at once, want at most %d", p, bound)
	}
	if r := g.ran.Load(); r != int32(n) {
		t.Errorf("%d bcrypt checks ran for %d logins with different passwords, want %d", r, n, n)
	}
}

// TestALoginWaitingForABcryptSlotEndsWithItsClient: with every slot
// held, a login whose client goes away stops waiting: its failed login
// is given back and its bcrypt never runs; a login of the same
// credentials that waited for its check runs the check itself.
func TestALoginWaitingForABcryptSlotEndsWithItsClient(t *testing.T) {
	g := newBcryptGate()
	defer g.open()
	s, base := proxiedServer(t, WithTrustedProxies("127.0.0.1"), withBcryptHook(g.hook))
	bound := int32(cap(s.auth.bcrypts))
	u := base + "/simple/"
	statuses := make(chan int, int(bound)+2)
	var wg sync.WaitGroup
	for i := range int(bound) {
		loginAsync(context.Background(), &wg, u, fmt.Sprintf("198.51.100.%d", i+1), "alice", fmt.Sprintf("wr0ng-%d", i), statuses)
	}
	g.waitInside(t, bound)

	// counted reports the failed logins the limiter holds for client.
	counted := func(client string) int {
		s.auth.failures.mu.Lock()
		defer s.auth.failures.mu.Unlock()
		return s.auth.failures.counts[client]
	}
	waitCounted := func(client string, want int) {
		t.Helper()
		for deadline := time.Now().Add(time.Minute); counted(client) != want; time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%d failed logins counted for %s after a minute, want %d", counted(client), client, want)
			}
		}
	}
	const client = "203.0.113.5"
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	leaver := make(chan int, 1)
	loginAsync(ctx, &wg, u, client, "alice", "pw", leaver)
	waitCounted(client, 1) // it waits for a slot
	// The same credentials from another client join its check. (Given
	// time to arrive: one that came after the cancel runs a check of its
	// own, and the test does not tell.)
	loginAsync(context.Background(), &wg, u, "203.0.113.6", "alice", "pw", statuses)
	time.Sleep(100 * time.Millisecond)
	cancel()
	if st := <-leaver; st != 0 {
		t.Errorf("the login whose client left: answered %d", st)
	}
	waitCounted(client, 0) // it stopped waiting, and gave its count back
	if in := g.inside.Load(); in != bound {
		t.Errorf("%d checks in their slots, want %d", in, bound)
	}
	g.open()
	counts := byStatus(&wg, statuses)
	if counts[http.StatusUnauthorized] != int(bound) || counts[http.StatusOK] != 1 {
		t.Errorf("answers %v by status; want %d 401 and the right password that waited 200", counts, bound)
	}
	if r := g.ran.Load(); r != bound+1 {
		t.Errorf("%d bcrypt checks ran, want %d: the one whose client left never runs", r, bound+1)
	}
}

// byStatus waits for the logins of wg, then counts the statuses they
// sent, by status.
func byStatus(wg *sync.WaitGroup, statuses chan int) map[int]int {
	wg.Wait()
	close(statuses)
	counts := map[int]int{}
	for st := range statuses {
		counts[st]++
	}
	return counts
}
