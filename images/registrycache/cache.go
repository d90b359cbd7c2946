package registrycache

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/larder-build/larder/internal/ocilayout"
	"github.com/larder-build/larder/internal/readlimit"
	"github.com/larder-build/larder/internal/regtransport"
	"github.com/larder-build/larder/resolver/simple"
	"github.com/larder-build/larder/wheelhouse"
	"github.com/larder-build/larder/wheelhouse/ctxio"
)

// The transports of a cache reference.
const (
	Docker = "docker" // docker://REGISTRY/REPO
	OCI    = "oci"    // oci:DIR
)

// options configure Open; Option values set them.
type options struct {
	insecure  bool
	keychain  authn.Keychain
	transport http.RoundTripper
	timeouts  timeouts
}

// Option says how a Cache reaches its registry.
type Option func(*options) error

// WithInsecure allows plain HTTP to a registry that is not on loopback
// (loopback registries are always reached over plain HTTP when they
// speak no TLS).
func WithInsecure(insecure bool) Option {
	return func(o *options) error { o.insecure = insecure; return nil }
}

// WithKeychain finds credentials in k (default authn.DefaultKeychain:
// the Docker config and its credential helpers, then REGISTRY_AUTH_FILE
// and the containers auth.json).
func WithKeychain(k authn.Keychain) Option {
	return func(o *options) error {
		if k == nil {
			return errors.New("a nil keychain")
		}
		o.keychain = k
		return nil
	}
}

// WithTransport sends requests through t (default
// remote.DefaultTransport), e.g. to trust a private certificate
// authority.
func WithTransport(t http.RoundTripper) Option {
	return func(o *options) error {
		if t == nil {
			return errors.New("a nil transport")
		}
		o.transport = t
		return nil
	}
}

// Cache is a shared cache of distribution files, addressed by sha256. It
// is safe for concurrent use.
type Cache struct {
	ref string

	// A registry.
	repo name.Repository
	auth authn.Authenticator
	base http.RoundTripper
	// The authenticated transports, made on first use: one ping and
	// token exchange per scope, not per blob.
	read, write lazyTransport
	timeouts    timeouts

	// A layout.
	dir string
}

// Check reports whether ref names a cache (docker://REGISTRY/REPO or
// oci:DIR), touching neither the network nor the disk.
func Check(ref string) error {
	switch {
	case strings.HasPrefix(ref, Docker+"://"):
		if _, err := name.NewRepository(strings.TrimPrefix(ref, Docker+"://"), name.StrictValidation); err != nil {
			return fmt.Errorf("%q: %w (a cache is a repository, without a tag or digest)", ref, err)
		}
	case strings.HasPrefix(ref, OCI+":"):
		if strings.TrimPrefix(ref, OCI+":") == "" {
			return fmt.Errorf("%q: oci: needs a folder", ref)
		}
	default:
		return fmt.Errorf("%q: expected docker://REGISTRY/REPO or oci:DIR", ref)
	}
	return nil
}

// Open returns the cache ref names: docker://REGISTRY/REPO or oci:DIR
// (created when absent). Nothing is sent to a registry before the first
// request.
func Open(ctx context.Context, ref string, opt ...Option) (*Cache, error) {
	o := options{keychain: authn.DefaultKeychain, transport: remote.DefaultTransport, timeouts: defaultTimeouts}
	for _, fn := range opt {
		if err := fn(&o); err != nil {
			return nil, fmt.Errorf("opening cache %s: %w", ref, err)
		}
	}
	c := &Cache{ref: ref, timeouts: o.timeouts}
	switch {
	case strings.HasPrefix(ref, Docker+"://"):
		s := strings.TrimPrefix(ref, Docker+"://")
		nopts := []name.Option{name.StrictValidation}
		if o.insecure {
			nopts = append(nopts, name.Insecure)
		}
		repo, err := name.NewRepository(s, nopts...)
		if err != nil {
			return nil, fmt.Errorf("cache %q: %w (a cache is a repository, without a tag or digest)", ref, err)
		}
		c.repo = repo
		guard := &plainHTTPGuard{next: o.transport, insecure: o.insecure, loopback: isLoopback(hostOf(repo.RegistryStr()))}
		c.base = regtransport.New(guard, o.timeouts.requests)
		if c.auth, err = authn.Resolve(ctx, o.keychain, repo.Registry); err != nil {
			return nil, fmt.Errorf("finding credentials for %s: %w", repo.RegistryStr(), err)
		}
	case strings.HasPrefix(ref, OCI+":"):
		c.dir = strings.TrimPrefix(ref, OCI+":")
		if c.dir == "" {
			return nil, fmt.Errorf("cache %q: oci: needs a folder", ref)
		}
		if err := makeLayout(ctx, c.dir); err != nil {
			return nil, fmt.Errorf("opening cache %s: %w", ref, err)
		}
	default:
		return nil, fmt.Errorf("cache %q: expected docker://REGISTRY/REPO or oci:DIR", ref)
	}
	return c, nil
}

// makeLayout makes the OCI layout in dir when it is not one yet: a
// folder that is missing or holds nothing but larder's lock files and
// temporary files (a folder holding anything else is refused, not
// written into). It writes under the layout's locks, as every writer of
// a layout does (package ocilayout): another larder process that makes
// or writes it at once, a push, a fetch or a bake, keeps what it wrote.
func makeLayout(ctx context.Context, dir string) error {
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(dir, 0o775); err != nil { // under the umask, as every layout folder
			return err
		}
	case err != nil:
		return err
	case !st.IsDir():
		return fmt.Errorf("%s exists and is not a folder", dir)
	default:
		if err := ocilayout.Check(dir); err != nil {
			return err
		}
		if whole(dir) {
			// Nothing to make: a cache only read (a fetch from a
			// read-only folder or mount) writes nothing, and each write
			// takes its own hold.
			return nil
		}
	}
	// What bakes killed while making a layout here left beside it.
	ocilayout.RemoveStale(dir)
	u, err := ocilayout.Take(ctx, dir, true, nil)
	if err != nil {
		return err
	}
	defer u.Close()
	if err := ocilayout.WriteLayoutFile(dir); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(dir, ocilayout.IndexFile)); err == nil {
		return nil
	}
	release, err := u.LockIndex(ctx, nil)
	if err != nil {
		return err
	}
	defer release()
	if _, err := os.Stat(filepath.Join(dir, ocilayout.IndexFile)); err == nil {
		return nil // another process's, meanwhile
	}
	return ocilayout.WriteIndex(dir, v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex})
}

// whole reports whether dir has the two files that make it a layout.
func whole(dir string) bool {
	for _, f := range []string{ocilayout.LayoutFile, ocilayout.IndexFile} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || !st.Mode().IsRegular() {
			return false
		}
	}
	return true
}

// hold is, for a layout, a shared hold on it (ocilayout.Take) until
// release is called: no larder process removes a blob of it meanwhile,
// such as one this process has written and not yet tagged, or reads. A
// layout only read makes no lock file: one without (no larder process
// wrote it) is read without a hold. For a registry, it holds nothing.
func (c *Cache) hold(ctx context.Context, write bool) (release func(), err error) {
	if c.dir == "" {
		return func() {}, nil
	}
	u, err := ocilayout.Take(ctx, c.dir, write, nil)
	if err != nil {
		return nil, fmt.Errorf("cache %s: %w", c.ref, err)
	}
	return u.Close, nil
}

// String is the reference the cache was opened with.
func (c *Cache) String() string { return c.ref }

// annotationRefName names a manifest's tag in an OCI layout's index.
const annotationRefName = "org.opencontainers.image.ref.name"

// layoutManifests reads the index of the cache's OCI layout: the
// descriptors of the manifests it holds, each tagged by its
// annotationRefName. index.json is read as anything in a shared folder
// is (ocilayout.ReadIndexFile): a regular file, bounded.
func (c *Cache) layoutManifests() ([]v1.Descriptor, error) {
	im, _, err := ocilayout.ReadIndexFile(c.dir)
	if err != nil {
		return nil, err
	}
	return im.Manifests, nil
}

// plainHTTPGuard refuses plain HTTP to anything but loopback unless the
// user asked for it: go-containerregistry also falls back to HTTP for
// private (RFC 1918) addresses, where credentials would cross the
// network in clear. Loopback itself is for a registry on loopback only:
// a registry elsewhere could otherwise send the cache, by a redirect, a
// tag list's Link or its token realm, to a plain-HTTP service of the
// machine it runs on.
type plainHTTPGuard struct {
	next     http.RoundTripper
	insecure bool
	// loopback says the registry itself is on loopback.
	loopback bool
}

func (g *plainHTTPGuard) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Scheme == "http" && !g.insecure && !(g.loopback && isLoopback(r.URL.Hostname())) {
		return nil, &PlainHTTPError{Host: r.URL.Host, FromRemote: isLoopback(r.URL.Hostname())}
	}
	return g.next.RoundTrip(r)
}

