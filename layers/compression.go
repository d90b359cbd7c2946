package layers

import (
	"fmt"
	"io"
	"runtime"
	"sync"

	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/zstd"
	"github.com/klauspost/pgzip"
)

// Compression is how a layer's tar is compressed.
type Compression string

// The compressions a layer can have.
const (
	Gzip         Compression = "gzip"
	Zstd         Compression = "zstd"
	Uncompressed Compression = "none"
)

// DefaultCompression is gzip: every client reads it, and on a wheelhouse
// (zip files, compressed already) zstd saves almost nothing (see the
// README's bake benchmark).
const DefaultCompression = Gzip

// gzipLevel is fast: wheels barely compress, and a higher level costs
// time for a fraction of a percent.
const gzipLevel = pgzip.BestSpeed

// gzipBlock is the size of the blocks pgzip compresses in parallel. The
// output depends on it (and the level), never on how many run at once.
const gzipBlock = 1 << 20

// zstdWindow is fixed so that the output never depends on the machine.
const zstdWindow = 8 << 20

// ParseCompression reads a --compression value.
func ParseCompression(s string) (Compression, error) {
	switch c := Compression(s); c {
	case Gzip, Zstd, Uncompressed:
		return c, nil
	case "":
		return DefaultCompression, nil
	case "uncompressed":
		return Uncompressed, nil
	}
	return "", fmt.Errorf("unknown compression %q: want gzip, zstd or none", s)
}

// MediaType is the OCI media type of a layer with this compression.
func (c Compression) MediaType() types.MediaType {
	switch c {
	case Zstd:
		return types.OCILayerZStd
	case Uncompressed:
		return types.OCIUncompressedLayer
	}
	return types.OCILayer
}

// compressor returns a writer that compresses into w; Close flushes it
// (and does not close w).
func (c Compression) compressor(w io.Writer) (io.WriteCloser, error) {
	switch c {
	case Gzip:
		z, ok := gzipWriters.Get().(*pgzip.Writer)
		if ok {
			z.Reset(w)
		} else {
			var err error
			if z, err = pgzip.NewWriterLevel(w, gzipLevel); err != nil {
				return nil, err
			}
		}
		if err := z.SetConcurrency(gzipBlock, max(2, runtime.GOMAXPROCS(0))); err != nil {
			return nil, err
		}
		return &pooledGzip{z}, nil
	case Zstd:
		return zstd.NewWriter(w, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithWindowSize(zstdWindow),
			zstd.WithEncoderConcurrency(runtime.GOMAXPROCS(0)))
	case Uncompressed:
		return nopWriteCloser{w}, nil
	}
	return nil, fmt.Errorf("unknown compression %q", c)
}

// decompressor reads the tar back out of a compressed layer.
func (c Compression) decompressor(r io.Reader) (io.ReadCloser, error) {
	switch c {
	case Gzip:
		return pgzip.NewReader(r)
	case Zstd:
		d, err := zstd.NewReader(r)
		if err != nil {
			return nil, err
		}
		return d.IOReadCloser(), nil
	case Uncompressed:
		return io.NopCloser(r), nil
	}
	return nil, fmt.Errorf("unknown compression %q", c)
}

// gzipWriters keeps gzip writers between layers: a writer's blocks and
// compressors are megabytes to allocate and clear, more than the
// compressing of a small layer costs. A reset writer's output is a
// fresh one's.
var gzipWriters sync.Pool

// pooledGzip goes back to gzipWriters once closed.
type pooledGzip struct{ *pgzip.Writer }

func (z *pooledGzip) Close() error {
	err := z.Writer.Close()
	if err != nil {
		// A writer whose sink failed returns from Close with its
		// goroutine still waiting for blocks, and holding the sink:
		// Reset ends the goroutine and lets the sink go.
		z.Writer.Reset(io.Discard)
	}
	gzipWriters.Put(z.Writer)
	return err
}

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }
