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
	"github.com/larder-build/larder/wheelhouse"
	"github.com/larder-build/larder/wheelhouse/serve"
)

// syncBuffer is a bytes buffer safe to read while a command writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestServeServesTheConfiguredWheelhouseUntilCancelled(t *testing.T) {
	dir := t.TempDir()
	if _, err := wheelhouse.Create(filepath.Join(dir, ".larder", "wheelhouse")); err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Dir = dir
	cfg.Index.Private = []string{"acme-*"}
	g := &globals{cfg: cfg}
	c := newServeCmd(g)
	var out, errb syncBuffer
	c.SetOut(&out)
	c.SetErr(&errb)
	c.SetArgs([]string{"--addr", "127.0.0.1:0", "--offline", "--cache-dir", t.TempDir()})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.ExecuteContext(ctx) }()
	re := regexp.MustCompile(`on (http://127\.0\.0\.1:\d+/simple/)`)
	var url string
	for deadline := time.Now().Add(10 * time.Second); url == ""; {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			url = m[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("no address printed: %q %q", out.String(), errb.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
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
	if !strings.Contains(out.String(), "serving 0 projects (0 files) from "+filepath.Join(dir, ".larder", "wheelhouse")) {
		t.Errorf("output %q", out.String())
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve after cancel: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop")
	}
}

func TestServeWithoutAWheelhouseSaysToFetch(t *testing.T) {
	cfg := config.Default()
	cfg.Dir = t.TempDir()
	c := newServeCmd(&globals{cfg: cfg})
	c.SetArgs([]string{"--addr", "127.0.0.1:0", "--offline"})
	c.SetOut(&syncBuffer{})
	c.SetErr(&syncBuffer{})
	err := c.ExecuteContext(context.Background())
	var h hintError
	if err == nil || !strings.Contains(err.Error(), "no manifest.json") || !errors.As(err, &h) || !strings.Contains(h.hint, "larder fetch") {
		t.Errorf("serve without a wheelhouse: %v", err)
	}
}
