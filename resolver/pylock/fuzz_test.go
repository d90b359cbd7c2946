package pylock

import (
	"bytes"
	"os"
	"testing"
)

// FuzzDecodePylock checks that Decode never panics and that whatever it
// accepts encodes, decodes back, and encodes to the same bytes again.
func FuzzDecodePylock(f *testing.F) {
	real, err := os.ReadFile(fixture)
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{string(real), base, toolDoc, `lock-version = "1.0"` + "\ncreated-by = \"x\"\n"} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := Decode(bytes.NewReader(data))
		if err != nil {
			return
		}
		var first bytes.Buffer
		if err := l.Encode(&first); err != nil {
			t.Fatalf("Encode of a decoded lock: %v", err)
		}
		back, err := Decode(bytes.NewReader(first.Bytes()))
		if err != nil {
			t.Fatalf("Decode of encoded lock: %v\n%s", err, first.Bytes())
		}
		var second bytes.Buffer
		if err := back.Encode(&second); err != nil {
			t.Fatalf("second Encode: %v", err)
		}
		if !bytes.Equal(first.Bytes(), second.Bytes()) {
			t.Fatalf("encoding not stable:\n%s\n---\n%s", first.Bytes(), second.Bytes())
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	var buf bytes.Buffer
	if err := generatedLock(500).Encode(&buf); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(buf.Len()))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(bytes.NewReader(buf.Bytes())); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncode(b *testing.B) {
	l := generatedLock(500)
	b.ReportAllocs()
	for b.Loop() {
		var buf bytes.Buffer
		if err := l.Encode(&buf); err != nil {
			b.Fatal(err)
		}
	}
}
