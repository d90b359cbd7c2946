package layers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/larder-build/larder/wheelhouse"
	"github.com/larder-build/larder/wheelhouse/ctxio"
)

// Layer is a built layer: its digests and sizes, and, when the Builder
// keeps layers, the compressed blob on disk. It implements v1.Layer.
type Layer struct {
	digest, diffID   v1.Hash
	size             int64 // compressed
	uncompressedSize int64
	compression      Compression
	path             string // the blob, "" when not kept
	cached           bool
	// synced is closed once the blob is on disk (syncErr says how that
	// went); nil when it was before the layer was returned.
	synced  chan struct{}
	syncErr error
}

var _ v1.Layer = (*Layer)(nil)

// Digest is the sha256 of the compressed blob.
func (l *Layer) Digest() (v1.Hash, error) { return l.digest, nil }

// DiffID is the sha256 of the uncompressed tar.
func (l *Layer) DiffID() (v1.Hash, error) { return l.diffID, nil }

// Size is the compressed size in bytes.
func (l *Layer) Size() (int64, error) { return l.size, nil }

// UncompressedSize is the size of the tar in bytes.
func (l *Layer) UncompressedSize() int64 { return l.uncompressedSize }

// MediaType is the OCI layer media type of the compression.
func (l *Layer) MediaType() (types.MediaType, error) { return l.compression.MediaType(), nil }

// Cached reports whether the layer came from the Builder's folder rather
// than being built by this call.
func (l *Layer) Cached() bool { return l.cached }

// Path is the compressed blob on disk ("" when the Builder keeps no
// layers): outputs on the same file system link it instead of copying.
func (l *Layer) Path() string { return l.path }

// Sync waits until the layer's blob is on disk, and says whether it got
// there: at once, unless the Builder syncs WithBackgroundSync and is still
// at it.
func (l *Layer) Sync() error {
	if l.synced != nil {
		<-l.synced
	}
	return l.syncErr
}

// Compressed opens the compressed blob.
func (l *Layer) Compressed() (io.ReadCloser, error) {
	if l.path == "" {
		return nil, errors.New("layer was built for its digest only; its bytes were not kept")
	}
	return os.Open(l.path)
}

// Uncompressed opens the tar.
func (l *Layer) Uncompressed() (io.ReadCloser, error) {
	rc, err := l.Compressed()
	if err != nil {
		return nil, err
	}
	d, err := l.compression.decompressor(rc)
	if err != nil {
		rc.Close()
		return nil, err
	}
	return &stacked{d, rc}, nil
}

// stacked closes a decompressor and the file under it.
type stacked struct {
	io.ReadCloser
	under io.Closer
}

func (s *stacked) Close() error {
	err := s.ReadCloser.Close()
	if uerr := s.under.Close(); err == nil {
		err = uerr
	}
	return err
}

// Builder builds layers, keeping them in a folder where a layer with the
// same content, compression and time is found again instead of rebuilt.
type Builder struct {
	dir         string
	dryRun      bool
	compression Compression
	mtime       time.Time
	progress    func(n int64)
	jobs        int
	// background syncs kept blobs after Build returns; pending holds
	// those not synced yet, by key.
	background bool
	pending    sync.Map
}

// Option configures a Builder.
type Option func(*Builder) error

// WithDir keeps layers in dir (made if needed). Without it the Builder
// computes digests only.
func WithDir(dir string) Option {
	return func(b *Builder) error {
		b.dir = dir
		return nil
	}
}

// WithDryRun makes the Builder compute digests without keeping any layer:
// layers kept before in its folder are still found.
func WithDryRun() Option {
	return func(b *Builder) error {
		b.dryRun = true
		return nil
	}
}

// WithBackgroundSync has Build return a kept layer as soon as its blob is
// complete, and sync the blob to disk while the caller goes on (writing an
// image's configuration, other blobs): whoever needs the blob durable, as
// an OCI layout about to reference it does, calls (*Layer).Sync. The
// layer is remembered in the folder only once it is on disk.
func WithBackgroundSync() Option {
	return func(b *Builder) error {
		b.background = true
		return nil
	}
}

// WithCompression sets the compression (DefaultCompression otherwise).
func WithCompression(c Compression) Option {
	return func(b *Builder) error {
		parsed, err := ParseCompression(string(c))
		if err != nil {
			return err
		}
		b.compression = parsed
		return nil
	}
}

// WithModTime sets the modification time of every entry (the Unix epoch
// otherwise); it is rounded down to the second.
func WithModTime(t time.Time) Option {
	return func(b *Builder) error {
		b.mtime = t.UTC().Truncate(time.Second)
		return nil
	}
}

// WithProgress calls fn with the number of content bytes each file
// added to a layer being built (layers found in the folder add nothing).
// fn is called from several goroutines.
func WithProgress(fn func(n int64)) Option {
	return func(b *Builder) error {
		b.progress = fn
		return nil
	}
}

