package serve

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/larder-build/larder/internal/readlimit"
	"github.com/larder-build/larder/resolver/distname"
)

// maxHtpasswdBytes bounds the htpasswd file read at start.
const maxHtpasswdBytes = 4 << 20

// htpasswd is the users of an htpasswd file with bcrypt entries, as
// `htpasswd -B` writes them (and pypiserver and distribution read them).
type htpasswd struct {
	file  string
	users map[string][]byte // user → bcrypt hash

	// bcrypt costs milliseconds on purpose; pip sends the same credentials
	// with each of hundreds of requests. A password that matched once is
	// remembered as a keyed hash (never the password), so that the next
	// check is one HMAC.
	key      [32]byte
	mu       sync.Mutex
	verified map[string][]byte // user → HMAC(key, password) that matched
	// checking are the bcrypt checks running, by user and HMAC of the
	// password: the same credentials sent at once (pip and uv open many
	// connections at the start of an install) wait for one check, which
	// costs one bcrypt and counts once against the failure limit.
	checking map[string]*authCheck

	failures *windowLimiter // failed logins per client address
	// bcrypts are the slots of the bcrypt checks running at once, one a
	// core (GOMAXPROCS): clients at many addresses cost at most every
	// core, never more, and a check waits for a slot as long as its
	// request lasts (the requests waiting are bounded by the connection
	// limits). bcryptHook, when set (tests), runs in each slot before
	// its check.
	bcrypts    chan struct{}
	bcryptHook func()

	// trusted are the proxies whose X-Forwarded-For is believed
	// (WithTrustedProxies): a request from one is counted against the
	// client the header names.
	trusted []netip.Prefix

	dummyOnce sync.Once
	dummy     []byte // see dummyHash
}

// HtpasswdError is an htpasswd file that cannot be used: unreadable,
// empty, or with an entry that is not bcrypt.
type HtpasswdError struct {
	File string
	Err  error
}

// Error says what is wrong, with the file's line when there is one.
func (e *HtpasswdError) Error() string { return e.Err.Error() }

// Unwrap returns the cause.
func (e *HtpasswdError) Unwrap() error { return e.Err }

// readHtpasswd reads an htpasswd file, failing with an *HtpasswdError.
func readHtpasswd(name string) (*htpasswd, error) {
	h, err := parseHtpasswd(name)
	if err != nil {
		return nil, &HtpasswdError{File: name, Err: err}
	}
	return h, nil
}

