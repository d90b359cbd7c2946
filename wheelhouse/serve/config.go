package serve

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/larder-build/larder/internal/readlimit"
	"github.com/larder-build/larder/resolver/simple"
)

// Defaults of the server's settings.
const (
	// DefaultAddr is where the server listens: loopback only, so that an
	// image's index is not reachable from outside the container.
	DefaultAddr = "127.0.0.1:3141"
	// DefaultUpstream is the index public projects fall through to.
	DefaultUpstream = "https://pypi.org/simple/"
	// DefaultTTL is how long an upstream page is used before it is
	// revalidated.
	DefaultTTL = 10 * time.Minute
	// DefaultConfigFile is where larder-index looks for its configuration;
	// larder's bake writes it into images.
	DefaultConfigFile = "/etc/larder/index.json"
)

// Config is the configuration of an index server, as written to
// /etc/larder/index.json (keys as in the JSON tags; ttl is a Go duration
// such as "10m" or a number of seconds) and as set by the flags of
// `larder serve` and `larder-index`.
type Config struct {
	// Wheelhouse is the store's folder.
	Wheelhouse string `json:"wheelhouse"`
	// Addr is the HOST:PORT to listen on; DefaultAddr when empty.
	Addr string `json:"addr,omitempty"`
	// Upstream is the simple index to fall through to; DefaultUpstream
	// when empty.
	Upstream string `json:"upstream,omitempty"`
	// FileHosts are origins (https://host[:port]) the upstream's pages
	// may name for their files, besides the upstream's own (and
	// files.pythonhosted.org for PyPI, which is implied).
	FileHosts []string `json:"file_hosts,omitempty"`
	// Private are globs of project names that never fall through.
	Private []string `json:"private,omitempty"`
	// Offline never contacts the upstream.
	Offline bool `json:"offline,omitempty"`
	// CacheDir keeps fall-through files; DefaultCacheDir when empty.
	CacheDir string `json:"cache_dir,omitempty"`
	// TTL is how long an upstream page is used before it is revalidated;
	// DefaultTTL when zero.
	TTL Duration `json:"ttl,omitempty"`
	// AccessLog logs every request.
	AccessLog bool `json:"access_log,omitempty"`
	// TrustedProxies are the proxies (CIDR ranges or addresses) whose
	// X-Forwarded-For header is believed; see WithTrustedProxies.
	TrustedProxies []string `json:"trusted_proxies,omitempty"`
	// LockSHA256 is the hex sha256 of the lock the image was baked from,
	// and Baked the image's creation time (RFC 3339): larder bake sets
	// both, and / and /-/healthz show them, so that whoever reads them
	// knows which closure the server carries.
	LockSHA256 string `json:"lock_sha256,omitempty"`
	Baked      string `json:"baked,omitempty"`
}

// Duration is a time.Duration that reads from JSON as "10m" or a number
// of seconds and is written as "10m0s".
type Duration time.Duration

// MarshalJSON writes d as a Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON reads a Go duration string or a number of seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := time.ParseDuration(s)
		if err != nil || v < 0 {
			return fmt.Errorf("ttl %q: want a duration such as \"10m\"", s)
		}
		*d = Duration(v)
		return nil
	}
	var secs float64
	if err := json.Unmarshal(b, &secs); err != nil || secs < 0 {
		return fmt.Errorf("ttl %s: want a duration such as \"10m\" or a number of seconds", b)
	}
	*d = Duration(secs * float64(time.Second))
	return nil
}

// maxConfigBytes bounds the index server's configuration file, read
// whole; real ones are under a kB, with a private pattern per project.
const maxConfigBytes = 4 << 20

// ReadConfig reads a configuration file. Unknown keys are errors, so that a
// misspelt key cannot silently leave a project public.
func ReadConfig(name string) (Config, error) {
	var c Config
	data, err := readlimit.File(name, maxConfigBytes, readlimit.FollowLinks)
	if err != nil {
		return c, fmt.Errorf("reading index configuration: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return c, fmt.Errorf("reading index configuration %s: %w", name, err)
	}
	if dec.More() {
		return c, fmt.Errorf("reading index configuration %s: trailing data after the JSON object", name)
	}
	return c, nil
}

// WithDefaults returns c with every empty setting filled in (the cache
// folder excepted: Open picks it, since choosing one probes the disk).
func (c Config) WithDefaults() Config {
	if c.Addr == "" {
		c.Addr = DefaultAddr
	}
	if c.Upstream == "" {
		c.Upstream = DefaultUpstream
	}
	if c.TTL == 0 {
		c.TTL = Duration(DefaultTTL)
	}
	return c
}

// Validate reports settings that cannot work, quoting them.
func (c Config) Validate() error {
	if c.Wheelhouse == "" {
		return errors.Join(errors.New("no wheelhouse folder given"), c.validateServer())
	}
	return c.validateServer()
}

// validateServer checks everything but the wheelhouse.
func (c Config) validateServer() error {
	var errs []error
	if c.Addr != "" {
		if _, port, err := net.SplitHostPort(c.Addr); err != nil || port == "" {
			errs = append(errs, fmt.Errorf("address %q: want HOST:PORT, e.g. %s", c.Addr, DefaultAddr))
		}
	}
	if c.Upstream != "" {
		if err := checkUpstream(c.Upstream); err != nil {
			errs = append(errs, err)
		}
	}
	for _, h := range c.FileHosts {
		if _, err := checkFileHost(h); err != nil {
			errs = append(errs, err)
		}
	}
	if _, err := newGlobMatcher(c.Private); err != nil {
		errs = append(errs, err)
	}
	if c.TTL < 0 {
		errs = append(errs, fmt.Errorf("ttl %s: must not be negative", time.Duration(c.TTL)))
	}
	for _, p := range c.TrustedProxies {
		if _, err := parseTrustedProxy(p); err != nil {
			errs = append(errs, err)
		}
	}
	if _, err := checkBake(c.LockSHA256, c.Baked); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func checkUpstream(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("upstream %q: want an http(s) URL of a simple index, e.g. %s", simple.RedactURL(s), DefaultUpstream)
	}
	if u.User != nil {
		// Its password would reach pages, /-/healthz and logs, and the
		// files of other hosts its pages name.
		return fmt.Errorf("upstream %q: a URL with a user or password is not supported: give the server an upstream it may read without one", simple.RedactURL(s))
	}
	return nil
}

// Options returns the server options cfg stands for, choosing the cache
// folder (DefaultCacheDir when CacheDir is empty).
func (c Config) Options(log *slog.Logger) ([]Option, error) {
	c = c.WithDefaults()
	if err := c.validateServer(); err != nil {
		return nil, err
	}
	cacheDir := c.CacheDir
	if cacheDir == "" {
		cacheDir = DefaultCacheDir()
	}
	return []Option{
		WithUpstream(c.Upstream), WithFileHosts(c.FileHosts...), WithOffline(c.Offline), WithPrivate(c.Private...),
		WithCacheDir(cacheDir), WithTTL(time.Duration(c.TTL)), WithLogger(log), WithAccessLog(c.AccessLog),
		withBakeText(c.LockSHA256, c.Baked), WithTrustedProxies(c.TrustedProxies...),
	}, nil
}

// parseTrustedProxy reads a trusted proxy's range: a CIDR prefix, or one
// address (a prefix of its full length). A prefix with bits set past its
// length is refused rather than widened (10.1.2.3/8 is a typo for /32 as
// often as for 10.0.0.0/8), and so is a prefix of every address.
func parseTrustedProxy(s string) (netip.Prefix, error) {
	const want = "want a CIDR range such as 10.0.0.0/8 or fd00::/8, or one address"
	p, err := netip.ParsePrefix(s)
	if err != nil {
		a, aerr := netip.ParseAddr(s)
		if aerr != nil || a.Zone() != "" {
			return netip.Prefix{}, fmt.Errorf("trusted proxy %q: %s", s, want)
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	if p.Addr().Is4In6() {
		// ::ffff:10.0.0.0/104 is 10.0.0.0/8: peers are compared unmapped.
		if p.Bits() < 96 {
			return netip.Prefix{}, fmt.Errorf("trusted proxy %q: an IPv4-mapped range must be /96 or longer; %s", s, want)
		}
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	if p.Bits() == 0 {
		return netip.Prefix{}, fmt.Errorf("trusted proxy %q: would believe every client's X-Forwarded-For, so that any client could name itself; name the proxies' own range", s)
	}
	if m := p.Masked(); m != p {
		return netip.Prefix{}, fmt.Errorf("trusted proxy %q: has address bits set past /%d; write %s for the range, or %s for the one address",
			s, p.Bits(), m, netip.PrefixFrom(p.Addr(), p.Addr().BitLen()))
	}
	return p, nil
}

// bakeInfo says which image the server runs in: the lock's sha256 (hex)
// and the image's creation time; both are empty outside a baked image.
type bakeInfo struct {
	lockSHA256 string
	baked      time.Time
}

// WithBake records the sha256 (hex) of the lock the image was baked from
// and the image's creation time, for / and /-/healthz. Either may be
// empty or zero.
func WithBake(lockSHA256 string, baked time.Time) Option {
	return func(o *options) error {
		if lockSHA256 != "" && !simple.ValidSHA256(strings.ToLower(lockSHA256)) {
			return fmt.Errorf("lock_sha256 %q: want 64 hex digits", lockSHA256)
		}
		o.bake = bakeInfo{lockSHA256: strings.ToLower(lockSHA256), baked: baked.UTC()}
		return nil
	}
}

// withBakeText is WithBake for the configuration file's strings.
func withBakeText(lockSHA256, baked string) Option {
	return func(o *options) error {
		t, err := checkBake(lockSHA256, baked)
		if err != nil {
			return err
		}
		o.bake = bakeInfo{lockSHA256: strings.ToLower(lockSHA256), baked: t.UTC()}
		return nil
	}
}

// checkBake validates the configuration's lock_sha256 and baked and
// returns the time baked stands for (zero when empty).
func checkBake(lockSHA256, baked string) (time.Time, error) {
	var errs []error
	if lockSHA256 != "" && !simple.ValidSHA256(strings.ToLower(lockSHA256)) {
		errs = append(errs, fmt.Errorf("lock_sha256 %q: want 64 hex digits", lockSHA256))
	}
	var t time.Time
	if baked != "" {
		var err error
		if t, err = time.Parse(time.RFC3339, baked); err != nil {
			errs = append(errs, fmt.Errorf("baked %q: want an RFC 3339 time such as 2026-01-02T15:04:05Z", baked))
		}
	}
	return t, errors.Join(errs...)
}

// DefaultCacheDir returns a writable folder for fall-through files:
// $XDG_CACHE_HOME/larder/index when XDG_CACHE_HOME is set, else
// /var/cache/larder-index, else ~/.cache/larder/index, else a new temporary
// folder (so that a read-only image still serves, caching for its lifetime).
func DefaultCacheDir() string {
	var dirs []string
	if x := os.Getenv("XDG_CACHE_HOME"); x != "" && filepath.IsAbs(x) {
		dirs = append(dirs, filepath.Join(x, "larder", "index"))
	}
	dirs = append(dirs, "/var/cache/larder-index")
	if h, err := os.UserHomeDir(); err == nil && filepath.IsAbs(h) {
		dirs = append(dirs, filepath.Join(h, ".cache", "larder", "index"))
	}
	for _, d := range dirs {
		if writable(d) {
			return d
		}
	}
	if d, err := os.MkdirTemp("", "larder-index-cache-"); err == nil {
		return d
	}
	return filepath.Join(os.TempDir(), "larder-index-cache")
}

// writable reports whether dir exists or can be made, and takes a file.
func writable(dir string) bool {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return false
	}
	f, err := os.CreateTemp(dir, ".probe-*")
	if err != nil {
		return false
	}
	f.Close()
	os.Remove(f.Name())
	return true
}

// IndexURL returns the simple index URL a client should use for a server
// listening on addr (for PIP_INDEX_URL and friends): a wildcard host is
// reached through loopback.
func IndexURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr + "/simple/"
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		if ip != nil && ip.To4() == nil {
			host = "::1"
		} else {
			host = "127.0.0.1"
		}
	}
	return "http://" + net.JoinHostPort(host, port) + "/simple/"
}

// withTrailingSlash makes an upstream URL end in one slash, so that project
// pages resolve under it.
func withTrailingSlash(u string) string { return strings.TrimRight(u, "/") + "/" }

// EnvLockSHA256 and EnvBaked are the environment variables through which a
// baked image tells larder-index its lock's sha256 and bake time (see
// Config.FromEnv): they change with every lock, so they live in the image's
// configuration rather than in index.json, whose layer a requirements bump
// must not change.
const (
	EnvLockSHA256 = "LARDER_LOCK_SHA256"
	EnvBaked      = "LARDER_BAKED"
)

// FromEnv fills LockSHA256 and Baked from the environment when the
// configuration file sets neither.
func (c Config) FromEnv(getenv func(string) string) Config {
	if c.LockSHA256 == "" && c.Baked == "" {
		c.LockSHA256, c.Baked = getenv(EnvLockSHA256), getenv(EnvBaked)
	}
	return c
}
