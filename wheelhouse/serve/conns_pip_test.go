package serve

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/larder-build/larder/internal/testenv"
)

// download runs pip download of project from base into a new folder,
// returning its output.
func (p *pip) download(t *testing.T, base, project string) (string, error) {
	t.Helper()
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, p.Python, "-m", "pip", "download", "--no-deps", "--retries", "5", "--timeout", "10",
		"--dest", dir, "--index-url", base+"/simple/", "--", project)
	cmd.Env = p.Env
	cmd.Dir = p.Dir
	out, err := cmd.CombinedOutput()
	if err == nil {
		got, _ := filepath.Glob(filepath.Join(dir, "*.whl"))
		if len(got) != 1 {
			t.Errorf("pip downloaded %v", got)
		}
	}
	return string(out), err
}

// TestPipRetriesARefusedConnection: pip, refused with 503 and Retry-After
// because its address has its share of connections open, retries, and
// gets its file once one of them closes. Refused for good, pip 23 gives
// up after its retries and reports the project as not found (it logs
// the 503s only with -v): the refusal is counted in
// larder_connections_refused_total, which is where to look.
func TestPipRetriesARefusedConnection(t *testing.T) {
	testenv.Slow(t, "runs pip")
	p := newPip(t, "python3")
	st, _ := smallStore(t)
	s, base := startServer(t, st, WithOffline(true), withMaxConns(16, 1))
	addr := strings.TrimPrefix(base, "http://")

	held := dialFrom(t, "127.0.0.1", addr)
	if code, err := askRoot(held, 5*time.Second); err != nil || code != 200 {
		t.Fatalf("%d, %v", code, err)
	}
	start := time.Now()
	out, err := p.download(t, base, "beta")
	t.Logf("pip refused for good gave up after %v", time.Since(start).Round(100*time.Millisecond))
	if err == nil || !strings.Contains(out, "No matching distribution found for beta") {
		t.Errorf("pip refused for good: err %v, want it to find nothing:\n%s", err, out)
	}
	refusedForGood := s.Stats().ConnsRefused
	t.Logf("pip refused for good: %d refusals", refusedForGood)
	if refusedForGood < 2 {
		t.Errorf("pip was refused %d times; want its retries refused too", refusedForGood)
	}

	// The held connection closes once pip has been refused again, not
	// after a fixed time: on a loaded machine pip took longer than 1.5 s
	// to start, found the connection closed and was never refused.
	go func() {
		for deadline := time.Now().Add(time.Minute); s.Stats().ConnsRefused == refusedForGood && time.Now().Before(deadline); {
			time.Sleep(10 * time.Millisecond)
		}
		held.Close()
	}()
	out, err = p.download(t, base, "beta")
	if err != nil {
		t.Errorf("pip after the held connection closed: %v\n%s", err, out)
	}
	if s.Stats().ConnsRefused == refusedForGood {
		t.Error("pip was not refused before the held connection closed")
	}
	t.Logf("refused %d times in all; pip's output:\n%s", s.Stats().ConnsRefused, out)
}