// parseHtpasswd reads an htpasswd file. Entries other than bcrypt ($2y$,
// $2a$, $2b$) are refused with their line: a weaker hash must not be
// accepted silently.
func parseHtpasswd(name string) (*htpasswd, error) {
	data, err := readlimit.File(name, maxHtpasswdBytes, readlimit.FollowLinks)
	if err != nil {
		return nil, fmt.Errorf("reading htpasswd file: %w", err)
	}
	h := &htpasswd{file: name, users: map[string][]byte{}, verified: map[string][]byte{}, checking: map[string]*authCheck{},
		failures: newWindowLimiter(maxAuthFailures, time.Minute), bcrypts: make(chan struct{}, runtime.GOMAXPROCS(0))}
	if _, err := rand.Read(h.key[:]); err != nil {
		return nil, fmt.Errorf("reading htpasswd file %s: %w", name, err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		user, hash, ok := strings.Cut(text, ":")
		switch {
		case !ok || user == "":
			return nil, fmt.Errorf("%s:%d: want USER:HASH", name, line)
		case !strings.HasPrefix(hash, "$2y$") && !strings.HasPrefix(hash, "$2a$") && !strings.HasPrefix(hash, "$2b$"):
			return nil, fmt.Errorf("%s:%d: user %q: not a bcrypt hash (only $2y$, $2a$ and $2b$ entries are accepted)", name, line, user)
		}
		if _, err := bcrypt.Cost([]byte(hash)); err != nil {
			return nil, fmt.Errorf("%s:%d: user %q: malformed bcrypt hash: %w", name, line, user, err)
		}
		if _, dup := h.users[user]; dup {
			return nil, fmt.Errorf("%s:%d: user %q is listed twice", name, line, user)
		}
		h.users[user] = []byte(hash)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading htpasswd file %s: %w", name, err)
	}
	if len(h.users) == 0 {
		return nil, fmt.Errorf("htpasswd file %s lists no users", name)
	}
	return h, nil
}

// configure gives h the server's settings: the trusted proxies, and a
// log line once a minute that the failed-login limiter is full.
func (h *htpasswd) configure(log *slog.Logger, o *options) {
	h.trusted = o.trustedProxies
	if o.limiterKeys > 0 {
		h.failures.maxKeys = o.limiterKeys
	}
	h.bcryptHook = o.bcryptHook
	h.failures.full = func(tracked int) {
		log.Warn("the failed-login limiter is full: clients it does not track are not limited until its period ends",
			"tracked", tracked, "period", h.failures.period.String())
	}
}

// uploadRule is one line of WithUploaders: who may upload the projects a
// glob matches.
type uploadRule struct {
	glob  string
	match distname.Globs
	users []string
}

// mayUpload reports whether user may upload project norm under rules.
func mayUpload(rules []uploadRule, user, norm string) bool {
	if len(rules) == 0 {
		return true
	}
	for _, r := range rules {
		if r.match.Match(norm) && slices.Contains(r.users, user) {
			return true
		}
	}
	return false
}

// maxAuthFailures is how many failed logins a client address may make a
// minute before it is answered 429 without a check: bcrypt is the
// server's CPU, and guessing is slowed.
const maxAuthFailures = 20

// authResult is what a request's credentials amount to.
type authResult int

const (
	authMissing authResult = iota
	authWrong
	authThrottled
	authOK
	// authGone is a check its request's context ended before: the
	// client went away while it waited for a bcrypt slot.
	authGone
)

// check verifies a request's Basic credentials and returns the user.
func (h *htpasswd) check(r *http.Request) (string, authResult) {
	user, pass, ok := r.BasicAuth()
	if !ok {
		return "", authMissing
	}
	client := requestKey(r, h.trusted)
	if !h.failures.allowed(client) {
		return user, authThrottled
	}
	hash, known := h.users[user]
	mac := hmac.New(sha256.New, h.key[:])
	mac.Write([]byte(pass))
	sum := mac.Sum(nil)
	key := user + "\x00" + string(sum)
	ctx := r.Context()
	for {
		h.mu.Lock()
		if prev := h.verified[user]; known && prev != nil && hmac.Equal(prev, sum) {
			h.mu.Unlock()
			return user, authOK
		}
		if c := h.checking[key]; c != nil {
			h.mu.Unlock()
			select {
			case <-c.done: // one bcrypt, or its request's end
			case <-ctx.Done():
				return user, authGone
			}
			if c.res == authGone {
				// Its client left before the check ran: this request
				// runs it (and may find it remembered by another).
				continue
			}
			return user, c.res
		}
		c := &authCheck{done: make(chan struct{})}
		h.checking[key] = c
		h.mu.Unlock()
		c.res = h.bcryptCheck(ctx, client, user, pass, hash, known, sum)
		h.mu.Lock()
		delete(h.checking, key)
		h.mu.Unlock()
		close(c.done)
		return user, c.res
	}
}

// authCheck is a bcrypt check running; res is set before done closes.
type authCheck struct {
	done chan struct{}
	res  authResult
}

// bcryptCheck checks a password with bcrypt, counted against client's
// failure limit, and remembers it when it matches. It runs in one of
// h.bcrypts' slots, waiting for one as long as ctx lasts.
func (h *htpasswd) bcryptCheck(ctx context.Context, client, user, pass string, hash []byte, known bool, sum []byte) authResult {
	// A bcrypt check counts as a failure until it succeeds: counted only
	// after it, the guesses one address sends at once would all pass
	// allowed above, and each cost a bcrypt. Counted before the wait for
	// a slot, a client's guesses past its limit never wait.
	if !h.failures.take(client) {
		return authThrottled
	}
	select {
	case h.bcrypts <- struct{}{}:
	case <-ctx.Done():
		h.failures.give(client) // nothing was checked
		return authGone
	}
	defer func() { <-h.bcrypts }()
	if h.bcryptHook != nil {
		h.bcryptHook()
	}
	if !known {
		// The same work as for a known user, so that timing does not
		// tell which user names exist.
		bcrypt.CompareHashAndPassword(h.dummyHash(), []byte(pass))
		return authWrong
	}
	if bcrypt.CompareHashAndPassword(hash, []byte(pass)) != nil {
		return authWrong
	}
	h.failures.give(client)
	h.mu.Lock()
	h.verified[user] = sum
	h.mu.Unlock()
	return authOK
}

// dummyHash is a bcrypt hash of a random password at the highest cost of
// the file's users (dummyCost), compared against for unknown users: at
// the cost most users have, a file with one admin written with -C 12
// would answer a wrong password for the admin 4 times slower than any
// name the file does not list, telling that the admin exists. (Users at
// a lower cost than the highest answer faster than an unknown name: only
// one cost for every user hides them all.) Made on first use, so that a
// server nobody logs in to never pays for it.
func (h *htpasswd) dummyHash() []byte {
	h.dummyOnce.Do(func() {
		var pw [16]byte
		rand.Read(pw[:])
		h.dummy, _ = bcrypt.GenerateFromPassword(pw[:], h.dummyCost())
	})
	return h.dummy
}

// dummyCost is the cost of dummyHash: the highest of the file's entries,
// bounded by bcrypt's own limit.
func (h *htpasswd) dummyCost() int {
	cost := bcrypt.MinCost
	for _, hash := range h.users {
		c, _ := bcrypt.Cost(hash) // checked when the file was read
		cost = max(cost, c)
	}
	return min(cost, bcrypt.MaxCost)
}

// clientKey is who a remote address ("host:port") is counted against,
// for failed logins and open connections: its host, and for IPv6 its
// /64, which one machine or site usually has whole (an attacker cycling
// the addresses of its /64 would otherwise fill the limiter, and go
// unthrottled past its bound).
func clientKey(remote string) string {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		return remote
	}
	a, err := netip.ParseAddr(host)
	if err != nil || !a.Is6() || a.Is4In6() {
		return host
	}
	p, err := a.WithZone("").Prefix(64)
	if err != nil {
		return host
	}
	return p.String()
}

