package images

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/larder-build/larder/internal/ocilayout"
	"github.com/larder-build/larder/wheelhouse"
	"github.com/larder-build/larder/wheelhouse/ctxio"
)

// Artifact is what is written: one image, or an index of images.
type Artifact struct {
	Image v1.Image
	Index v1.ImageIndex
}

// Digest is the manifest digest of the artifact.
func (a Artifact) Digest() (v1.Hash, error) {
	if a.Image != nil {
		return a.Image.Digest()
	}
	return a.Index.Digest()
}

// WriteResult says what a write did.
type WriteResult struct {
	// Digest is the manifest digest of what was written.
	Digest v1.Hash `json:"digest"`
	// Blobs and Bytes count the blobs written (uploaded, or new in the
	// layout or tarball), Skipped those already there.
	Blobs   int   `json:"blobs_written"`
	Bytes   int64 `json:"bytes_written"`
	Skipped int   `json:"blobs_skipped"`
}

// Write writes an artifact to a reference. progress, when set, is called
// with the bytes written so far (from several goroutines). Into an OCI
// layout that other larder processes write at once, each keeps its tag:
// index.json is merged by one of them at a time.
func Write(ctx context.Context, ref Ref, a Artifact, o Remote, progress func(n int64)) (*WriteResult, error) {
	return write(ctx, ref, a, o, progress, nil, nil)
}

// write is Write with the caller's hold on an OCI layout output, and
// what to tell while it waits for another larder process.
func write(ctx context.Context, ref Ref, a Artifact, o Remote, progress func(n int64), use *ocilayout.Use, wait func(string)) (*WriteResult, error) {
	var res *WriteResult
	var err error
	switch ref.Transport {
	case OCI:
		res, err = writeLayout(ctx, ref.Path, ref.Tag, a, progress, use, wait)
	case DockerArchive:
		res, err = writeArchive(ctx, ref, a, progress)
	case Docker:
		res, err = push(ctx, ref, a, o, progress)
	default:
		err = fmt.Errorf("cannot write to %q", ref.Transport)
	}
	if err != nil {
		return nil, fmt.Errorf("writing %s: %w", ref, err)
	}
	return res, nil
}

// writeArchive writes a `docker load` tarball under a temporary name,
// synced, then renamed.
func writeArchive(ctx context.Context, ref Ref, a Artifact, progress func(int64)) (*WriteResult, error) {
	if a.Image == nil {
		return nil, ErrArchivePlatforms
	}
	d, err := a.Image.Digest()
	if err != nil {
		return nil, err
	}
	var tag name.Reference
	if ref.Tag != "" {
		if tag, err = name.NewTag(ref.Tag); err != nil {
			return nil, err
		}
	} else if tag, err = name.NewDigest("larder/untagged@" + d.String()); err != nil {
		return nil, err
	}
	// A missing folder is a typo more often than a wish: say so rather
	// than make it. The archive is created 0644 under the umask, as any
	// file written by a program (os.CreateTemp would make it 0600).
	dir := filepath.Dir(ref.Path)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("writing %s: no folder %s", ref.Path, dir)
	}
	// Staged under a name that fits however long the archive's own is.
	var cw *countWriter
	err = wheelhouse.WriteAtomic(ref.Path, 0o644, true, func(w io.Writer) error {
		cw = &countWriter{w: ctxio.Writer(ctx, w), progress: progress}
		return tarball.Write(tag, a.Image, cw)
	})
	if err != nil {
		return nil, err // WriteAtomic's names the file; the caller, the ref
	}
	ls, _ := a.Image.Layers()
	return &WriteResult{Digest: d, Blobs: len(ls) + 1, Bytes: cw.n}, nil
}

type countWriter struct {
	w        io.Writer
	n        int64
	progress func(int64)
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	if c.progress != nil {
		c.progress(int64(n))
	}
	return n, err
}

// push writes to a registry: only the blobs it lacks are uploaded, the
// manifest last.
func push(ctx context.Context, ref Ref, a Artifact, o Remote, progress func(int64)) (*WriteResult, error) {
	counter := &uploadCounter{next: o.carrier()}
	o.Transport = counter
	opts := o.options(ctx)
	var wg sync.WaitGroup
	if progress != nil {
		updates := make(chan v1.Update, 64)
		opts = append(opts, remote.WithProgress(updates))
		wg.Add(1)
		go func() {
			defer wg.Done()
			var last int64
			for u := range updates {
				if u.Complete > last {
					progress(u.Complete - last)
					last = u.Complete
				}
			}
		}()
	}
	var err error
	if a.Image != nil {
		err = remote.Write(ref.Name, a.Image, opts...)
	} else {
		err = remote.WriteIndex(ref.Name, a.Index, opts...)
	}
	wg.Wait()
	if err != nil {
		return nil, err
	}
	d, err := a.Digest()
	if err != nil {
		return nil, err
	}
	return &WriteResult{Digest: d, Blobs: int(counter.blobs.Load()), Bytes: counter.bytes.Load()}, nil
}

// uploadCounter counts the blobs a registry receives: each upload ends
// with a PUT carrying ?digest=, and a cross-repository mount is not an
// upload.
type uploadCounter struct {
	next  http.RoundTripper
	blobs atomic.Int64
	bytes atomic.Int64
}

func (u *uploadCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	isUpload := strings.Contains(r.URL.Path, "/blobs/uploads/")
	if isUpload && r.Body != nil && r.Body != http.NoBody {
		r = r.Clone(r.Context())
		r.Body = &countingBody{ReadCloser: r.Body, n: &u.bytes}
	}
	resp, err := u.next.RoundTrip(r)
	if err == nil && isUpload && r.Method == http.MethodPut && r.URL.Query().Get("digest") != "" && resp.StatusCode == http.StatusCreated {
		u.blobs.Add(1)
	}
	return resp, err
}

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (c *countingBody) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.n.Add(int64(n))
	return n, err
}