// WithJobs sets how many layers BuildStacks builds at once (default
// GOMAXPROCS; at least 1).
func WithJobs(n int) Option {
	return func(b *Builder) error {
		if n < 1 {
			return fmt.Errorf("jobs %d: want at least 1", n)
		}
		b.jobs = n
		return nil
	}
}

// NewBuilder returns a Builder.
func NewBuilder(opts ...Option) (*Builder, error) {
	b := &Builder{compression: DefaultCompression, mtime: time.Unix(0, 0).UTC(), jobs: runtime.GOMAXPROCS(0)}
	for _, o := range opts {
		if err := o(b); err != nil {
			return nil, err
		}
	}
	if b.dir != "" && !b.dryRun {
		if err := os.MkdirAll(b.dir, 0o755); err != nil {
			return nil, fmt.Errorf("making the layer folder: %w", err)
		}
	}
	return b, nil
}

// Compression returns the Builder's compression.
func (b *Builder) Compression() Compression { return b.compression }

// layerFormat versions the bytes a Builder makes: bump it whenever the
// same files would give other bytes, so that kept layers are not reused.
const layerFormat = "larder-layer-1"

// key identifies a layer's bytes: its entries, compression and time. It
// hashes, for each entry in name order, the line
// fmt.Sprintf("%q %o %d %s %t\n", name, mode, size, sha256, whiteout),
// appended with strconv (the same bytes, without fmt's cost on a delta of
// a thousand pages).
func (b *Builder) key(files []File) string {
	type named struct {
		name string
		f    *File
	}
	sorted := make([]named, len(files))
	for i := range files {
		sorted[i] = named{files[i].name(), &files[i]}
	}
	slices.SortFunc(sorted, func(x, y named) int { return strings.Compare(x.name, y.name) })
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n%d\n", layerFormat, b.compression, b.mtime.Unix())
	var line []byte
	for _, e := range sorted {
		line = strconv.AppendQuote(line[:0], e.name)
		line = append(line, ' ')
		line = strconv.AppendInt(line, e.f.Mode, 8)
		line = append(line, ' ')
		line = strconv.AppendInt(line, e.f.Size, 10)
		line = append(line, ' ')
		line = append(line, e.f.SHA256...)
		line = append(line, ' ')
		line = strconv.AppendBool(line, e.f.Whiteout)
		line = append(line, '\n')
		h.Write(line)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// record is what the folder keeps beside a layer's blob.
type record struct {
	Digest           string `json:"digest"`
	DiffID           string `json:"diff_id"`
	Size             int64  `json:"size"`
	UncompressedSize int64  `json:"uncompressed_size"`
}

// Build returns the layer holding files, from the folder when it was built
// before, else by writing the tar once: hashed for the diff ID,
// compressed, hashed again for the digest, and (when kept) written to a
// temporary file renamed into place. Source files are checked against
// their sha256 as they are read; on any error nothing is left behind.
func (b *Builder) Build(ctx context.Context, files []File) (*Layer, error) {
	for _, f := range files {
		if err := f.check(); err != nil {
			return nil, err
		}
	}
	return b.build(ctx, b.key(files), files)
}

// build is Build of checked files whose key is known.
func (b *Builder) build(ctx context.Context, key string, files []File) (*Layer, error) {
	if l, ok := b.lookup(key); ok {
		return l, nil
	}
	var out io.Writer = io.Discard
	var tmp *os.File
	if b.dir != "" && !b.dryRun {
		var err error
		if tmp, err = os.CreateTemp(b.dir, "."+key+".*.tmp"); err != nil {
			return nil, fmt.Errorf("building a layer: %w", err)
		}
		defer func() {
			if tmp != nil {
				tmp.Close()
				os.Remove(tmp.Name())
			}
		}()
		out = &writingBack{f: tmp}
	}
	// An uncompressed blob is the tar: hashed once.
	diffID, tarred := sha256.New(), &counter{}
	var digest hash.Hash
	blob := &counter{}
	sink := io.MultiWriter(ctxio.Writer(ctx, out), blob)
	if b.compression != Uncompressed {
		digest = sha256.New()
		sink = io.MultiWriter(ctxio.Writer(ctx, out), digest, blob)
	}
	z, err := b.compression.compressor(sink)
	if err != nil {
		return nil, fmt.Errorf("building a layer: %w", err)
	}
	if err := writeTar(io.MultiWriter(z, diffID, tarred), files, b.mtime, b.progress); err != nil {
		z.Close()
		if cerr := ctx.Err(); cerr != nil {
			return nil, cerr
		}
		return nil, err
	}
	if err := z.Close(); err != nil {
		return nil, fmt.Errorf("compressing a layer: %w", err)
	}
	l := &Layer{diffID: v1Hash(diffID), size: blob.n, uncompressedSize: tarred.n, compression: b.compression}
	l.digest = l.diffID
	if digest != nil {
		l.digest = v1Hash(digest)
	}
	if tmp == nil {
		return l, nil
	}
	if err := b.keep(tmp, key, l); err != nil {
		return nil, err
	}
	tmp = nil
	return l, nil
}

// keep puts a built blob into the folder under its key, and its record
// beside it once the blob is on disk: synced then renamed, or renamed then
// synced in the background.
func (b *Builder) keep(tmp *os.File, key string, l *Layer) error {
	blob := filepath.Join(b.dir, key+".blob")
	if !b.background {
		if err := tmp.Sync(); err != nil {
			return fmt.Errorf("writing a layer: %w", err)
		}
		if err := tmp.Close(); err != nil {
			return fmt.Errorf("writing a layer: %w", err)
		}
		if err := os.Rename(tmp.Name(), blob); err != nil {
			os.Remove(tmp.Name())
			return fmt.Errorf("writing a layer: %w", err)
		}
		l.path = blob
		return b.record(key, l)
	}
	// A record left from before would vouch for the blob before it is
	// on disk.
	os.Remove(filepath.Join(b.dir, key+".json"))
	if err := os.Rename(tmp.Name(), blob); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("writing a layer: %w", err)
	}
	l.path = blob
	l.synced = make(chan struct{})
	b.pending.Store(key, l)
	go func() {
		defer close(l.synced)
		defer b.pending.Delete(key)
		err := tmp.Sync()
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = b.record(key, l)
		}
		if err != nil {
			os.Remove(blob)
			l.syncErr = fmt.Errorf("writing a layer: %w", err)
		}
	}()
	return nil
}