// addrKey is clientKey for an address: an IPv4 address itself, an IPv6
// address's /64.
func addrKey(a netip.Addr) string {
	a = a.Unmap().WithZone("")
	if a.Is6() {
		if p, err := a.Prefix(64); err == nil {
			return p.String()
		}
	}
	return a.String()
}

// requestKey is who a request's failed logins are counted against: its
// TCP peer (clientKey), or, when the peer is a trusted proxy, the client
// the proxy forwarded it for (forwardedClient).
func requestKey(r *http.Request, trusted []netip.Prefix) string {
	if a, ok := forwardedClient(r, trusted); ok {
		return addrKey(a)
	}
	return clientKey(r.RemoteAddr)
}

// requestClient is the address requestKey counts r against, as logs
// name it: the client a trusted proxy forwarded r for, else r's TCP
// peer's host.
func requestClient(r *http.Request, trusted []netip.Prefix) string {
	if a, ok := forwardedClient(r, trusted); ok {
		return a.String()
	}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

// forwardedClient is the client a trusted proxy forwarded r for: when r's
// TCP peer is in trusted, the right-most X-Forwarded-For address that is
// not itself trusted (each proxy appends the address it was reached from,
// so what is left of the first untrusted one is the client's to write);
// the left-most address when all are trusted; the proxy's own address
// without the header. Malformed entries are skipped. ok is false when the
// peer is not a trusted proxy: its header is never believed.
func forwardedClient(r *http.Request, trusted []netip.Prefix) (netip.Addr, bool) {
	if len(trusted) == 0 {
		return netip.Addr{}, false
	}
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil || !isTrusted(peer.Addr(), trusted) {
		return netip.Addr{}, false
	}
	client := peer.Addr().Unmap().WithZone("")
	// Several header lines are one list, in order.
	vals := r.Header.Values("X-Forwarded-For")
	for i := len(vals) - 1; i >= 0; i-- {
		for rest := vals[i]; rest != ""; {
			entry := rest
			if j := strings.LastIndexByte(rest, ','); j >= 0 {
				entry, rest = rest[j+1:], rest[:j]
			} else {
				rest = ""
			}
			a, ok := parseForwarded(entry)
			if !ok {
				continue
			}
			if !isTrusted(a, trusted) {
				return a, true
			}
			client = a
		}
	}
	return client, true
}

// parseForwarded reads one X-Forwarded-For entry: an address, or an
// address and port as some proxies write it ("192.0.2.1:5678",
// "[2001:db8::1]:5678"); its zone is dropped and an IPv4-mapped IPv6
// address is its IPv4 address.
func parseForwarded(entry string) (netip.Addr, bool) {
	entry = strings.TrimSpace(entry)
	a, err := netip.ParseAddr(entry)
	if err != nil {
		ap, err := netip.ParseAddrPort(entry)
		if err != nil {
			return netip.Addr{}, false
		}
		a = ap.Addr()
	}
	return a.Unmap().WithZone(""), true
}

// isTrusted reports whether a is in one of the trusted ranges.
func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	a = a.Unmap().WithZone("")
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// challenge answers a failed check: 401 with the Basic challenge twine
// and pip answer, 429 to a client past its failed logins, 503 to a
// request that ended before its check ran.
func challenge(w http.ResponseWriter, res authResult) {
	switch res {
	case authThrottled:
		w.Header().Set("Retry-After", "60")
		http.Error(w, "too many failed logins from this address; try again in a minute", http.StatusTooManyRequests)
		return
	case authGone:
		// Nobody reads it: the request ended.
		w.Header().Set("Retry-After", "1")
		http.Error(w, "the request ended before its credentials were checked", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("WWW-Authenticate", `Basic realm="larder", charset="UTF-8"`)
	msg := "authentication required"
	if res == authWrong {
		msg = "wrong user name or password"
	}
	http.Error(w, msg, http.StatusUnauthorized)
}

// windowLimiter allows at most n events per key in each period; keys are
// forgotten when their period ends, so its size is bounded by the keys
// active in one period and by maxKeys.
type windowLimiter struct {
	n       int
	period  time.Duration
	maxKeys int
	// full, when set, is called (without the lock) the first time in a
	// period that a key goes untracked, with the keys tracked.
	full func(tracked int)

	mu       sync.Mutex
	start    time.Time
	counts   map[string]int
	fullSaid bool // full was called this period
}

// maxLimiterKeys bounds the keys one period tracks: past it, new keys are
// not tracked, and not limited, until the period ends. Refusing them
// instead let anyone with many addresses (10,000 /64s of one IPv6 /48)
// lock every new client out for a minute; what an untracked key may cost
// is bounded elsewhere (bcrypt checks run on at most GOMAXPROCS cores).
const maxLimiterKeys = 10000

func newWindowLimiter(n int, period time.Duration) *windowLimiter {
	return &windowLimiter{n: n, period: period, maxKeys: maxLimiterKeys, counts: map[string]int{}}
}

func (l *windowLimiter) roll(now time.Time) {
	if now.Sub(l.start) >= l.period {
		l.start, l.counts, l.fullSaid = now, map[string]int{}, false
	}
}

// untracked reports, under l.mu, whether key is new past maxKeys, and
// whether full is to be told (once a period).
func (l *windowLimiter) untracked(key string) (untracked, tell bool) {
	if _, ok := l.counts[key]; ok || len(l.counts) < l.maxKeys {
		return false, false
	}
	tell = !l.fullSaid && l.full != nil
	l.fullSaid = true
	return true, tell
}

// allowed reports whether key is under its limit, without counting; a
// key the limiter cannot track is.
func (l *windowLimiter) allowed(key string) bool {
	if !l.lockTracked(key) {
		return true
	}
	defer l.mu.Unlock()
	return l.counts[key] < l.n
}

// lockTracked locks l for counting key and reports true; when l cannot
// track key it reports false, l unlocked, and says once a period that
// it is full.
func (l *windowLimiter) lockTracked(key string) bool {
	l.mu.Lock()
	l.roll(time.Now())
	untracked, tell := l.untracked(key)
	if !untracked {
		return true
	}
	tracked := len(l.counts)
	l.mu.Unlock()
	if tell {
		l.full(tracked)
	}
	return false
}

// give takes back one event take counted for key in this period.
func (l *windowLimiter) give(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if c := l.counts[key]; c > 0 {
		l.counts[key] = c - 1
	}
}

// take counts one event for key when it is under its limit; a key the
// limiter cannot track is let through, uncounted.
func (l *windowLimiter) take(key string) bool {
	if !l.lockTracked(key) {
		return true
	}
	defer l.mu.Unlock()
	c := l.counts[key]
	if c >= l.n {
		return false
	}
	l.counts[key] = c + 1
	return true
}
