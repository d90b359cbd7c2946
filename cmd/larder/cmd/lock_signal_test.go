package cmd

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestInterruptedLockStopsWhileReadingRequirements sends a real SIGINT to
// 'larder lock' while it parses a huge requirement tree: it exits soon,
// with an error that says it was interrupted, instead of parsing on.
func TestInterruptedLockStopsWhileReadingRequirements(t *testing.T) {
	bin := larderBinary(t)
	dir := t.TempDir()
	// Two files of option lines, just under the size limits: seconds of
	// parsing even where repeated requirement lines and re-included files
	// are free.
	files := map[string]string{
		"requirements.txt": "-r a.txt\n-r b.txt\n",
		"larder.toml":      larderTOML("http://127.0.0.1:9/simple/", "", ""),
	}
	for _, name := range []string{"a", "b"} {
		var b strings.Builder
		for i := 0; b.Len() < 30<<20; i++ {
			fmt.Fprintf(&b, "--pre --prefer-binary --trusted-host %s%d.example.com\n", name, i%100)
		}
		files[name+".txt"] = b.String()
	}
	writeFiles(t, dir, files)
	lock := exec.Command(bin, "lock", "--offline", "--no-progress")
	lock.Dir = dir
	lock.Env = append(os.Environ(), "XDG_CACHE_HOME="+filepath.Join(dir, "cache"))
	var out bytes.Buffer
	lock.Stdout, lock.Stderr = &out, &out
	if err := lock.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- lock.Wait() }()
	// Let it start and get into the files.
	select {
	case err := <-done:
		t.Fatalf("lock finished before the interrupt (%v); make the files bigger\n%s", err, out.String())
	case <-time.After(700 * time.Millisecond):
	}
	if err := lock.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	interrupted := time.Now()
	select {
	case err := <-done:
		if err == nil {
			t.Fatalf("lock exited 0 after the interrupt\n%s", out.String())
		}
		if d := time.Since(interrupted); d > 2*time.Second {
			t.Errorf("lock exited %v after SIGINT, want within 2 s", d)
		}
	case <-time.After(60 * time.Second):
		_ = lock.Process.Kill()
		<-done
		t.Fatalf("lock still running 60 s after SIGINT\n%s", out.String())
	}
	msg := out.String()
	if !strings.Contains(msg, "interrupted") || !strings.Contains(msg, "context canceled") {
		t.Errorf("the error does not say the lock was interrupted:\n%s", msg)
	}
	if strings.Contains(msg, "goroutine ") {
		t.Errorf("interrupt printed a Go trace:\n%s", msg)
	}
}
