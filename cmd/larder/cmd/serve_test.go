package cmd

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/larder-build/larder/cmd/larder/config"
	"github.com/larder-build/larder/internal/wheelhousetest"
	"github.com/larder-build/larder/wheelhouse"
	"github.com/larder-build/larder/wheelhouse/serve"
)

// emptyProject is a project folder with an empty wheelhouse.
func emptyProject(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if _, err := wheelhouse.Create(filepath.Join(dir, ".larder", "wheelhouse")); err != nil {
		t.Fatal(err)
	}
	return dir
}

// serving is 'larder serve' running in the background.
type serving struct {
	out, errb wheelhousetest.Buffer
	cancel    context.CancelFunc
	done      chan error
	stopped   sync.Once
}

// startServe runs 'larder serve' with cfg and args, on a free loopback
// port and with a cache of its own, until stop or the end of the test.
func startServe(t *testing.T, cfg *config.Config, args ...string) *serving {
	t.Helper()
	c := newServeCmd(&globals{cfg: cfg})
	s := &serving{done: make(chan error, 1)}
	c.SetOut(&s.out)
	c.SetErr(&s.errb)
	c.SetArgs(append([]string{"--addr", "127.0.0.1:0", "--cache-dir", t.TempDir()}, args...))
	var ctx context.Context
	ctx, s.cancel = context.WithCancel(context.Background())
	go func() { s.done <- c.ExecuteContext(ctx) }()
	t.Cleanup(func() { s.stop(t) })
	return s
}

// waitFor waits until re matches the output, and returns its first group.
func (s *serving) waitFor(t *testing.T, re *regexp.Regexp, what string) string {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if m := re.FindStringSubmatch(s.out.String()); m != nil {
			return m[1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s printed: %q %q", what, s.out.String(), s.errb.String())
		}
	}
}

// stop cancels the command and checks that it stops without an error.
func (s *serving) stop(t *testing.T) {
	t.Helper()
	s.stopped.Do(func() {
		s.cancel()
		select {
		case err := <-s.done:
			if err != nil {
				t.Errorf("serve after cancel: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("serve did not stop")
		}
	})
}

func TestServeServesTheConfiguredWheelhouseUntilCancelled(t *testing.T) {
	dir := emptyProject(t)
	cfg := config.Default()
	cfg.Dir = dir
	cfg.Index.Private = []string{"acme-*"}
	s := startServe(t, cfg, "--offline")
	url := s.waitFor(t, regexp.MustCompile(`on (http://127\.0\.0\.1:\d+/simple/)`), "address")
	resp, err := http.Get(strings.TrimSuffix(url, "simple/") + "-/healthz")
	if err != nil {
		t.Fatal(err)
	}
	var h serve.Health
	err = json.NewDecoder(resp.Body).Decode(&h)
	resp.Body.Close()
	if err != nil || h.Server != "larder-index" || h.Upstream.State != "offline" {
		t.Errorf("healthz: %+v %v", h, err)
	}
	if !strings.Contains(s.out.String(), "serving 0 projects (0 files) from "+filepath.Join(dir, ".larder", "wheelhouse")) {
		t.Errorf("output %q", s.out.String())
	}
	s.stop(t)
}

func TestServeWithoutAWheelhouseSaysToFetch(t *testing.T) {
	cfg := config.Default()
	cfg.Dir = t.TempDir()
	c := newServeCmd(&globals{cfg: cfg})
	c.SetArgs([]string{"--addr", "127.0.0.1:0", "--offline"})
	c.SetOut(&wheelhousetest.Buffer{})
	c.SetErr(&wheelhousetest.Buffer{})
	err := c.ExecuteContext(context.Background())
	var h hintError
	if err == nil || !strings.Contains(err.Error(), "no manifest.json") || !errors.As(err, &h) || !strings.Contains(h.hint, "larder fetch") {
		t.Errorf("serve without a wheelhouse: %v", err)
	}
}
