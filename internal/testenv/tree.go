package testenv

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// Tree is every path under dir, relative to it, with its content ("/"
// for a folder): two Trees are equal when nothing under dir changed.
func Tree(tb testing.TB, dir string) map[string]string {
	tb.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if d.IsDir() {
			out[rel] = "/"
			return nil
		}
		b, err := os.ReadFile(p)
		out[rel] = string(b)
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}
