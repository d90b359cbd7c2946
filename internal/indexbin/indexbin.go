// Package indexbin builds the real larder-index binary for tests, once
// per test process and architecture, under the temporary folder: a test
// package that uses it runs its tests through testenv.Main, which removes
// that folder when the process ends.
package indexbin

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/larder-build/larder/internal/testenv"
)

// goCache is the go tool's build cache as the test process started with
// it: tests that move XDG_CACHE_HOME must not make every build cold.
var goCache = func() string {
	if c := os.Getenv("GOCACHE"); c != "" {
		return c
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "go-build")
	}
	return ""
}()

var (
	mu    sync.Mutex
	dir   string
	built = map[string]string{}
)

// Build returns larder-index binaries for linux/ARCH, platform to path,
// building each once with the go tool as 'make build' does: CGO off,
// static, stripped (-s -w). Stripped, each is about a third smaller, and
// every test that bakes it into an image hashes and compresses less.
func Build(tb testing.TB, archs ...string) map[string]string {
	tb.Helper()
	testenv.NeedMain(tb)
	mu.Lock()
	defer mu.Unlock()
	if dir == "" {
		d, err := os.MkdirTemp("", "larder-index-bin-")
		if err != nil {
			tb.Fatal(err)
		}
		dir = d
	}
	out := map[string]string{}
	for _, arch := range archs {
		p, ok := built[arch]
		if !ok {
			p = filepath.Join(dir, "larder-index-linux-"+arch)
			cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", p, "github.com/larder-build/larder/cmd/larder-index")
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
			cmd.Dir = moduleRoot()
			if goCache != "" {
				cmd.Env = append(cmd.Env, "GOCACHE="+goCache)
			}
			if b, err := cmd.CombinedOutput(); err != nil {
				tb.Fatal(fmt.Errorf("building larder-index for %s: %v\n%s", arch, err, b))
			}
			built[arch] = p
		}
		out["linux/"+arch] = p
	}
	return out
}

// moduleRoot is the folder of go.mod, whatever the test's working folder.
func moduleRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}
