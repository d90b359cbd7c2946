package serve

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/larder-build/larder/internal/testenv"
)

// pipDownload runs the system's pip to download project from base,
// returning its output.
func pipDownload(t *testing.T, base, project string) (string, error) {
	t.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("no python3")
	}
	if err := exec.Command("python3", "-m", "pip", "--version").Run(); err != nil {
		t.Skip("no pip")
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "python3", "-m", "pip", "download", "--no-deps", "--no-cache-dir",
		"--disable-pip-version-check", "--retries", "5", "--timeout", "10", "-d", dir, "-i", base+"/simple/", "--", project)
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PIP_") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env, "PIP_CONFIG_FILE=/dev/null", "HOME="+dir, "NO_PROXY=*", "no_proxy=*")
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
	st, _ := smallStore(t)
	s, base := startServer(t, st, WithOffline(true), withMaxConns(16, 1))
	addr := strings.TrimPrefix(base, "http://")

	held := dialFrom(t, "127.0.0.1", addr)
	if code, err := askRoot(held, 5*time.Second); err != nil || code != 200 {
		t.Fatalf("%d, %v", code, err)
	}
	start := time.Now()
	out, err := pipDownload(t, base, "beta")
	t.Logf("pip refused for good gave up after %v", time.Since(start).Round(100*time.Millisecond))
	if err == nil || !strings.Contains(out, "No matching distribution found for beta") {
		t.Errorf("pip refused for good: err %v, want it to find nothing:\n%s", err, out)
	}
	refusedForGood := s.Stats().ConnsRefused
	t.Logf("pip refused for good: %d refusals", refusedForGood)
	if refusedForGood < 2 {
		t.Errorf("pip was refused %d times; want its retries refused too", refusedForGood)
	}

	go func() {
		time.Sleep(1500 * time.Millisecond)
		held.Close()
	}()
	out, err = pipDownload(t, base, "beta")
	if err != nil {
		t.Errorf("pip after the held connection closed: %v\n%s", err, out)
	}
	if s.Stats().ConnsRefused == refusedForGood {
		t.Error("pip was not refused before the held connection closed")
	}
	t.Logf("refused %d times in all; pip's output:\n%s", s.Stats().ConnsRefused, out)
}
