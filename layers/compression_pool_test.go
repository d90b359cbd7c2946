package layers

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"
)

// TestAGzipWriterWhoseSinkFailedLeavesNoGoroutineAndWritesFreshBytesAgain
// compresses into a sink that fails mid-layer (a full disk, a cancelled
// bake), then compresses again with whatever writer the pool gives: the
// failed writer's goroutines are gone once its Close returns, and the
// next layer's bytes are a fresh writer's.
func TestAGzipWriterWhoseSinkFailedLeavesNoGoroutineAndWritesFreshBytesAgain(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	data := make([]byte, 5<<20)
	for i := range data {
		data[i] = byte(rng.Uint32() % 7)
	}
	want := freshGzip(t, data)

	for _, failAfter := range []int{0, 5, 100_000, 2 << 20} {
		before := runtime.NumGoroutine()
		z, err := Gzip.compressor(&failingWriter{ok: failAfter})
		if err != nil {
			t.Fatal(err)
		}
		z.Write(data) // fails now or later: Close says so
		if err := z.Close(); !errors.Is(err, errFull) {
			t.Fatalf("failing after %d bytes: Close returned %v, want the sink's error", failAfter, err)
		}
		deadline := time.Now().Add(2 * time.Second)
		for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if n := runtime.NumGoroutine(); n > before {
			t.Errorf("failing after %d bytes: %d goroutines left behind by the failed writer", failAfter, n-before)
		}

		var out bytes.Buffer
		z, err = Gzip.compressor(&out)
		if err != nil {
			t.Fatal(err)
		}
		z.Write(data)
		if err := z.Close(); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out.Bytes(), want) {
			t.Errorf("failing after %d bytes: the next layer's gzip (%d bytes) is not a fresh writer's (%d)", failAfter, out.Len(), len(want))
		}
	}
}
