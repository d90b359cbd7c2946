package edxindex

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// RootsFile writes the top-level requirements, unpinned, to
// dir/requirements.in with `-c constraints.txt`, and the constraint lines to
// dir/constraints.txt. It returns the path of requirements.in. A root keeps
// the extras and marker of its pin (`XBlock[django]`), as in the .in files
// base.txt was compiled from.
func (w *Workload) RootsFile(dir string) (string, error) {
	var cons strings.Builder
	cons.WriteString("# Constraints of the edx-platform workload (internal/edxindex).\n")
	for _, c := range w.Constraints {
		cons.WriteString(c + "\n")
	}
	var roots strings.Builder
	roots.WriteString("# Top-level requirements of the edx-platform workload (internal/edxindex).\n")
	roots.WriteString("-c constraints.txt\n")
	lines := w.rootLines
	if len(lines) == 0 {
		lines = w.Roots
	}
	for _, r := range lines {
		roots.WriteString(r + "\n")
	}
	if err := os.WriteFile(filepath.Join(dir, "constraints.txt"), []byte(cons.String()), 0o644); err != nil {
		return "", fmt.Errorf("writing roots file: %w", err)
	}
	path := filepath.Join(dir, "requirements.in")
	if err := os.WriteFile(path, []byte(roots.String()), 0o644); err != nil {
		return "", fmt.Errorf("writing roots file: %w", err)
	}
	return path, nil
}