// PlainHTTPError is a request in clear refused because WithInsecure did
// not allow it: to a host that is not on loopback, or (FromRemote) to
// loopback from a registry that is not.
type PlainHTTPError struct {
	Host       string
	FromRemote bool
}

// Error names the host.
func (e *PlainHTTPError) Error() string {
	if e.FromRemote {
		return fmt.Sprintf("refusing plain HTTP to %s: a registry that is not on loopback sent the cache there", e.Host)
	}
	return fmt.Sprintf("refusing plain HTTP to %s: it is not on loopback and insecure registries are not allowed", e.Host)
}

// hostOf is the host of a registry's host[:port].
func hostOf(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return strings.TrimSuffix(strings.TrimPrefix(hostport, "["), "]")
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// reader is the transport that reads the repository: pull scope only, so
// that a read-only credential is never refused a token for want of push.
func (c *Cache) reader(ctx context.Context) (http.RoundTripper, error) {
	return c.read.get(ctx, c, transport.PullScope)
}

// writer is the transport that pushes.
func (c *Cache) writer(ctx context.Context) (http.RoundTripper, error) {
	return c.write.get(ctx, c, transport.PushScope)
}

func checkSum(sum string) (v1.Hash, error) {
	if !simple.ValidSHA256(sum) {
		return v1.Hash{}, fmt.Errorf("%q is not a lower-case hex sha256", sum)
	}
	return v1.Hash{Algorithm: "sha256", Hex: sum}, nil
}

// blobURL is where the blob is asked for; the transport keeps the
// scheme its first request found (https, or http on loopback).
func (c *Cache) blobURL(h v1.Hash) string {
	return fmt.Sprintf("%s://%s/v2/%s/blobs/%s", c.repo.Scheme(), c.repo.RegistryStr(), c.repo.RepositoryStr(), h)
}

// blobName names the blob in messages, without a scheme that the
// transport may have changed.
func (c *Cache) blobName(h v1.Hash) string {
	return fmt.Sprintf("%s/%s@%s", c.repo.RegistryStr(), c.repo.RepositoryStr(), h)
}

// statusError is the registry's answer as go-containerregistry reads it
// (its error codes, such as DENIED or UNAUTHORIZED, included).
func (c *Cache) statusError(method string, h v1.Hash, resp *http.Response) error {
	if err := transport.CheckError(resp, http.StatusOK); err != nil {
		return err // it names the method and the URL the request went to
	}
	return fmt.Errorf("%s %s: %s", method, c.blobName(h), resp.Status)
}

// blobRequest sends a HEAD or GET for a blob.
func (c *Cache) blobRequest(ctx context.Context, method string, h v1.Hash) (*http.Response, error) {
	rt, err := c.reader(ctx)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, method, c.blobURL(h), nil)
	if err != nil {
		return nil, err
	}
	resp, err := (&http.Client{Transport: rt}).Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, c.blobName(h), err)
	}
	return resp, nil
}

// Has reports whether the cache holds the blob sha256 (a HEAD, for a
// registry).
func (c *Cache) Has(ctx context.Context, sum string) (bool, error) {
	return c.has(ctx, sum, -1)
}

// has is Has, for a layout of a blob of size bytes when size is not
// negative. What is planted at a blob's path of a layout (a link, even
// to the blob's bytes elsewhere, which Get refuses; a named pipe; a file
// of another size) is no blob: Put replaces it. A folder there, which
// Put cannot replace, is an error naming it (ocilayout.HasBlob).
func (c *Cache) has(ctx context.Context, sum string, size int64) (bool, error) {
	h, err := checkSum(sum)
	if err != nil {
		return false, err
	}
	if c.dir != "" {
		ok, err := ocilayout.HasBlob(c.dir, h, size)
		if ocilayout.Replaceable(err) {
			return false, nil
		}
		return ok, err
	}
	resp, err := c.blobRequest(ctx, http.MethodHead, h)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		return true, nil
	case http.StatusNotFound:
		return false, nil
	}
	return false, c.statusError(http.MethodHead, h, resp)
}

