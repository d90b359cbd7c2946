//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package wheelhouse

import (
	"io/fs"
	"os"
)

// readDirTypes lists a folder opened in an *os.Root.
func readDirTypes(d *os.File) ([]fs.DirEntry, error) { return d.ReadDir(-1) }