// record writes the record of a kept layer whose blob is on disk.
func (b *Builder) record(key string, l *Layer) error {
	rec, _ := json.Marshal(record{Digest: l.digest.String(), DiffID: l.diffID.String(), Size: l.size, UncompressedSize: l.uncompressedSize})
	if err := wheelhouse.WriteFileAtomic(filepath.Join(b.dir, key+".json"), rec, 0o644); err != nil {
		return fmt.Errorf("writing a layer: %w", err)
	}
	return nil
}

// lookup finds a layer built before. A record whose blob is missing or of
// another size is ignored (and the layer built again).
func (b *Builder) lookup(key string) (*Layer, bool) {
	if b.dir == "" {
		return nil, false
	}
	if p, ok := b.pending.Load(key); ok {
		p.(*Layer).Sync()
	}
	data, err := os.ReadFile(filepath.Join(b.dir, key+".json"))
	if err != nil {
		return nil, false
	}
	var r record
	if json.Unmarshal(data, &r) != nil {
		return nil, false
	}
	digest, err1 := v1.NewHash(r.Digest)
	diffID, err2 := v1.NewHash(r.DiffID)
	blob := filepath.Join(b.dir, key+".blob")
	st, err3 := os.Stat(blob)
	if err1 != nil || err2 != nil || err3 != nil || st.Size() != r.Size {
		return nil, false
	}
	now := time.Now()
	os.Chtimes(blob, now, now) // for Prune: recently used
	return &Layer{digest: digest, diffID: diffID, size: r.Size, uncompressedSize: r.UncompressedSize,
		compression: b.compression, path: blob, cached: true}, true
}

// Prune removes kept layers not used for longer than age, and leftovers of
// interrupted builds; it returns the bytes freed.
func (b *Builder) Prune(age time.Duration) (int64, error) {
	if b.dir == "" || b.dryRun {
		return 0, nil
	}
	ents, err := os.ReadDir(b.dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return 0, nil
		}
		return 0, fmt.Errorf("pruning kept layers: %w", err)
	}
	var freed int64
	cutoff := time.Now().Add(-age)
	for _, e := range ents {
		info, err := e.Info()
		if err != nil || info.ModTime().After(cutoff) {
			continue
		}
		name := e.Name()
		switch ext := filepath.Ext(name); {
		case ext == ".blob":
			os.Remove(filepath.Join(b.dir, name[:len(name)-len(ext)]+".json"))
		case ext == ".json":
			continue // goes with its blob
		case ext != ".tmp" && ext != sourceExt:
			continue
		}
		if os.Remove(filepath.Join(b.dir, name)) == nil {
			freed += info.Size()
		}
	}
	return freed, nil
}

func v1Hash(h hash.Hash) v1.Hash {
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h.Sum(nil))}
}

// writebackChunk is how much of a kept blob is written before its
// writing to disk is started.
const writebackChunk = 1 << 20

// writingBack writes a kept blob, and has the kernel start writing it to
// disk every writebackChunk: the blob is built in about the time the disk
// takes to take it, and the fsync before it is referenced then waits for
// the last chunk rather than for the whole blob.
type writingBack struct {
	f           *os.File
	done, total int64
}

func (w *writingBack) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.total += int64(n)
	if w.total-w.done >= writebackChunk {
		startWriteback(w.f, w.done, w.total-w.done)
		w.done = w.total
	}
	return n, err
}

type counter struct{ n int64 }

func (c *counter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }
