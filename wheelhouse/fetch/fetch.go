package fetch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/larder-build/larder/internal/netrc"
	"github.com/larder-build/larder/resolver/pylock"
	"github.com/larder-build/larder/wheelhouse"
	"github.com/larder-build/larder/wheelhouse/build"
)

// Defaults of the Options.
const (
	DefaultJobs    = 8
	DefaultRetries = 4
)

// options configure Fetch; Option values set them.
type options struct {
	jobs     int
	retries  int
	cacheDir string
	builder  build.Builder
	client   *http.Client
	progress func(Event)
	// remote is the shared cache (WithCache); remotePush fills it.
	remote     Cache
	remotePush bool
	builderID  string // in build keys (WithBuilderIdentity)
	// credentials are the index credentials (WithIndexCredentials),
	// netrc the user's netrc (WithNetrc).
	credentials []indexCredential
	netrc       *netrc.File
	// gitURLs are git URLs with credentials (WithGitCredentials).
	gitURLs []string

	// Test seams.
	backoff     time.Duration               // first retry delay (default 250ms)
	stall       time.Duration               // a body that sends nothing this long is retried (default 60s)
	commitEvery time.Duration               // manifest commit interval (default 2s)
	wrapWriter  func(w io.Writer) io.Writer // wraps every temporary file as written (disk-full tests)
	maxUnsized  int64                       // bytes a file of no size in the lock may take (default MaxUnsizedDownload)
}

// Option says how Fetch works. With none: 8 downloads at once, 4
// retries, no shared cache, no builder.
type Option func(*options) error

// WithJobs sets how many files are downloaded at once (default 8; at
// least 1).
func WithJobs(n int) Option {
	return func(o *options) error {
		if n < 1 {
			return fmt.Errorf("jobs %d: want at least 1", n)
		}
		o.jobs = n
		return nil
	}
}

// WithRetries sets how many times a failed download is tried again,
// after a 5xx or 429 answer, a reset connection, a stalled or truncated
// body (default 4; 0 for none).
func WithRetries(n int) Option {
	return func(o *options) error {
		if n < 0 {
			return fmt.Errorf("retries %d: want 0 or more", n)
		}
		o.retries = n
		return nil
	}
}

// WithCacheDir shares larder's user cache folder, common to every store
// on the machine: files are kept under dir/files/sha256/<aa>/<hash>,
// hard-linked into a store instead of downloaded again. Without it
// (or with ""), no cache is used.
func WithCacheDir(dir string) Option {
	return func(o *options) error {
		o.cacheDir = dir
		return nil
	}
}

// WithBuilder makes wheels from sdists and git checkouts with b. Without
// one, the packages that need a build are reported in the Report and the
// error is a *NeedsBuilderError, once everything else is fetched.
func WithBuilder(b build.Builder) Option {
	return func(o *options) error {
		o.builder = b
		return nil
	}
}

// WithBuilderFunc is WithBuilder with a builder made on the first build,
// so that a lock with nothing to build never needs what a builder needs
// (a Python, a BuildKit daemon). An error making it fails that build.
func WithBuilderFunc(make func() (build.Builder, error)) Option {
	return func(o *options) error {
		if make == nil {
			return errors.New("a nil builder func")
		}
		o.builder = &lazyBuilder{make: make}
		return nil
	}
}

// lazyBuilder makes its builder on the first build.
type lazyBuilder struct {
	make func() (build.Builder, error)
	once sync.Once
	b    build.Builder
	err  error
}

func (l *lazyBuilder) Build(ctx context.Context, req build.Request, outDir string) (string, error) {
	l.once.Do(func() { l.b, l.err = l.make() })
	if l.err != nil {
		return "", l.err
	}
	return l.b.Build(ctx, req, outDir)
}

// WithClient sets the HTTP client (default: a keep-alive transport with
// one idle connection per job and host, and no transparent
// decompression).
func WithClient(c *http.Client) Option {
	return func(o *options) error {
		o.client = c
		return nil
	}
}

// WithProgress has fn receive an Event for each step of each file; it is
// called from several goroutines at once and must be quick.
func WithProgress(fn func(Event)) Option {
	return func(o *options) error {
		o.progress = fn
		return nil
	}
}

// State is where a file stands.
type State string

// The states of an Event.
const (
	Started  State = "started"
	Progress State = "progress"
	Done     State = "done"
	Skipped  State = "skipped"
	Failed   State = "failed"
)

