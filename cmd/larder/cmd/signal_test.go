package cmd

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/larder-build/larder/internal/pypitest"
)

// TestInterruptedFetchLeavesAConsistentWheelhouseThatARerunCompletes
// sends a real SIGINT to a running 'larder fetch': the wheelhouse holds
// only complete, verified files, a second fetch finishes the rest, and
// 'larder verify' is clean.
func TestInterruptedFetchLeavesAConsistentWheelhouseThatARerunCompletes(t *testing.T) {
	bin := larderBinary(t)
	idx, names := shareIndex([]string{"pkg"}, 40, 200_000)
	srv := pypitest.Start(t, idx)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"requirements.txt": strings.Join(names["pkg"], "\n") + "\n",
		"larder.toml":      larderTOML(srv.URL(), "", "[wheelhouse]\ndir = \"wh\"\n"),
	})
	larder := (&shareProject{dir: dir, cache: filepath.Join(dir, "cache"), bin: bin}).cmd
	if out, err := larder("lock").CombinedOutput(); err != nil {
		t.Fatalf("lock: %v\n%s", err, out)
	}
	// Slow the files down so that the interrupt lands mid-fetch.
	srv.SetLatency(150 * time.Millisecond)
	fetch := larder("fetch", "--jobs", "2", "--no-progress")
	var out bytes.Buffer
	fetch.Stdout, fetch.Stderr = &out, &out
	if err := fetch.Start(); err != nil {
		t.Fatal(err)
	}
	files := filepath.Join(dir, "wh", "files")
	deadline := time.Now().Add(30 * time.Second)
	for {
		whls, _ := filepath.Glob(filepath.Join(files, "*.whl"))
		if len(whls) >= 4 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := fetch.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	err := fetch.Wait()
	if err == nil {
		t.Fatalf("fetch finished before the interrupt; make the files slower\n%s", out.String())
	}
	if strings.Contains(out.String(), "goroutine ") {
		t.Errorf("interrupt printed a Go trace:\n%s", out.String())
	}
	whls, _ := filepath.Glob(filepath.Join(files, "*.whl"))
	if len(whls) == 0 || len(whls) == 40 {
		t.Fatalf("%d wheels after the interrupt, want some but not all", len(whls))
	}
	if tmp, _ := filepath.Glob(filepath.Join(files, ".*")); len(tmp) != 0 {
		t.Errorf("temporary files left after the interrupt: %v", tmp)
	}
	// What is there is consistent: verify reports only missing files.
	vout, _ := larder("verify").CombinedOutput()
	want := fmt.Sprintf("%d problem(s): %d missing\n", 40-len(whls), 40-len(whls))
	if !strings.Contains(string(vout), want) {
		t.Errorf("verify after the interrupt should report only the %d missing files:\n%s", 40-len(whls), vout)
	}
	srv.SetLatency(0)
	srv.Reset()
	if out, err := larder("fetch", "--no-progress").CombinedOutput(); err != nil {
		t.Fatalf("re-run: %v\n%s", err, out)
	}
	if got, want := fileRequests(srv), 40-len(whls); got != want {
		t.Errorf("the re-run downloaded %d files, want only the %d missing", got, want)
	}
	if out, err := larder("verify").CombinedOutput(); err != nil {
		t.Errorf("verify after the re-run: %v\n%s", err, out)
	}
}

// fileRequests counts the requests for distributions.
func fileRequests(srv *pypitest.Server) int {
	n := 0
	for p, c := range srv.Counts() {
		if strings.HasPrefix(p, "/files/") && !strings.HasSuffix(p, ".metadata") {
			n += c
		}
	}
	return n
}
