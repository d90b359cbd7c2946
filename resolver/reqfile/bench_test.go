package reqfile

import (
	"os"
	"path/filepath"
	"testing"
)

func BenchmarkParseEdxRequirementFiles(b *testing.B) {
	files := edxFiles(b)
	var size int64
	for _, rel := range files {
		fi, err := os.Stat(filepath.Join(edxRoot, rel))
		if err != nil {
			b.Fatal(err)
		}
		size += fi.Size()
	}
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		reqs := 0
		for _, rel := range files {
			f, err := ParseFile(filepath.Join(edxRoot, rel), IgnoreMissing(), WithWorkDir(edxRoot))
			if err != nil {
				continue // the malformed variant
			}
			reqs += len(f.Requirements)
		}
		if reqs < 2000 {
			b.Fatalf("parsed %d requirements", reqs)
		}
	}
}
