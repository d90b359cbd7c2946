package ocilayout

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/larder-build/larder/internal/readlimit"
)

// How much of a layout larder reads into memory. A layout is read as
// hostile input: anyone who may write it (a team's shared output layout,
// a cache in a group's folder, a base someone else made) could plant a
// named pipe, a link to /dev/zero or a sparse file of terabytes where a
// manifest is expected. Manifests and indexes are bounded as a registry's
// are (regtransport.MaxManifestBytes), configs as a remote base's.
const (
	MaxIndexBytes    = 16 << 20
	MaxManifestBytes = 16 << 20
	MaxConfigBytes   = 64 << 20
)

// DigestError is a blob of a layout whose bytes are not those its
// digest names.
type DigestError struct {
	Path string
	Want v1.Hash
	Got  v1.Hash
}

// Error names the blob, what it holds and what to do.
func (e *DigestError) Error() string {
	return fmt.Sprintf("%s holds bytes of %s, not %s: remove it, it is not that blob", e.Path, e.Got, e.Want)
}

// Refused says whether err is a file of a layout refused as hostile: not
// a regular file, larger than it may be, not the bytes its digest names,
// or not its blob (NotBlobError); not merely missing or in a format
// larder does not know.
func Refused(err error) bool {
	var nr *readlimit.NotRegularError
	var tl *readlimit.TooLargeError
	var de *DigestError
	var nb *NotBlobError
	return errors.As(err, &nr) || errors.As(err, &tl) || errors.As(err, &de) || errors.As(err, &nb)
}

// removeIt adds what to do to an error reading path that Refused: remove
// the file.
func removeIt(path string, err error) error {
	if Refused(err) {
		var de *DigestError
		var nb *NotBlobError
		if errors.As(err, &de) || errors.As(err, &nb) {
			return err // it says so already
		}
		return fmt.Errorf("%w (remove %s: larder will not read it)", err, path)
	}
	return err
}

// ReadIndexFile reads the index.json of the layout in dir: a regular
// file (never through a link, never waiting on a named pipe) of at most
// MaxIndexBytes, returned with its parsed form. A missing index.json is
// an error wrapping fs.ErrNotExist.
func ReadIndexFile(dir string) (*v1.IndexManifest, []byte, error) {
	p := filepath.Join(dir, IndexFile)
	b, err := readlimit.File(p, MaxIndexBytes, readlimit.NoLinks)
	if err != nil {
		return nil, nil, removeIt(p, err)
	}
	im, err := v1.ParseIndexManifest(bytes.NewReader(b))
	if err != nil {
		return nil, nil, fmt.Errorf("reading %s: %w", p, err)
	}
	return im, b, nil
}

// BlobPath is where the blob h of the layout in dir is, when h is a
// sha256 digest; any other (another algorithm, a hex that could name a
// path out of blobs/) is an error.
func BlobPath(dir string, h v1.Hash) (string, error) {
	if h.Algorithm != "sha256" || !isLowerHex(h.Hex, 64) {
		return "", fmt.Errorf("the OCI layout %s names a blob %q: larder reads sha256 digests only", dir, h)
	}
	return filepath.Join(dir, "blobs", h.Algorithm, h.Hex), nil
}

// ReadBlob reads the blob d names in the layout in dir whole: a regular
// file (no link, no named pipe) of d.Size bytes, refused unread when d
// says it is larger than limit or its file is larger than d says, and
// whose sha256 is d.Digest. So a manifest or config someone planted
// costs at most what its descriptor declares, and never more than limit.
func ReadBlob(dir string, d v1.Descriptor, limit int64) ([]byte, error) {
	p, err := BlobPath(dir, d.Digest)
	if err != nil {
		return nil, err
	}
	if d.Size < 0 || d.Size > limit {
		return nil, fmt.Errorf("%s: the layout names it as %d bytes, and larder reads at most %d of a blob of its kind (%s): remove the tag naming it", p, d.Size, limit, d.MediaType)
	}
	b, err := readlimit.File(p, d.Size, readlimit.NoLinks)
	if err != nil {
		return nil, removeIt(p, err)
	}
	sum := sha256.Sum256(b)
	if got := (v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])}); got != d.Digest {
		return nil, &DigestError{Path: p, Want: d.Digest, Got: got}
	}
	return b, nil
}

