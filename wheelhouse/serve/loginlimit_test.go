package serve

import (
	"fmt"
	"net/http"
	"strings"
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
