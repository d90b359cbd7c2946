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
	"sync"
	"sync/atomic"

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
	tmp, err := wheelhouse.CreateTemp(f.files, "."+w.name+".tmp-*", 0o644)
	if err != nil {
		return false, fmt.Errorf("creating a temporary file for %s: %w", w.name, err)
	}
	h := sha256.New()
	// One byte past the lock's size is enough to know the blob is wrong.
	rr := &readErr{r: ctxio.Reader(ctx, rc)}
	var src io.Reader = rr
	if w.size > 0 {
		src = io.LimitReader(src, w.size+1)
	}
	n, err := io.Copy(f.writer(tmp, h), src)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		if ctx.Err() != nil {
			return false, context.Cause(ctx)
		}
		if rr.err == nil { // our disk, not the cache: the index would fail too
			return false, fmt.Errorf("copying %s from the shared cache: %w", w.name, err)
		}
		f.remoteFailed(fmt.Errorf("reading %s: %w", w.name, err))
		return false, nil
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != w.sha256 || (w.size > 0 && n != w.size) {
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
	fh, err := wheelhouse.OpenRegular(path)
	if err != nil {
		return err
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return err
	}
	return f.opts.remote.Put(ctx, sum, st.Size(), ctxio.Reader(ctx, fh))
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
