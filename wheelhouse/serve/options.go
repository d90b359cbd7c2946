package serve

import (
	"fmt"
	"log/slog"
	"net/netip"
	"time"

	"github.com/larder-build/larder/resolver/distname"
	"github.com/larder-build/larder/wheelhouse"
)

// Option configures a Server.
type Option func(*options) error

type options struct {
	upstream       string
	fileHosts      []string
	offline        bool
	private        []string
	cacheDir       string
	ttl            time.Duration
	log            *slog.Logger
	accessLog      bool
	version        string
	connectTimeout time.Duration
	pageTimeout    time.Duration
	backoffMin     time.Duration
	backoffMax     time.Duration
	now            func() time.Time
	htpasswd       string
	readAuth       bool
	maxUpload      int64
	uploaders      []uploadRule
	openWrites     func(*Server, *wheelhouse.Store) error // set by WithHtpasswd
	readTimeout    time.Duration
	writeIdle      time.Duration
	readIdle       time.Duration
	maxConns       [2]int // at once, and per client
	shared         Cache
	bake           bakeInfo
	trustedProxies []netip.Prefix
	limiterKeys    int    // the failed-login limiter's bound, when not 0 (tests)
	bcryptHook     func() // runs in each bcrypt check's slot (tests)
}

// WithUpstream sets the simple index to fall through to; "" disables
// fall-through.
func WithUpstream(u string) Option {
	return func(o *options) error {
		if u != "" {
			if err := checkUpstream(u); err != nil {
				return err
			}
		}
		o.upstream = u
		return nil
	}
}

// WithFileHosts adds origins (https://host[:port]) an upstream's pages may
// name for their files. The upstream's own origin is always allowed, and
// files.pythonhosted.org for PyPI; a file anywhere else is not listed.
func WithFileHosts(hosts ...string) Option {
	return func(o *options) error {
		for _, h := range hosts {
			if _, err := checkFileHost(h); err != nil {
				return err
			}
		}
		o.fileHosts = append(o.fileHosts, hosts...)
		return nil
	}
}

// WithOffline never contacts the upstream; fall-through files cached
// earlier are still served.
func WithOffline(offline bool) Option {
	return func(o *options) error { o.offline = offline; return nil }
}

// WithPrivate adds globs of project names that never fall through.
func WithPrivate(globs ...string) Option {
	return func(o *options) error {
		if _, err := newGlobMatcher(globs); err != nil {
			return err
		}
		o.private = append(o.private, globs...)
		return nil
	}
}

// WithCacheDir keeps verified fall-through files in dir (a
// wheelhouse.Store); without it they are streamed and not kept.
func WithCacheDir(dir string) Option {
	return func(o *options) error { o.cacheDir = dir; return nil }
}

// WithTTL sets how long an upstream page is used before it is revalidated.
func WithTTL(d time.Duration) Option {
	return func(o *options) error {
		if d < 0 {
			return fmt.Errorf("ttl %s: must not be negative", d)
		}
		o.ttl = d
		return nil
	}
}

// WithLogger sets where warnings (and, with WithAccessLog, requests) are
// logged; the default discards everything.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		if l != nil {
			o.log = l
		}
		return nil
	}
}

// WithAccessLog logs every request at Info level.
func WithAccessLog(on bool) Option {
	return func(o *options) error { o.accessLog = on; return nil }
}

// WithVersion sets the version reported in /-/healthz and the upstream
// User-Agent.
func WithVersion(v string) Option {
	return func(o *options) error { o.version = v; return nil }
}

// WithHtpasswd turns uploads on for the users of an htpasswd file with
// bcrypt entries (htpasswd -B); uploads are stored in the served
// wheelhouse and their projects never fall through.
func WithHtpasswd(file string) Option {
	return func(o *options) error {
		// Only this option reaches the upload and credential code, so a
		// server built without it (larder-index) links neither.
		o.htpasswd, o.openWrites = file, (*Server).openWrites
		return nil
	}
}

// WithReadAuth makes every read but /-/healthz require the htpasswd
// file's credentials too.
func WithReadAuth(on bool) Option {
	return func(o *options) error { o.readAuth = on; return nil }
}

// WithTrustedProxies names the proxies (CIDR ranges such as 10.0.0.0/8,
// or single addresses) whose X-Forwarded-For header is believed: a
// request from one is counted, for failed logins, against the client the
// header names (the right-most address in it that is not itself a
// trusted proxy), and the access log names that client. A request from
// any other address is counted against that address, whatever its
// header says; connections are always counted against their TCP peer.
// A range of every address (/0) is refused: any client could then name
// itself.
func WithTrustedProxies(cidrs ...string) Option {
	return func(o *options) error {
		for _, c := range cidrs {
			p, err := parseTrustedProxy(c)
			if err != nil {
				return err
			}
			o.trustedProxies = append(o.trustedProxies, p)
		}
		return nil
	}
}

// WithUploaders says who may upload which projects: each glob of project
// names (matched as WithPrivate's are) maps to the htpasswd users allowed
// to upload it. With any rule given, a project no rule matches cannot be
// uploaded; without rules, every user may upload any project.
func WithUploaders(rules map[string][]string) Option {
	return func(o *options) error {
		for glob, users := range rules {
			g, err := distname.CompileGlobs([]string{glob})
			if err != nil || len(g) == 0 {
				return fmt.Errorf("uploaders: name glob %q: not a valid glob", glob)
			}
			o.uploaders = append(o.uploaders, uploadRule{glob: glob, match: g, users: users})
		}
		return nil
	}
}

// WithMaxUpload sets the largest upload accepted, in bytes
// (DefaultMaxUpload when unset).
func WithMaxUpload(n int64) Option {
	return func(o *options) error {
		if n <= 0 {
			return fmt.Errorf("largest upload %d: must be positive", n)
		}
		o.maxUpload = n
		return nil
	}
}

// withTimeouts and withBackoff shorten the upstream's timeouts and breaker
// periods for tests; withClock replaces the clock.
func withTimeouts(connect, page time.Duration) Option {
	return func(o *options) error { o.connectTimeout, o.pageTimeout = connect, page; return nil }
}

func withBackoff(min, max time.Duration) Option {
	return func(o *options) error { o.backoffMin, o.backoffMax = min, max; return nil }
}

// withReadTimeout shortens the server's ReadTimeout for tests.
func withReadTimeout(d time.Duration) Option {
	return func(o *options) error { o.readTimeout = d; return nil }
}

// withWriteIdleTimeout shortens the write idle timeout for tests.
func withWriteIdleTimeout(d time.Duration) Option {
	return func(o *options) error { o.writeIdle = d; return nil }
}

// withMaxConns lowers the connection limits for tests.
func withMaxConns(total, perClient int) Option {
	return func(o *options) error { o.maxConns = [2]int{total, perClient}; return nil }
}

// withLimiterKeys lowers the keys the failed-login limiter tracks a
// period, for tests.
func withLimiterKeys(n int) Option {
	return func(o *options) error { o.limiterKeys = n; return nil }
}

// withBcryptHook runs hook in each bcrypt check's slot, before the
// check, for tests.
func withBcryptHook(hook func()) Option {
	return func(o *options) error { o.bcryptHook = hook; return nil }
}

// withReadIdleTimeout shortens the upstream read idle timeout for tests.
func withReadIdleTimeout(d time.Duration) Option {
	return func(o *options) error { o.readIdle = d; return nil }
}

func withClock(now func() time.Time) Option {
	return func(o *options) error { o.now = now; return nil }
}
