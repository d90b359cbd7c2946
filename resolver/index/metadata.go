package index

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/larder-build/larder/internal/readlimit"
	"github.com/larder-build/larder/resolver/dist"
	"github.com/larder-build/larder/resolver/pep517"
	"github.com/larder-build/larder/resolver/simple"
)

// HashMismatchError reports content whose digest differs from the one the
// index advertised.
type HashMismatchError struct {
	URL      string
	Expected string
	Actual   string
}

func (e *HashMismatchError) Error() string {
	return fmt.Sprintf("%s: sha256 mismatch: expected %s, got %s", e.URL, e.Expected, e.Actual)
}

// SizeMismatchError reports a file whose length differs from the one the
// index listed.
type SizeMismatchError struct {
	URL      string
	Expected int64
	Actual   int64 // bytes read; Expected+1 when Over
	Over     bool  // the body went on past Expected (read no further)
}

func (e *SizeMismatchError) Error() string {
	if e.Over {
		return fmt.Sprintf("%s: longer than the %d bytes the index lists", e.URL, e.Expected)
	}
	return fmt.Sprintf("%s: %d bytes, the index lists %d", e.URL, e.Actual, e.Expected)
}

// Metadata returns the core metadata (the METADATA file) of a wheel,
// fetching as little as possible: the cache, then the PEP 658 file, then
// range requests into the zip, then the whole wheel.
func (c *Client) Metadata(ctx context.Context, f File) ([]byte, error) {
	if b, ok := c.cache.getMeta(f); ok {
		c.stats.metaHits.Add(1)
		return b, nil
	}
	if c.offline {
		return nil, fmt.Errorf("offline: metadata of %s is not in the cache", f.Filename)
	}
	var b []byte
	var err error
	fromFile := false // read from the whole file, its hash checked
	if !strings.HasSuffix(f.Filename, ".whl") {
		if b, err = c.sdistMetadata(ctx, f); err != nil {
			return nil, err
		}
		fromFile = true
	} else if f.CoreMetadata {
		b, err = c.metadataFile(ctx, f)
		var se *StatusError
		if errors.As(err, &se) && se.Code == http.StatusNotFound {
			// Advertised but missing: pip would fail here; we can still
			// read the wheel.
			b, err = nil, nil
		}
		if err != nil {
			return nil, err
		}
	}
	if b == nil {
		b, err = c.rangeMetadata(ctx, f)
		if errors.Is(err, errNoRanges) {
			b, err = c.downloadMetadata(ctx, f)
			fromFile = true
		}
		if err != nil {
			return nil, err
		}
	}
	if _, err := dist.ParseMetadata(bytes.NewReader(b)); err != nil {
		return nil, fmt.Errorf("metadata of %s: %w", f.Filename, err)
	}
	_ = c.cache.putMeta(f, b, fromFile && f.SHA256() != "")
	return b, nil
}

// MetadataCached reports whether the metadata of f is in the cache, so
// that Metadata answers without a request.
func (c *Client) MetadataCached(f File) bool {
	return c.cache.hasMeta(f)
}

// metadataFile downloads URL.metadata and checks its advertised hash.
func (c *Client) metadataFile(ctx context.Context, f File) ([]byte, error) {
	u := f.URL + ".metadata"
	var b []byte
	err := c.do(ctx, u, nil, func(resp *http.Response) error {
		if resp.StatusCode != http.StatusOK {
			return &StatusError{URL: simple.RedactURL(u), Status: resp.Status, Code: resp.StatusCode}
		}
		// Metadata is bounded by what ParseMetadata reads: a longer file
		// is refused here as too large, not cut to a prefix that then
		// fails its hash check (or, unhashed, is parsed as the whole).
		var err error
		if b, err = readlimit.ReadAll(resp.Body, dist.MaxMetadataSize); err != nil {
			return fmt.Errorf("reading %s: %w", simple.RedactURL(u), err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	c.stats.metaFiles.Add(1)
	if want := f.MetadataHashes["sha256"]; want != "" {
		sum := sha256.Sum256(b)
		if got := hex.EncodeToString(sum[:]); got != want {
			return nil, &HashMismatchError{URL: u, Expected: want, Actual: got}
		}
	}
	return b, nil
}

// errNoRanges reports a server that ignores Range requests.
var errNoRanges = errors.New("server does not support range requests")

// rangeMetadata reads METADATA through HTTP range requests: the tail of
// the file holds the zip central directory, which says where METADATA is.
func (c *Client) rangeMetadata(ctx context.Context, f File) ([]byte, error) {
	r := &rangeReader{ctx: ctx, c: c, url: f.URL, size: f.Size, blocks: map[int64][]byte{}}
	if err := r.init(); err != nil {
		return nil, err
	}
	_, raw, err := dist.ReadWheelMetadata(r, r.size)
	if err != nil {
		if errors.Is(err, errNoRanges) || r.err != nil {
			return nil, errNoRanges
		}
		return nil, fmt.Errorf("reading metadata of %s: %w", f.Filename, err)
	}
	c.stats.rangeReads.Add(1)
	return raw, nil
}

// downloadMetadata downloads the whole wheel to a temporary file, checks
// its hash and reads METADATA from it.
func (c *Client) downloadMetadata(ctx context.Context, f File) ([]byte, error) {
	tmp, err := c.downloadTemp(ctx, f)
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	c.stats.fullDownloads.Add(1)
	st, err := tmp.Stat()
	if err != nil {
		return nil, err
	}
	_, raw, err := dist.ReadWheelMetadata(tmp, st.Size())
	if err != nil {
		return nil, fmt.Errorf("reading metadata of %s: %w", f.Filename, err)
	}
	return raw, nil
}

// sdistMetadata reads an sdist's static metadata (PKG-INFO 2.2+ or a
// static pyproject.toml [project]); otherwise it asks the configured
// builder to run the PEP 517 metadata hook.
func (c *Client) sdistMetadata(ctx context.Context, f File) ([]byte, error) {
	tmp, err := c.downloadTemp(ctx, f)
	if err != nil {
		return nil, err
	}
	name := tmp.Name()
	tmp.Close()
	defer os.Remove(name)
	c.stats.fullDownloads.Add(1)
	sm, err := pep517.ReadSdistMetadata(name)
	if err == nil && sm.Reliable {
		return sm.Raw, nil
	}
	if c.sdistBuilder == nil {
		if err != nil {
			// err names the temporary file, not the sdist.
			return nil, fmt.Errorf("%s: %w", f.Filename, err)
		}
		return nil, fmt.Errorf("%s: its metadata is not static (PKG-INFO %s) and no builder is configured", f.Filename, sm.Source)
	}
	md, err := c.sdistBuilder(ctx, name)
	if err != nil {
		// The builder's error names the temporary file, not the sdist.
		return nil, fmt.Errorf("%s: %w", f.Filename, err)
	}
	return md, nil
}

// archiveSuffixes are the endings a downloaded file's temporary name
// keeps: an sdist is read by the kind its name says.
var archiveSuffixes = []string{".whl", ".tar.gz", ".tgz", ".tar.bz2", ".zip", ".tar"}

// downloadTemp downloads a file to a temporary file, checking its hash,
// and returns it open. The temporary file is named larder-dl-, digits and
// the file's archive suffix, not after the file: a file name may take all
// the 255 bytes a name can have.
func (c *Client) downloadTemp(ctx context.Context, f File) (*os.File, error) {
	suffix := ""
	for _, s := range archiveSuffixes {
		if strings.HasSuffix(f.Filename, s) {
			suffix = s
			break
		}
	}
	tmp, err := os.CreateTemp("", "larder-dl-*"+suffix)
	if err != nil {
		return nil, err
	}
	err = c.do(ctx, f.URL, nil, func(resp *http.Response) error {
		if resp.StatusCode != http.StatusOK {
			return &StatusError{URL: simple.RedactURL(f.URL), Status: resp.Status, Code: resp.StatusCode}
		}
		if err := tmp.Truncate(0); err != nil {
			return err
		}
		if _, err := tmp.Seek(0, io.SeekStart); err != nil {
			return err
		}
		h := sha256.New()
		body := io.Reader(resp.Body)
		if f.Size > 0 {
			// The page said how long the file is: a longer body is not
			// that file, and is not written to the disk to find out.
			body = io.LimitReader(body, f.Size+1)
		}
		n, err := io.Copy(io.MultiWriter(tmp, h), body)
		if err != nil {
			return err
		}
		if f.Size > 0 && n != f.Size {
			return &SizeMismatchError{URL: f.URL, Expected: f.Size, Over: n > f.Size, Actual: n}
		}
		if want := f.SHA256(); want != "" {
			if got := hex.EncodeToString(h.Sum(nil)); got != want {
				return &HashMismatchError{URL: f.URL, Expected: want, Actual: got}
			}
		}
		return nil
	})
	if err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return nil, err
	}
	return tmp, nil
}

// rangeReader is an io.ReaderAt over HTTP range requests with a block
// cache, so that archive/zip's many small reads cost a few requests.
type rangeReader struct {
	ctx    context.Context
	c      *Client
	url    string
	size   int64
	blocks map[int64][]byte
	reqs   int
	err    error
}

const (
	blockSize = 64 << 10
	// maxRangeRequests bounds the requests spent on one wheel before a
	// full download is cheaper.
	maxRangeRequests = 6
)

// init fetches the tail, which learns the size and usually holds the
// whole central directory.
func (r *rangeReader) init() error {
	start, data, total, err := r.get(-1, 2*blockSize)
	if err != nil {
		return err
	}
	r.size = total
	// Store whole blocks only; the partial first block is refetched if
	// ever needed.
	for off := start; off < start+int64(len(data)); {
		b := off / blockSize
		bs, be := b*blockSize, min((b+1)*blockSize, total)
		if bs >= start {
			r.blocks[b] = data[bs-start : be-start]
		}
		off = be
	}
	return nil
}

// get sends one range request and returns the start offset, the bytes and
// the total size. from is the first byte asked, n how many: exactly n
// from from, or, with from -1, the last n at most (a suffix). An answer
// other than the range asked (longer, shorter, elsewhere, ending past its
// total or before its start, or of another total than the one known) is
// errNoRanges: a server that lies about ranges is read whole and its
// hash checked, rather than trusted with the size of what it sends.
func (r *rangeReader) get(from, n int64) (int64, []byte, int64, error) {
	if r.reqs >= maxRangeRequests {
		r.err = errNoRanges
		return 0, nil, 0, errNoRanges
	}
	r.reqs++
	rng := "bytes=-" + strconv.FormatInt(n, 10)
	if from >= 0 {
		rng = "bytes=" + strconv.FormatInt(from, 10) + "-" + strconv.FormatInt(from+n-1, 10)
	}
	var start, total int64
	var data []byte
	err := r.c.do(r.ctx, r.url, http.Header{"Range": {rng}}, func(resp *http.Response) error {
		if resp.StatusCode != http.StatusPartialContent {
			return errNoRanges
		}
		var end int64
		if _, err := fmt.Sscanf(resp.Header.Get("Content-Range"), "bytes %d-%d/%d", &start, &end, &total); err != nil {
			return errNoRanges
		}
		switch {
		case start < 0 || end < start || end >= total || end-start+1 > n,
			from >= 0 && (start != from || end != from+n-1),
			from < 0 && end != total-1,
			r.size > 0 && total != r.size:
			return errNoRanges
		}
		var err error
		data, err = io.ReadAll(io.LimitReader(resp.Body, end-start+1))
		if err == nil && int64(len(data)) != end-start+1 {
			err = io.ErrUnexpectedEOF
		}
		return err
	})
	if err != nil {
		r.err = err
		return 0, nil, 0, err
	}
	return start, data, total, nil
}

// ReadAt implements io.ReaderAt.
func (r *rangeReader) ReadAt(p []byte, off int64) (int, error) {
	if off >= r.size {
		return 0, io.EOF
	}
	n := 0
	for n < len(p) && off+int64(n) < r.size {
		pos := off + int64(n)
		b := pos / blockSize
		data, ok := r.blocks[b]
		if !ok {
			if err := r.fetch(b, off+int64(len(p))); err != nil {
				return n, err
			}
			data = r.blocks[b]
		}
		n += copy(p[n:], data[pos-b*blockSize:])
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// fetch loads blocks from b up to the one holding offset end in a single
// request.
func (r *rangeReader) fetch(b, end int64) error {
	last := min((end-1)/blockSize, (r.size-1)/blockSize)
	for last > b {
		if _, ok := r.blocks[last]; !ok {
			break
		}
		last--
	}
	from, to := b*blockSize, min((last+1)*blockSize, r.size)-1
	_, data, _, err := r.get(from, to-from+1)
	if err != nil {
		return err
	}
	for i := b; i <= last; i++ {
		bs, be := (i-b)*blockSize, min((i-b+1)*blockSize, int64(len(data)))
		r.blocks[i] = data[bs:be]
	}
	return nil
}
