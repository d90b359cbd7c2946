package cmd

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/larder-build/larder/wheelhouse"
)

// TestVerifyStopsSoonAfterItsContextEnds runs 'larder verify' over a
// wheelhouse that takes many seconds to hash and ends its context (what
// Ctrl-C does through main's signal.NotifyContext) shortly after the
// start: verify must return within a fraction of the full time, fail,
// and not claim the wheelhouse is intact.
func TestVerifyStopsSoonAfterItsContextEnds(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "wh")
	s, err := wheelhouse.Create(dir)
	if err != nil {
		t.Fatal(err)
	}
	// Sparse files: gigabytes to hash, no disk used.
	const files, size = 96, 96 << 20
	for i := range files {
		name := fmt.Sprintf("pkg%03d-1.0.tar.gz", i)
		f, err := os.Create(s.Path(name))
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Truncate(size); err != nil {
			t.Fatal(err)
		}
		f.Close()
		e := wheelhouse.Entry{Filename: name, Project: fmt.Sprintf("pkg%03d", i), Version: "1.0",
			SHA256: strings.Repeat("0", 64), Size: size}
		if err := s.Put(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut bytes.Buffer
	done := make(chan int, 1)
	start := time.Now()
	go func() { done <- Run(ctx, []string{"verify", "--wheelhouse", dir}, &out, &errOut) }()
	time.Sleep(300 * time.Millisecond)
	cancel()
	cancelled := time.Now()
	var code int
	select {
	case code = <-done:
	case <-time.After(2 * time.Minute):
		t.Fatal("verify still running two minutes after its context ended")
	}
	stopped := time.Since(cancelled)
	t.Logf("verify returned %v after the cancel (%v in all)", stopped, time.Since(start))
	// One file per reader may be mid-hash when the context ends; a
	// 96 MiB file hashes in well under a second even on a loaded machine,
	// while the whole wheelhouse (9 GiB) takes many.
	if stopped > 3*time.Second {
		t.Errorf("verify returned %v after its context ended, want under 3s", stopped)
	}
	if code == 0 {
		t.Errorf("an interrupted verify exited 0\n%s%s", out.String(), errOut.String())
	}
	if strings.Contains(out.String(), "checked ") {
		t.Errorf("an interrupted verify printed a report as if it had checked everything:\n%s", out.String())
	}
}
