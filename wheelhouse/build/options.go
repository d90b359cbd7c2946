package build

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
)

// Option configures a Host.
type Option func(*options) error

type options struct {
	python   string
	cacheDir string
	// gitCacheDir holds git checkouts (in its git/ folder). By default it
	// is larder's cache root, where the resolver keeps the checkouts it
	// read metadata from, so a fork is fetched once for lock and build.
	gitCacheDir string
	indexURL    string
	findLinks   []string
	logDir      string
}

// WithPython sets the interpreter that runs pip (default "python3"); a
// name without a slash is looked up on PATH.
func WithPython(path string) Option {
	return nonEmptyPath("python", path, func(o *options) { o.python = path })
}

// WithCacheDir sets where built wheels and git checkouts are kept (default
// $XDG_CACHE_HOME/larder/builds for wheels and $XDG_CACHE_HOME/larder/git
// for checkouts, shared with larder lock).
func WithCacheDir(dir string) Option {
	return nonEmptyPath("cache dir", dir, func(o *options) { o.cacheDir = dir })
}

// WithIndex sets a PEP 503 index (file://, http:// or https://) that serves
// build dependencies for isolated builds. pip reaches no other index.
func WithIndex(rawURL string) Option {
	return func(o *options) error {
		u, err := url.Parse(rawURL)
		if err != nil {
			return fmt.Errorf("parsing index URL %q: %w", rawURL, err)
		}
		switch u.Scheme {
		case "file", "http", "https":
		default:
			return fmt.Errorf("index URL %q: want a file, http or https URL", rawURL)
		}
		o.indexURL = rawURL
		return nil
	}
}

// WithFindLinks adds a folder of wheels that serves build dependencies for
// isolated builds; it may be given several times.
func WithFindLinks(dir string) Option {
	return func(o *options) error {
		abs, err := filepath.Abs(dir)
		if err != nil {
			return fmt.Errorf("find-links %q: %w", dir, err)
		}
		st, err := os.Stat(abs)
		if err != nil {
			return fmt.Errorf("find-links: %w", err)
		}
		if !st.IsDir() {
			return fmt.Errorf("find-links %q: not a folder", dir)
		}
		o.findLinks = append(o.findLinks, abs)
		return nil
	}
}

// WithLogDir sets where the logs of failed builds are saved (default: logs
// in the cache folder).
func WithLogDir(dir string) Option {
	return nonEmptyPath("log dir", dir, func(o *options) { o.logDir = dir })
}

// nonEmptyPath is an Option that refuses an empty path, naming it what,
// and otherwise runs set.
func nonEmptyPath(what, path string, set func(*options)) Option {
	return func(o *options) error {
		if path == "" {
			return fmt.Errorf("%s: empty path", what)
		}
		set(o)
		return nil
	}
}

// defaultCacheDir is $XDG_CACHE_HOME/larder/builds, or the platform's user
// cache folder when XDG_CACHE_HOME is unset.
func defaultCacheDir() (string, error) {
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "larder", "builds"), nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("finding the cache folder: %w", err)
	}
	return filepath.Join(d, "larder", "builds"), nil
}
