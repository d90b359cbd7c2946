package layers

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestCopyHashingCopiesAndHashesEveryByteAroundChunkEdges(t *testing.T) {
	tests := []struct {
		name        string
		size, limit int64
		want        int64
	}{
		{"empty", 0, 1, 0},
		{"one byte", 1, 2, 1},
		{"a chunk less one", copyChunk - 1, copyChunk, copyChunk - 1},
		{"one chunk", copyChunk, copyChunk + 1, copyChunk},
		{"a chunk and a byte", copyChunk + 1, copyChunk + 2, copyChunk + 1},
		{"several chunks and a tail", 3*copyChunk + 7, 3*copyChunk + 8, 3*copyChunk + 7},
		{"longer than the limit stops at it", 3*copyChunk + 7, 2*copyChunk + 1, 2*copyChunk + 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := make([]byte, tt.size)
			rand.NewChaCha8([32]byte{byte(tt.size)}).Read(data)
			var out bytes.Buffer
			n, sum, err := copyHashing(&out, bytes.NewReader(data), tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			want := data[:tt.want]
			h := sha256.Sum256(want)
			if n != tt.want || !bytes.Equal(out.Bytes(), want) || sum != hex.EncodeToString(h[:]) {
				t.Errorf("copied %d bytes (want %d), same bytes %v, sha256 %s (want %x)", n, tt.want, bytes.Equal(out.Bytes(), want), sum, h)
			}
		})
	}
}

// failingReader gives its bytes, then an error.
type failingReader struct{ r io.Reader }

var errIO = errors.New("input/output error")

func (r failingReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err == io.EOF {
		return n, errIO
	}
	return n, err
}

func TestCopyHashingReturnsTheFirstErrorAndLeavesNoGoroutine(t *testing.T) {
	before := runtime.NumGoroutine()
	data := make([]byte, 5*copyChunk)
	for range 20 {
		if _, _, err := copyHashing(&failingWriter{ok: 2 * copyChunk}, bytes.NewReader(data), int64(len(data))); !errors.Is(err, errFull) {
			t.Fatalf("a failing writer: got %v, want %v", err, errFull)
		}
		if _, _, err := copyHashing(io.Discard, failingReader{bytes.NewReader(data)}, int64(len(data))+1); !errors.Is(err, errIO) {
			t.Fatalf("a failing reader: got %v, want %v", err, errIO)
		}
	}
	// The hashers have returned (bounded wait: goroutines exit
	// asynchronously after their channel closes).
	for i := 0; runtime.NumGoroutine() > before; i++ {
		if i == 100 {
			t.Fatalf("%d goroutines left running, %d before", runtime.NumGoroutine(), before)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestBuildRefusesASourceOfAnotherSizeAsASourceError: a wheel that grew
// or shrank on disk since the wheelhouse recorded it is a *SourceError
// naming its file and saying how it differs, the error that tells the
// user to fetch again, whether it grew by a byte or by many chunks.
func TestBuildRefusesASourceOfAnotherSizeAsASourceError(t *testing.T) {
	recorded := bytes.Repeat([]byte("wheel bytes "), copyChunk/6) // two chunks and a bit
	sum := sha256.Sum256(recorded)
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"grown by a byte", append(append([]byte{}, recorded...), 'x'), fmt.Sprintf("more than %d bytes", len(recorded))},
		{"grown by chunks", append(append([]byte{}, recorded...), recorded...), fmt.Sprintf("more than %d bytes", len(recorded))},
		{"shrunk by a byte", recorded[:len(recorded)-1], fmt.Sprintf("is %d bytes", len(recorded)-1)},
		{"emptied", nil, "is 0 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := filepath.Join(t.TempDir(), "a-1.0-py3-none-any.whl")
			if err := os.WriteFile(src, tt.data, 0o644); err != nil {
				t.Fatal(err)
			}
			b, err := NewBuilder()
			if err != nil {
				t.Fatal(err)
			}
			f := File{Path: "/wheelhouse/files/a-1.0-py3-none-any.whl", Mode: 0o644, Source: src,
				Size: int64(len(recorded)), SHA256: hex.EncodeToString(sum[:])}
			_, err = b.Build(context.Background(), []File{f})
			var se *SourceError
			if !errors.As(err, &se) || se.File != src || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want a *SourceError for %s saying %q", err, src, tt.want)
			}
		})
	}
}
