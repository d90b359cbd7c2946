package images

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/larder-build/larder/layers"
	"github.com/larder-build/larder/resolver/pylock"
	"github.com/larder-build/larder/resolver/target"
	"github.com/larder-build/larder/wheelhouse"
	"github.com/larder-build/larder/wheelhouse/fetch"
	"github.com/larder-build/larder/wheelhouse/serve"
)

// LockBake is a bake of a lock's closure from the wheelhouse holding its
// files: what larder bake does.
type LockBake struct {
	// Lock is the lock file and Wheelhouse the folder fetch filled from
	// it.
	Lock, Wheelhouse string
	// Targets stand in for the lock's targets when it records none
	// (larder.toml's [[target]]s).
	Targets []string
	// Index is the configuration of the index server in the image; its
	// Wheelhouse is set to Request.Path. Ignored when Request.IndexConfig
	// is set.
	Index serve.Config
	// Request says the rest. BakeLock sets Store, Entries and LockSHA256
	// from the lock, and fills in what is unset with the defaults that
	// decide the digest: the lock's platforms, CreationTime, ModTime from
	// SOURCE_DATE_EPOCH, Version, the index server's URL and
	// configuration.
	Request
}

// BakeLock bakes the closure of a lock as larder bake does: the same
// lock, wheelhouse, base and larder version give the CLI's digest.
func BakeLock(ctx context.Context, lb LockBake, opts ...Option) (*Report, error) {
	req, err := lb.request()
	if err != nil {
		return nil, err
	}
	return Bake(ctx, req, opts...)
}

// request completes the Request from the lock, its wheelhouse and the
// defaults.
func (lb LockBake) request() (Request, error) {
	req := lb.Request
	lock, err := pylock.Load(lb.Lock)
	if err != nil {
		return req, &LockError{Path: lb.Lock, Err: err}
	}
	if req.LockSHA256, _, err = wheelhouse.HashFile(lb.Lock); err != nil {
		return req, &LockError{Path: lb.Lock, Err: err}
	}
	if req.Store, err = wheelhouse.Open(lb.Wheelhouse); err != nil {
		return req, &WheelhouseError{Dir: lb.Wheelhouse, Err: err}
	}
	if req.Entries, err = fetch.Closure(req.Store, lock); err != nil {
		return req, &WheelhouseError{Dir: lb.Wheelhouse, Err: err}
	}
	locked, names, err := LockPlatforms(lock, lb.Targets)
	if err != nil {
		return req, &LockError{Path: lb.Lock, Err: err}
	}
	if len(req.Platforms) == 0 {
		req.Platforms = locked
	}
	for _, p := range req.Platforms {
		if !slices.Contains(locked, p) {
			return req, &UnlockedPlatformError{Platform: p, Targets: names}
		}
	}
	if req.Created.IsZero() {
		if req.Created, err = CreationTime(req.Entries); err != nil {
			return req, err
		}
	}
	if req.ModTime.IsZero() {
		if req.ModTime, err = SourceDateEpoch(); err != nil {
			return req, err
		}
	}
	if req.Version == "" {
		req.Version = Version()
	}
	if req.Path == "" {
		req.Path = layers.DefaultPath
	}
	if req.IndexURL == "" {
		req.IndexURL = serve.IndexURL(serve.DefaultAddr)
	}
	if req.IndexConfig == nil {
		cfg := lb.Index
		cfg.Wheelhouse = req.Path
		// Checked as the server will check it, and so that no
		// credential in an upstream URL reaches an image.
		if err := cfg.Validate(); err != nil {
			return req, fmt.Errorf("the index server's configuration: %w", err)
		}
		if req.IndexConfig, err = json.MarshalIndent(cfg, "", "  "); err != nil {
			return req, fmt.Errorf("encoding the index server's configuration: %w", err)
		}
	}
	return req, nil
}

// LockPlatforms lists, in order, the platforms of the lock's targets (of
// targets when the lock names none), and the names of those targets.
func LockPlatforms(l *pylock.Lock, targets []string) (platforms, names []string, err error) {
	names = l.Targets()
	if len(names) == 0 {
		names = targets
	}
	for _, n := range names {
		t, err := target.Parse(n)
		if err != nil {
			return nil, nil, fmt.Errorf("target %q: %w", n, err)
		}
		if p := t.Platform(); !slices.Contains(platforms, p) {
			platforms = append(platforms, p)
		}
	}
	return platforms, names, nil
}

// SourceDateEpoch is the time SOURCE_DATE_EPOCH sets, or the Unix epoch.
func SourceDateEpoch() (time.Time, error) {
	s := os.Getenv("SOURCE_DATE_EPOCH")
	if s == "" {
		return time.Unix(0, 0).UTC(), nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return time.Time{}, &SourceDateEpochError{Value: s}
	}
	return time.Unix(n, 0).UTC(), nil
}

// CreationTime is the images' creation time: SOURCE_DATE_EPOCH, else the
// newest upload time in the closure (a time the content itself fixes),
// else the Unix epoch.
func CreationTime(entries []wheelhouse.Entry) (time.Time, error) {
	if os.Getenv("SOURCE_DATE_EPOCH") != "" {
		return SourceDateEpoch()
	}
	var newest time.Time
	for _, e := range entries {
		if e.UploadTime.After(newest) {
			newest = e.UploadTime
		}
	}
	if newest.IsZero() {
		return time.Unix(0, 0).UTC(), nil
	}
	return newest.UTC().Truncate(time.Second), nil
}

// Version is larder's version as the build records it ("devel" for a
// build from a work tree), for the images' labels.
func Version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	v := info.Main.Version
	if info.Main.Path != modulePath {
		v = ""
		for _, d := range info.Deps {
			if d.Path == modulePath {
				v = d.Version
			}
		}
	}
	if v == "" || v == "(devel)" {
		return "devel"
	}
	return v
}

const modulePath = "github.com/larder-build/larder"

// IndexPlatforms are the platforms larder-index is built for.
var IndexPlatforms = []string{"linux/amd64", "linux/arm64", "linux/386", "linux/arm/v7", "linux/ppc64le", "linux/s390x", "linux/riscv64"}

// IndexBinariesIn finds the larder-index binaries in dir, named
// larder-index-OS-ARCH[-VARIANT] as make build names them, by platform.
func IndexBinariesIn(dir string) map[string]string {
	out := map[string]string{}
	for _, p := range IndexPlatforms {
		cand := filepath.Join(dir, "larder-index-"+strings.ReplaceAll(p, "/", "-"))
		if _, err := os.Stat(cand); err == nil {
			out[p] = cand
		}
	}
	return out
}