// Open reads the index of the OCI layout in dir (ReadIndexFile) as a
// v1.ImageIndex whose images and indexes are read through ReadBlob:
// manifests and indexes of at most MaxManifestBytes, configs of at most
// MaxConfigBytes, each checked against its digest, and layers opened as
// regular files only, no longer than their descriptors say. It replaces
// go-containerregistry's layout reader, which reads each of them whole,
// whatever its size, and index.json through links and named pipes.
//
// index.json is read and parsed once, here: the index answers from that
// view for as long as it is used (Image, ImageIndex), however index.json
// changes meanwhile. A caller that needs a fresh view opens the layout
// again.
func Open(dir string) (v1.ImageIndex, error) {
	im, raw, err := ReadIndexFile(dir)
	if err != nil {
		return nil, err
	}
	return &index{dir: dir, mediaType: types.OCIImageIndex, raw: raw, im: im}, nil
}

// index is an image index of a layout: index.json, or an index blob.
type index struct {
	dir       string
	mediaType types.MediaType
	raw       []byte
	// im is raw parsed, once: read only (IndexManifest gives callers
	// their own copy).
	im *v1.IndexManifest
}

var _ v1.ImageIndex = (*index)(nil)

func (i *index) MediaType() (types.MediaType, error) { return i.mediaType, nil }
func (i *index) Digest() (v1.Hash, error)            { return partial.Digest(i) }
func (i *index) Size() (int64, error)                { return int64(len(i.raw)), nil }
func (i *index) RawManifest() ([]byte, error)        { return i.raw, nil }

// IndexManifest is the index, parsed from the bytes read at its open
// into a copy of its own: the caller may change it.
func (i *index) IndexManifest() (*v1.IndexManifest, error) {
	return v1.ParseIndexManifest(bytes.NewReader(i.raw))
}

// find is the descriptor of h in the index, from its parse at open.
func (i *index) find(h v1.Hash) (v1.Descriptor, error) {
	for _, d := range i.im.Manifests {
		if d.Digest == h {
			return d, nil
		}
	}
	return v1.Descriptor{}, fmt.Errorf("the OCI layout %s has no manifest %s", i.dir, h)
}

// Image is the image h of the index, its manifest read and checked.
func (i *index) Image(h v1.Hash) (v1.Image, error) {
	d, err := i.find(h)
	if err != nil {
		return nil, err
	}
	if !d.MediaType.IsImage() {
		return nil, fmt.Errorf("the OCI layout %s: %s is a %s, not an image", i.dir, h, d.MediaType)
	}
	raw, err := ReadBlob(i.dir, d, MaxManifestBytes)
	if err != nil {
		return nil, err
	}
	mf, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("reading the image %s of the OCI layout %s: %w", h, i.dir, err)
	}
	return partial.CompressedToImage(&image{dir: i.dir, desc: d, raw: raw, mf: mf})
}

// ImageIndex is the index h of the index, read and checked.
func (i *index) ImageIndex(h v1.Hash) (v1.ImageIndex, error) {
	d, err := i.find(h)
	if err != nil {
		return nil, err
	}
	if !d.MediaType.IsIndex() {
		return nil, fmt.Errorf("the OCI layout %s: %s is a %s, not an index", i.dir, h, d.MediaType)
	}
	raw, err := ReadBlob(i.dir, d, MaxManifestBytes)
	if err != nil {
		return nil, err
	}
	im, err := v1.ParseIndexManifest(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("reading the index %s of the OCI layout %s: %w", h, i.dir, err)
	}
	return &index{dir: i.dir, mediaType: d.MediaType, raw: raw, im: im}, nil
}

