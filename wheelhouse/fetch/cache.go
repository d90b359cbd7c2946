package fetch

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/larder-build/larder/resolver/target"
	"github.com/larder-build/larder/wheelhouse"
	"github.com/larder-build/larder/wheelhouse/ctxio"
)

// Cache is a shared store of distribution files addressed by their
// sha256 (hex, the hash the lock records), such as an OCI registry that
// many machines read and fill. Fetch looks a file up there before its
// index, and verifies every byte it reads against the lock.
type Cache interface {
	// Has reports whether the cache holds the file with this sha256.
	Has(ctx context.Context, sha256 string) (bool, error)
	// Get opens the file with this sha256 and says its size; a file the
	// cache does not hold is an error that wraps fs.ErrNotExist.
	Get(ctx context.Context, sha256 string) (io.ReadCloser, int64, error)
	// Put stores size bytes of r under sha256; storing a file the cache
	// already holds is not an error.
	Put(ctx context.Context, sha256 string, size int64, r io.Reader) error
}

// WithCache looks every file up in c, by its sha256, before its index.
// A cache that cannot be reached or refuses costs one failed attempt: it
// is reported once, in the Report's warnings, and the fetch goes on from
// the index. With push, what the fetch downloads is put into c too; a
// cache that refuses writes (a read-only credential) is reported once
// and never fails the fetch.
func WithCache(c Cache, push bool) Option {
	return func(o *options) error {
		if c == nil {
			return errors.New("a nil cache")
		}
		o.remote, o.remotePush = c, push
		return nil
	}
}

// CacheHashError is a file of the shared cache whose bytes are not the
// ones the lock records: it is refused, and the file is fetched from its
// index instead.
type CacheHashError struct {
	File, Want, Got string
}

// Error names the file and both digests.
func (e *CacheHashError) Error() string {
	return fmt.Sprintf("%s: the cache serves sha256 %s, the lock says %s (refused, nothing kept)", e.File, e.Got, e.Want)
}

// remoteState is what one fetch knows of its shared cache.
type remoteState struct {
	down       atomic.Bool // a read failed: every later file goes to its index
	readWarned sync.Once
	pushWarned sync.Once
	pushDown   atomic.Bool
}

// fromRemote copies a file of the shared cache into the store, verified
// against the lock. It reports false, with no error, whenever the index
// should be tried instead: the cache lacks the file, cannot be reached,
// or serves other bytes.
func (f *fetcher) fromRemote(ctx context.Context, w *want) (bool, error) {
	if f.remote.down.Load() {
		return false, nil
	}
	rc, _, err := f.opts.remote.Get(ctx, w.sha256)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		if ctx.Err() != nil {
			return false, context.Cause(ctx)
		}
		f.remoteFailed(err)
		return false, nil
	}
	defer rc.Close()
	tmp, err := f.createTemp()
	if err != nil {
		return false, fmt.Errorf("creating a temporary file for %s: %w", w.name, err)
	}
	// One byte past the lock's size (or, when it gives none, the ceiling
	// of a file of unknown size) is enough to know the blob is wrong.
	rr := &readErr{r: ctxio.Reader(ctx, rc)}
	limit := f.ceiling(w)
	got, n, err := f.fillTemp(tmp, io.LimitReader(rr, limit+1))
	if err == nil && w.size <= 0 && n > limit {
		_ = os.Remove(tmp.Name())
		f.remoteFailed(fmt.Errorf("reading %s: the lock gives no size, and the cache's blob is larger than the %d bytes larder takes from a file of unknown size", w.name, limit))
		return false, nil
	}
	if err != nil {
		if ctx.Err() != nil {
			return false, context.Cause(ctx)
		}
		if rr.err == nil { // our disk, not the cache: the index would fail too
			return false, fmt.Errorf("copying %s from the shared cache: %w", w.name, err)
		}
		f.remoteFailed(fmt.Errorf("reading %s: %w", w.name, err))
		return false, nil
	}
	if got != w.sha256 || (w.size > 0 && n != w.size) {
		_ = os.Remove(tmp.Name())
		f.warn("%v", &CacheHashError{File: w.name, Want: w.sha256, Got: got})
		return false, nil
	}
	if err := f.finish(tmp.Name(), w, n, true); err != nil {
		return false, err
	}
	f.count(func(r *Report) { r.FromCache++ })
	f.emit(Event{File: w.name, Project: w.project, Version: w.version, State: Done, Via: ViaSharedCache, Bytes: n, Total: n})
	return true, nil
}

