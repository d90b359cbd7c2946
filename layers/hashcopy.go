package layers

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"sync"
)

// copyChunk is how much of a source file is read, hashed and written at
// a time.
const copyChunk = 256 << 10

// chunks holds the pairs of buffers copyHashing reads into.
var chunks = sync.Pool{New: func() any { return new([2][copyChunk]byte) }}

// copyHashing copies at most limit bytes of r to w and returns how many,
// and the sha256 of what it copied. The hash runs on its own goroutine,
// a chunk behind the copy: a big wheel is hashed on one core while the
// tar around it is hashed and compressed on the others, instead of
// every pass taking turns on one.
func copyHashing(w io.Writer, r io.Reader, limit int64) (n int64, sum string, err error) {
	bufs := chunks.Get().(*[2][copyChunk]byte)
	defer chunks.Put(bufs)
	todo := make(chan []byte, 1)
	hashed := make(chan struct{}, 2)
	h := sha256.New()
	var wg sync.WaitGroup
	wg.Go(func() {
		for b := range todo {
			h.Write(b)
			hashed <- struct{}{}
		}
	})
	n, err = copyChunks(w, io.LimitReader(r, limit), bufs, todo, hashed)
	// Whatever happened, the hasher is done with both buffers before
	// they go back to the pool.
	close(todo)
	wg.Wait()
	if err != nil {
		return n, "", err
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}

// copyChunks copies r to w through the two buffers, sending each chunk
// to todo once it is read, and reusing a buffer only once hashed says
// the chunk sent two turns before is hashed.
func copyChunks(w io.Writer, r io.Reader, bufs *[2][copyChunk]byte, todo chan<- []byte, hashed <-chan struct{}) (n int64, err error) {
	inflight := 0
	for i := 0; ; i++ {
		buf := bufs[i%2][:]
		if inflight == 2 {
			<-hashed
			inflight--
		}
		m, rerr := io.ReadFull(r, buf)
		if m > 0 {
			todo <- buf[:m]
			inflight++
			if _, werr := w.Write(buf[:m]); werr != nil {
				return n, werr
			}
			n += int64(m)
		}
		if errors.Is(rerr, io.EOF) || errors.Is(rerr, io.ErrUnexpectedEOF) {
			return n, nil
		}
		if rerr != nil {
			return n, rerr
		}
	}
}