// image is an image of a layout, its manifest already read, checked
// and parsed (mf, read only).
type image struct {
	dir  string
	desc v1.Descriptor
	raw  []byte
	mf   *v1.Manifest
}

var _ partial.CompressedImageCore = (*image)(nil)

func (m *image) MediaType() (types.MediaType, error) { return m.desc.MediaType, nil }
func (m *image) RawManifest() ([]byte, error)        { return m.raw, nil }

// Descriptor is the image's descriptor in its index (its platform).
func (m *image) Descriptor() (*v1.Descriptor, error) { d := m.desc; return &d, nil }

func (m *image) RawConfigFile() ([]byte, error) {
	return ReadBlob(m.dir, m.mf.Config, MaxConfigBytes)
}

func (m *image) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	mf := m.mf
	if h == mf.Config.Digest {
		return &layer{dir: m.dir, desc: mf.Config}, nil
	}
	for _, d := range mf.Layers {
		if d.Digest == h {
			return &layer{dir: m.dir, desc: d}, nil
		}
	}
	return nil, fmt.Errorf("the OCI layout %s: image %s has no layer %s", m.dir, m.desc.Digest, h)
}

// layer is a blob of a layout streamed, not read whole: its reader
// checks its digest.
type layer struct {
	dir  string
	desc v1.Descriptor
}

func (l *layer) Digest() (v1.Hash, error)            { return l.desc.Digest, nil }
func (l *layer) Size() (int64, error)                { return l.desc.Size, nil }
func (l *layer) MediaType() (types.MediaType, error) { return l.desc.MediaType, nil }

// Descriptor is the layer's descriptor in its manifest.
func (l *layer) Descriptor() (*v1.Descriptor, error) { d := l.desc; return &d, nil }

// Compressed opens the blob: a regular file, no link, of the size its
// descriptor says; the reader fails at its end when the bytes are not
// the digest's.
func (l *layer) Compressed() (io.ReadCloser, error) {
	p, err := BlobPath(l.dir, l.desc.Digest)
	if err != nil {
		return nil, err
	}
	f, size, err := readlimit.Open(p, readlimit.NoLinks)
	if err != nil {
		return nil, removeIt(p, err)
	}
	if size != l.desc.Size {
		f.Close()
		return nil, fmt.Errorf("%s is %d bytes, its manifest says %d: remove it, it is not that blob", p, size, l.desc.Size)
	}
	return &checkedBlob{f: f, path: p, want: l.desc.Digest, left: size, h: sha256.New()}, nil
}

// checkedBlob reads a blob's file for as many bytes as it should hold,
// hashing them, and fails at the end when they are not its digest's.
type checkedBlob struct {
	f    *os.File
	path string
	want v1.Hash
	left int64
	h    hash.Hash
}

func (c *checkedBlob) Read(b []byte) (int, error) {
	if c.left <= 0 {
		got := v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(c.h.Sum(nil))}
		if got != c.want {
			return 0, &DigestError{Path: c.path, Want: c.want, Got: got}
		}
		return 0, io.EOF
	}
	if int64(len(b)) > c.left {
		b = b[:c.left]
	}
	n, err := c.f.Read(b)
	c.left -= int64(n)
	c.h.Write(b[:n])
	if err == io.EOF && c.left > 0 {
		err = fmt.Errorf("%s: %w (it was cut short while read)", c.path, io.ErrUnexpectedEOF)
	}
	if err == io.EOF {
		err = nil // the check above, on the next read
	}
	return n, err
}

func (c *checkedBlob) Close() error { return c.f.Close() }

// missing says whether err is a file that is not there.
func missing(err error) bool { return errors.Is(err, fs.ErrNotExist) }