// remoteFailed stops reading the shared cache for the rest of the fetch
// and says so once.
func (f *fetcher) remoteFailed(err error) {
	// A cache that cannot be read is not pushed to either: one report.
	f.remote.pushDown.Store(true)
	f.remote.down.Store(true)
	f.remote.readWarned.Do(func() {
		f.warn("the shared cache is not used for the rest of this fetch (the files come from their index): %v", err)
	})
}

// pushRemote puts a file the fetch downloaded into the shared cache;
// a refusal stops the pushes and is reported once, never failing the
// fetch.
func (f *fetcher) pushRemote(ctx context.Context, w *want) {
	if f.opts.remote == nil || !f.opts.remotePush || f.remote.pushDown.Load() {
		return
	}
	err := f.putRemote(ctx, w.sha256, f.store.Path(w.name))
	if err != nil && ctx.Err() == nil {
		f.remote.pushDown.Store(true)
		f.remote.pushWarned.Do(func() {
			f.warn("the shared cache is not filled by this fetch: pushing %s: %v", w.name, err)
		})
		return
	}
	if err == nil {
		f.count(func(r *Report) { r.Pushed++ })
	}
}

func (f *fetcher) putRemote(ctx context.Context, sum, path string) error {
	fh, size, err := wheelhouse.OpenRegularSize(path)
	if err != nil {
		return err
	}
	defer fh.Close()
	return f.opts.remote.Put(ctx, sum, size, ctxio.Reader(ctx, fh))
}

// readErr remembers the error of its reader, so that a failed copy tells
// the cache's failures from the disk's.
type readErr struct {
	r   io.Reader
	err error
}

func (r *readErr) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF {
		r.err = err
	}
	return n, err
}

// BuildCache is a Cache that also keeps the wheels built from sdists and
// git checkouts, under a build key; Fetch looks a build up there before
// it builds, when its Cache is one.
type BuildCache interface {
	// LookupBuild finds the wheel built under key; found is false when
	// the cache has none.
	LookupBuild(ctx context.Context, key string) (w BuiltWheel, found bool, err error)
	// PutBuild records that key built w, whose file the cache holds.
	PutBuild(ctx context.Context, key string, w BuiltWheel) error
}

// BuiltWheel is a built wheel as a BuildCache records it.
type BuiltWheel struct {
	Filename string
	SHA256   string
	Size     int64
	Entry    wheelhouse.Entry // provenance: project, version, origin, private
}

// WithBuilderIdentity names the builder in build keys (e.g. "host
// python3.11" or "buildkit debian@sha256:..."), so that wheels built by
// another toolchain are not taken from the shared cache for this one.
func WithBuilderIdentity(id string) Option {
	return func(o *options) error {
		o.builderID = id
		return nil
	}
}

// BuildKey is the key of a wheel built for target from a package's
// source (a commit or an sdist's sha256) by builder: its sha256 over
// every part, each on a line of its own.
func BuildKey(project, version, source, target, builder string) string {
	h := sha256.New()
	for _, s := range []string{"larder-build-v1", project, version, source, target, builder} {
		io.WriteString(h, strings.ReplaceAll(s, "\n", " "))
		io.WriteString(h, "\n")
	}
	return hex.EncodeToString(h.Sum(nil))
}

// buildSource is the source part of a build key. A subdirectory is not
// in it: the wheelhouse does not record it, and the project name in the
// key tells the packages of one commit apart.
func buildSource(sdistSHA256, vcsURL, commit string) string {
	if sdistSHA256 != "" {
		return "sdist:" + sdistSHA256
	}
	return "git:" + vcsURL + "@" + commit
}

func (f *fetcher) buildKey(j *job, t target.Target) string {
	var src string
	if j.sdist != nil {
		src = buildSource(j.sdist.sha256, "", "")
	} else {
		src = buildSource("", j.vcs.URL, j.vcs.CommitID)
	}
	return BuildKey(j.project, j.version, src, t.String(), f.opts.builderID)
}

// EntryBuildKeys are the build keys a built wheel of the wheelhouse
// answers, one per target it was built for, by builder (as
// WithBuilderIdentity names it); none for a downloaded file.
func EntryBuildKeys(e wheelhouse.Entry, builder string) []string {
	var src string
	switch {
	case e.Origin.Kind == wheelhouse.OriginSdist && e.Origin.SdistSHA256 != "":
		src = buildSource(e.Origin.SdistSHA256, "", "")
	case e.Origin.Kind == wheelhouse.OriginVCS && e.Origin.Commit != "":
		src = buildSource("", e.Origin.URL, e.Origin.Commit)
	default:
		return nil
	}
	var keys []string
	for _, t := range e.Targets {
		keys = append(keys, BuildKey(e.Project, e.Version, src, t, builder))
	}
	return keys
}

