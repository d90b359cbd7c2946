package reqfile

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// FuzzParseFileWithIncludes splits its input at NUL bytes into up to four
// real files, a.txt to d.txt, that can -r and -c each other, and parses
// a.txt. Parsing ends (within a deadline) without a panic, every error
// names a place, and no file outside the folder is read unless the input
// spells a way out: an absolute path, "..", a file: URL or a ${VAR}.
// Includes follow pip: a path is relative to the including file and may
// leave its folder, so the guarantee is that only what the files name is
// read, not a sandbox.
func FuzzParseFileWithIncludes(f *testing.F) {
	f.Add([]byte("-r b.txt\n-r b.txt\n-c c.txt\na==1\x00-r c.txt\n-r c.txt\nb==1\x00c<2\n-r d.txt\x00d==1\n"))
	f.Add([]byte("-r b.txt\x00-r a.txt\n"))
	f.Add([]byte("-c b.txt\n-r b.txt\x00-r c.txt\nx>1\x00--pre\n-i https://example.com/simple\x00"))
	f.Add([]byte("a==1\na==1\n-e git+https://h/r.git#egg=r\n-e git+https://h/r.git#egg=r\n--no-binary a a==1\n"))
	f.Add([]byte("-r ./b.txt\n-r sub/../b.txt\x00-c ./a.txt\n"))
	names := []string{"a.txt", "b.txt", "c.txt", "d.txt"}
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		parts := bytes.SplitN(data, []byte{0}, len(names))
		for i, name := range names {
			var content []byte
			if i < len(parts) {
				content = parts[i]
			}
			if err := os.WriteFile(filepath.Join(dir, name), content, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		file, err := ParseFileContext(ctx, filepath.Join(dir, "a.txt"), WithWorkDir(dir), WithEnv(map[string]string{"HOST": "example.com"}))
		if errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("parsing did not end within 20 s")
		}
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			var lineErr *Error
			if errors.As(err, &lineErr) && lineErr.Source.File == "" {
				t.Fatalf("error without a file: %v", err)
			}
			return
		}
		escapes := bytes.Contains(data, []byte("/")) || bytes.Contains(data, []byte("${")) || bytes.Contains(data, []byte(`\`))
		seen := map[string]bool{}
		for _, p := range file.Files {
			if seen[p] {
				t.Fatalf("%s listed twice in Files", p)
			}
			seen[p] = true
			if !escapes && !strings.HasPrefix(p, dir+string(filepath.Separator)) {
				t.Fatalf("read %s, outside %s, though the input names no way out", p, dir)
			}
		}
		if len(file.Files) > len(names) && !escapes {
			t.Fatalf("read %d files, there are %d", len(file.Files), len(names))
		}
		for _, r := range append(file.Requirements, file.Constraints...) {
			if r.Source.File == "" || r.Source.Line < 1 || r.Raw == "" {
				t.Fatalf("bad requirement %+v", r)
			}
		}
	})
}
