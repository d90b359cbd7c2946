package layers

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

func TestAGzipWriterUsedAgainWritesWhatAFreshOneWrites(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	payload := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			// Half random, half text: both compressible and not.
			if i%2 == 0 {
				b[i] = byte(rng.Uint32())
			} else {
				b[i] = "wheelhouse"[i%10]
			}
		}
		return b
	}
	// Sizes across block boundaries; each writer is taken again after
	// writing something else.
	for _, n := range []int{0, 1, 3 << 20, 100, gzipBlock, 5<<20 + 7} {
		data := payload(n)
		want := freshGzip(t, data)
		for range 3 {
			var out bytes.Buffer
			z, err := Gzip.compressor(&out)
			if err != nil {
				t.Fatal(err)
			}
			// In chunks that are not the block size.
			for rest := data; len(rest) > 0; {
				k := min(len(rest), 300_001)
				if _, err := z.Write(rest[:k]); err != nil {
					t.Fatal(err)
				}
				rest = rest[k:]
			}
			if err := z.Close(); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out.Bytes(), want) {
				t.Fatalf("%d bytes: a reused writer wrote %d bytes unlike a fresh one's %d", n, out.Len(), len(want))
			}
		}
	}
}