// How a file got into the store, in Event.Via.
const (
	ViaDownload = "download" // from its URL
	ViaCache    = "cache"    // linked or copied from the user cache
	ViaPresent  = "present"  // already in the store (re-hashed)
	ViaBuild    = "build"    // built by the Builder
	// ViaSharedCache is a file copied from the shared cache (WithCache).
	ViaSharedCache = "shared-cache"
)

// Event is a step of one file.
type Event struct {
	// File is the file name; for a build, the sdist or the repository
	// until Done names the wheel.
	File    string
	Project string
	Version string
	// Target is set for builds.
	Target string
	State  State
	Via    string
	// Bytes of Total are done; Total is 0 when unknown.
	Bytes, Total int64
	Err          error
}

// Report is what a fetch did.
type Report struct {
	// Files is how many files the lock needs (built wheels included).
	Files      int `json:"files"`
	Downloaded int `json:"downloaded"`
	Linked     int `json:"linked_from_cache"`
	// FromCache is how many files came from the shared cache
	// (WithCache), Pushed how many the fetch put there.
	FromCache int `json:"from_shared_cache"`
	Pushed    int `json:"pushed_to_shared_cache"`
	// BuildsSaved is how many of FromCache are wheels another machine
	// built, found by their build key instead of built here.
	BuildsSaved int   `json:"builds_from_shared_cache"`
	Present     int   `json:"present"`
	Adopted     int   `json:"adopted"` // of Present: on disk but not in the manifest
	Built       int   `json:"built"`
	Retries     int   `json:"retries"`
	Bytes       int64 `json:"bytes_downloaded"`
	TotalBytes  int64 `json:"total_bytes"` // size of every file the lock needs
	// NeedsBuilder lists "name==version for target" left unbuilt for
	// want of a Builder.
	NeedsBuilder []string      `json:"needs_builder"`
	Warnings     []string      `json:"warnings,omitempty"`
	Duration     time.Duration `json:"-"`
	Seconds      float64       `json:"seconds"`
}

// NeedsBuilderError reports packages that only a build can provide for
// some targets when Options.Builder is nil.
type NeedsBuilderError struct {
	Packages []string // "name==version for target"
}

// Error lists the packages and targets left unbuilt.
func (e *NeedsBuilderError) Error() string {
	return fmt.Sprintf("%d wheel(s) must be built from source and no builder is set: %s",
		len(e.Packages), strings.Join(e.Packages, ", "))
}

// HashError is a download whose sha256 differs from the lock's.
type HashError struct {
	File, Want, Got string
}

// Error names the file and both digests.
func (e *HashError) Error() string {
	return fmt.Sprintf("%s: sha256 mismatch: the lock says %s, the download is %s (nothing was kept)", e.File, e.Want, e.Got)
}

// StatusError is an HTTP answer that is not a success.
type StatusError struct {
	URL    string
	Code   int
	Status string
}

// Error names the URL and the status.
func (e *StatusError) Error() string { return fmt.Sprintf("GET %s: %s", e.URL, e.Status) }

// fetcher is one run of Fetch.
type fetcher struct {
	store  *wheelhouse.Store
	plan   *plan
	opts   options
	client *http.Client
	files  string      // the store's files/ folder
	cache  string      // the cache's sha256/ folder, or ""
	mode   fs.FileMode // of a new file here: 0644 under the umask

	mu  sync.Mutex // guards rep
	rep Report

	commitMu sync.Mutex
	warned   sync.Once
	remote   remoteState
}

// Fetch makes store hold every file lock needs, verified against the
// lock's sha256 and size, with a PEP 658 sidecar for every wheel, the
// manifest and the static simple index (wheelhouse.WriteStatic). Files
// already in the store (or on disk under their name) whose hash matches
// cost no network; files in the user cache are linked. On error or
// cancellation, what finished is kept and committed, and nothing else is
// left behind.
func Fetch(ctx context.Context, store *wheelhouse.Store, lock *pylock.Lock, opt ...Option) (rep *Report, err error) {
	start := time.Now()
	opts, err := makeOptions(opt)
	if err != nil {
		return nil, fmt.Errorf("fetching: %w", err)
	}
	p, err := makePlan(lock)
	if err != nil {
		return nil, err
	}
	f := &fetcher{store: store, plan: p, opts: opts, files: filepath.Join(store.Dir(), wheelhouse.FilesDir)}
	f.rep.NeedsBuilder = []string{}
	if opts.cacheDir != "" {
		f.cache = filepath.Join(opts.cacheDir, "files", "sha256")
	}
	f.client = opts.client
	if f.client == nil {
		tr := newTransport(opts.jobs)
		defer tr.CloseIdleConnections()
		f.client = &http.Client{Transport: tr}
	}
	if len(opts.credentials) > 0 || opts.netrc != nil {
		f.client = opts.authorizeRedirects(f.client)
	}
	if err := os.MkdirAll(f.files, wheelhouse.FolderMode); err != nil {
		return nil, fmt.Errorf("creating %s: %w", f.files, err)
	}
	// Other fetches may write the store at once; gc may not.
	release, err := store.BeginWrite(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	if f.cache != "" {
		removeStaleCacheTemps(f.cache)
	}
	// When a download fills the disk, the manifest that lists the files
	// already verified must still find room: Commit frees this reserve
	// then. About 1 KiB an entry.
	if unreserve, err := store.Reserve(int64(len(store.Entries())+len(p.wants)+len(p.jobs)*4)*1024 + 64<<10); err == nil {
		defer unreserve()
	}
	f.mode = umaskedMode(f.files)
	for _, w := range p.wants {
		f.rep.TotalBytes += w.size
	}
	f.rep.Files = len(p.wants)
	for _, j := range p.jobs {
		f.rep.Files += len(j.targets) // at most: a pure wheel serves several
	}

	stop := make(chan struct{})
	var loop sync.WaitGroup
	loop.Add(1)
	go func() {
		defer loop.Done()
		t := time.NewTicker(opts.commitEvery)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				_ = f.commit() // the final commit reports errors
			}
		}
	}()
	defer func() {
		close(stop)
		loop.Wait()
		// Renames are durable before the manifest names them.
		syncDir(f.files)
		cerr := f.commit()
		if cerr == nil && err == nil {
			cerr = wheelhouse.WriteStatic(ctx, store)
		}
		if err == nil && cerr != nil {
			err = cerr
		}
		f.mu.Lock()
		f.rep.Duration = time.Since(start)
		f.rep.Seconds = f.rep.Duration.Seconds()
		r := f.rep
		f.mu.Unlock()
		sort.Strings(r.NeedsBuilder)
		rep = &r
		if err == nil && len(r.NeedsBuilder) > 0 {
			err = &NeedsBuilderError{Packages: r.NeedsBuilder}
		}
	}()

	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(opts.jobs)
	for _, w := range p.wants {
		g.Go(func() error {
			err := f.fetchFile(gctx, w)
			if err != nil && gctx.Err() == nil {
				f.emit(Event{File: w.name, Project: w.project, Version: w.version, State: Failed, Err: err})
			}
			return err
		})
	}
	err = g.Wait()
	if err == nil {
		err = f.buildAll(ctx)
	}
	if ctx.Err() != nil {
		return nil, fmt.Errorf("fetching was interrupted (what finished is kept): %w", context.Cause(ctx))
	}
	return nil, err
}

// makeOptions applies opt over the defaults.
func makeOptions(opt []Option) (options, error) {
	o := options{jobs: DefaultJobs, retries: DefaultRetries,
		backoff: 250 * time.Millisecond, stall: 60 * time.Second, commitEvery: 2 * time.Second,
		maxUnsized: MaxUnsizedDownload}
	for _, fn := range opt {
		if err := fn(&o); err != nil {
			return o, err
		}
	}
	return o, nil
}

// newTransport keeps a connection per job alive, and asks for no
// Content-Encoding so that the bytes hashed are the bytes of the file.
func newTransport(jobs int) *http.Transport {
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          max(100, jobs),
		MaxIdleConnsPerHost:   jobs,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   15 * time.Second,
		ResponseHeaderTimeout: 60 * time.Second,
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true,
	}
}

func (f *fetcher) emit(e Event) {
	if f.opts.progress != nil {
		f.opts.progress(e)
	}
}

func (f *fetcher) count(fn func(r *Report)) {
	f.mu.Lock()
	fn(&f.rep)
	f.mu.Unlock()
}

func (f *fetcher) warn(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	f.count(func(r *Report) {
		if len(r.Warnings) < 20 {
			r.Warnings = append(r.Warnings, msg)
		}
	})
}

// commit writes the manifest; the periodic and the final commits never
// interleave, so an older snapshot never lands after a newer one.
func (f *fetcher) commit() error {
	f.commitMu.Lock()
	defer f.commitMu.Unlock()
	return f.store.Commit()
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}
