package reqfile

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func FuzzParse(f *testing.F) {
	for _, rel := range edxFiles(f) {
		data, err := os.ReadFile(filepath.Join(edxRoot, rel))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, c := range trickyCorpus {
		f.Add([]byte(c.files["req.txt"]))
	}
	f.Add([]byte("-r inc.txt\n-c /f/inc.txt\n${A}${B}\n"))
	env := map[string]string{"A": "${A}${A}", "B": "-r inc.txt", "HOST": "example.com"}
	f.Fuzz(func(t *testing.T, data []byte) {
		// The input is also the file it can include, so recursion and
		// cycles are exercised; nothing touches the disk.
		fsys := memFS{
			"/f/inc.txt":                string(data),
			"/f/pkg/setup.py":           "",
			"/f/a-1.0.tar.gz":           "",
			"/f/b-1.0-py3-none-any.whl": "",
		}
		file, err := Parse(bytes.NewReader(data), "/f/req.txt", withFileSystem(fsys), WithWorkDir("/f"), WithEnv(env))
		if err != nil {
			var lineErr *Error
			if errors.As(err, &lineErr) && (lineErr.Source.File == "" || lineErr.Source.Line < 0) {
				t.Fatalf("error without a place: %v", err)
			}
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		for _, r := range append(file.Requirements, file.Constraints...) {
			if r.Source.File == "" || r.Source.Line < 1 || r.Raw == "" || strings.TrimSpace(r.Raw) != r.Raw {
				t.Fatalf("bad requirement %+v", r)
			}
			if r.Req == nil && r.URL == "" {
				t.Fatalf("requirement with neither name nor URL: %+v", r)
			}
			if r.Editable && len(r.Hashes) > 0 {
				t.Fatalf("editable with hashes: %+v", r)
			}
		}
		if len(file.Files) == 0 || file.Files[0] != "/f/req.txt" {
			t.Fatalf("files %q", file.Files)
		}
	})
}