// Get opens the blob sha256. The bytes are the registry's: the caller
// verifies them. A blob the cache lacks is an error wrapping
// fs.ErrNotExist.
func (c *Cache) Get(ctx context.Context, sum string) (io.ReadCloser, int64, error) {
	h, err := checkSum(sum)
	if err != nil {
		return nil, 0, err
	}
	if c.dir != "" {
		// Only a regular file, never through a link, never waiting on
		// a named pipe: a shared layout is anyone's to plant in.
		f, size, err := readlimit.Open(c.blobPath(h), readlimit.NoLinks)
		if err != nil {
			return nil, 0, fmt.Errorf("reading blob %s of %s: %w", h, c.ref, err)
		}
		return f, size, nil
	}
	resp, err := c.blobRequest(ctx, http.MethodGet, h)
	if err != nil {
		return nil, 0, err
	}
	switch resp.StatusCode {
	case http.StatusOK:
		return resp.Body, resp.ContentLength, nil
	case http.StatusNotFound:
		resp.Body.Close()
		return nil, 0, fmt.Errorf("GET %s: %w", c.blobName(h), fs.ErrNotExist)
	}
	defer resp.Body.Close()
	return nil, 0, c.statusError(http.MethodGet, h, resp)
}

// Put uploads size bytes of r as the blob sha256, unless the cache holds
// it already (the registry is asked first). A registry verifies the
// digest of what it receives; a layout is written through a temporary
// file that is hashed before it is renamed.
func (c *Cache) Put(ctx context.Context, sum string, size int64, r io.Reader) error {
	h, err := checkSum(sum)
	if err != nil {
		return err
	}
	if c.dir != "" {
		return c.putFile(ctx, h, size, r)
	}
	rt, err := c.writer(ctx)
	if err != nil {
		return fmt.Errorf("pushing blob %s: %w", h, err)
	}
	l := &blobLayer{digest: h, size: size, r: r}
	if err := remote.WriteLayer(c.repo, l, remote.WithContext(ctx), remote.WithTransport(rt)); err != nil {
		return fmt.Errorf("pushing blob %s to %s: %w", h, c.ref, err)
	}
	return nil
}

func (c *Cache) blobPath(h v1.Hash) string {
	return filepath.Join(c.dir, "blobs", h.Algorithm, h.Hex)
}

// putFile writes a blob into the layout, under a hold on it.
func (c *Cache) putFile(ctx context.Context, h v1.Hash, size int64, r io.Reader) error {
	release, err := c.hold(ctx, true)
	if err != nil {
		return err
	}
	defer release()
	dst := c.blobPath(h)
	// A link planted as the blob is no blob (Get refuses it): the
	// rename below replaces it. A folder it cannot.
	ok, err := ocilayout.HasBlob(c.dir, h, size)
	if ok {
		return nil
	}
	if err != nil && !ocilayout.Replaceable(err) {
		return fmt.Errorf("writing blob %s to %s: %w", h, c.ref, err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o775); err != nil {
		return fmt.Errorf("writing blob %s: %w", h, err)
	}
	tmp, err := wheelhouse.CreateTemp(filepath.Dir(dst), "."+h.Hex+".tmp-*", 0o644)
	if err != nil {
		return fmt.Errorf("writing blob %s: %w", h, err)
	}
	hh := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, hh), ctxio.Reader(ctx, r))
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil && (n != size || hex.EncodeToString(hh.Sum(nil)) != h.Hex) {
		err = fmt.Errorf("the bytes given are sha256 %s, %d bytes; want %s, %d bytes", hex.EncodeToString(hh.Sum(nil)), n, h.Hex, size)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), dst)
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("writing blob %s to %s: %w", h, c.ref, err)
	}
	return nil
}

// blobLayer is a file as go-containerregistry pushes a layer: its bytes
// are the blob as they are (no compression, no diff ID of its own).
type blobLayer struct {
	digest v1.Hash
	size   int64
	mu     sync.Mutex
	r      io.Reader
}

func (l *blobLayer) Digest() (v1.Hash, error) { return l.digest, nil }
func (l *blobLayer) DiffID() (v1.Hash, error) { return l.digest, nil }
func (l *blobLayer) Size() (int64, error)     { return l.size, nil }
func (l *blobLayer) MediaType() (types.MediaType, error) {
	return MediaTypeFile, nil
}
func (l *blobLayer) Uncompressed() (io.ReadCloser, error) { return l.Compressed() }

// Compressed gives the bytes once: the reader of a Put cannot be rewound.
func (l *blobLayer) Compressed() (io.ReadCloser, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.r == nil {
		return nil, errors.New("the blob's bytes were already sent once")
	}
	r := l.r
	l.r = nil
	return io.NopCloser(r), nil
}