func (f *fetcher) buildCache() BuildCache {
	bc, _ := f.opts.remote.(BuildCache)
	return bc
}

// fromBuildCache takes the wheel of a job for t from the shared cache,
// checked as a build is (project, version, tags) and against the
// sha256 the cache recorded for it. False, with no error, sends the job
// to the builder.
func (f *fetcher) fromBuildCache(ctx context.Context, j *job, t target.Target) (bool, error) {
	bc := f.buildCache()
	if bc == nil || f.remote.down.Load() {
		return false, nil
	}
	bw, ok, err := bc.LookupBuild(ctx, f.buildKey(j, t))
	if err != nil {
		if ctx.Err() != nil {
			return false, context.Cause(ctx)
		}
		f.remoteFailed(err)
		return false, nil
	}
	if !ok {
		return false, nil
	}
	// The name comes from the registry: it must be a plain file name.
	if bw.Filename != filepath.Base(bw.Filename) || strings.HasPrefix(bw.Filename, ".") || f.checkBuilt(j, bw.Filename, t) != nil {
		f.warn("the shared cache's build of %s for %s is refused: %q is not a wheel of it for that target", j, t, bw.Filename)
		return false, nil
	}
	rc, _, err := f.opts.remote.Get(ctx, bw.SHA256)
	if err != nil {
		if ctx.Err() != nil {
			return false, context.Cause(ctx)
		}
		if !errors.Is(err, fs.ErrNotExist) {
			f.remoteFailed(err)
		}
		return false, nil
	}
	defer rc.Close()
	outDir, err := os.MkdirTemp(f.files, ".build-*")
	if err != nil {
		return false, fmt.Errorf("fetching the build of %s: %w", j, err)
	}
	defer os.RemoveAll(outDir)
	path := filepath.Join(outDir, bw.Filename)
	out, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return false, fmt.Errorf("fetching the build of %s: %w", j, err)
	}
	rr := &readErr{r: ctxio.Reader(ctx, rc)}
	_, err = io.Copy(out, io.LimitReader(rr, bw.Size+1))
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		if ctx.Err() != nil {
			return false, context.Cause(ctx)
		}
		if rr.err == nil {
			return false, fmt.Errorf("fetching the build of %s: %w", j, err)
		}
		f.remoteFailed(err)
		return false, nil
	}
	e, err := f.keepBuilt(j, t, path, bw.SHA256)
	if err != nil {
		// Whatever is wrong with the cache's wheel, a build makes a
		// good one: refuse it and build.
		var he *CacheHashError
		if errors.As(err, &he) {
			err = fmt.Errorf("%s: the cache serves sha256 %s, its build record says %s", he.File, he.Got, he.Want)
		}
		f.warn("the shared cache's build of %s for %s is refused (built here instead): %v", j, t, err)
		return false, nil
	}
	f.count(func(r *Report) { r.FromCache++; r.BuildsSaved++ })
	f.emit(Event{File: e.Filename, Project: j.project, Version: j.version, Target: t.String(), State: Done, Via: ViaSharedCache, Bytes: e.Size, Total: e.Size})
	return true, nil
}

// pushBuild puts a wheel just built into the shared cache under its
// build key, when the fetch pushes.
func (f *fetcher) pushBuild(ctx context.Context, j *job, t target.Target, e wheelhouse.Entry) {
	bc := f.buildCache()
	if bc == nil || !f.opts.remotePush || f.remote.pushDown.Load() {
		return
	}
	err := f.putRemote(ctx, e.SHA256, f.store.Path(e.Filename))
	if err == nil {
		err = bc.PutBuild(ctx, f.buildKey(j, t), BuiltWheel{Filename: e.Filename, SHA256: e.SHA256, Size: e.Size, Entry: e})
	}
	if err != nil && ctx.Err() == nil {
		f.remote.pushDown.Store(true)
		f.remote.pushWarned.Do(func() {
			f.warn("the shared cache is not filled by this fetch: pushing the build of %s: %v", j, err)
		})
		return
	}
	if err == nil {
		f.count(func(r *Report) { r.Pushed++ })
	}
}
