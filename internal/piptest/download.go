package piptest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/larder-build/larder/resolver/pylock"
)

// PinnedRequirements writes lock's packages as a pip requirements file in
// dir, each pinned with == and the sha256 of every wheel and sdist the
// lock lists (what pip --require-hashes downloads), and returns its path.
func PinnedRequirements(lock *pylock.Lock, dir string) (string, error) {
	var pins strings.Builder
	for _, p := range lock.Packages {
		fmt.Fprintf(&pins, "%s==%s", p.Name, p.Version)
		files := append([]pylock.File{}, p.Wheels...)
		if p.Sdist != nil {
			files = append(files, *p.Sdist)
		}
		for _, f := range files {
			fmt.Fprintf(&pins, " --hash=sha256:%s", f.Hashes["sha256"])
		}
		pins.WriteString("\n")
	}
	path := filepath.Join(dir, "pinned.txt")
	return path, os.WriteFile(path, []byte(pins.String()), 0o644)
}

// Download runs the real pip download of the requirements file pinned
// (PinnedRequirements) from index into dest, as a pip user without larder
// fetches a closure: --no-deps --require-hashes, and --no-build-isolation so
// that an sdist's metadata is prepared with the host's setuptools instead of
// build dependencies from the index. home is pip's isolated HOME.
func Download(ctx context.Context, python, home, index, pinned, dest string) (string, error) {
	python, err := Interpreter(python)
	if err != nil {
		return "", err
	}
	// Each value joined to its option: none can be read as an option.
	cmd := exec.CommandContext(ctx, python, "-m", "pip", "download", "--no-deps", "--no-build-isolation", "--require-hashes",
		"--index-url="+index, "--dest="+dest, "--requirement="+pinned)
	cmd.Env = Env(home)
	out, err := cmd.CombinedOutput()
	return string(out), err
}
