package serve

import (
	"bytes"
	"context"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/larder-build/larder/internal/testenv"
)

// chromium runs Debian's chromium headless and offline on one URL with
// extra flags, in a fresh profile, killed with all its children after 60 s,
// and returns its standard output.
func chromium(t *testing.T, bin, u string, flags ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	args := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
		"--user-data-dir=" + t.TempDir()}, flags...)
	cmd := exec.CommandContext(ctx, bin, append(args, u)...)
	// Chromium starts helper processes: the whole group goes on timeout.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	// Helpers left behind by a browser that exited go too.
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	if err != nil {
		t.Fatalf("chromium %s: %v\n%s", u, err, stderr.Bytes())
	}
	return stdout.Bytes()
}

func TestPagesRenderInChromium(t *testing.T) {
	testenv.Slow(t, "runs chromium")
	bin := testenv.Tool(t, "chromium")
	base, _ := pagesServer(t)
	// LARDER_SCREENSHOTS keeps the screenshots (CI's artifacts); else
	// they go with the test's temporary folder.
	shotDir := os.Getenv("LARDER_SCREENSHOTS")
	if shotDir == "" {
		shotDir = t.TempDir()
	} else if err := os.MkdirAll(shotDir, 0o755); err != nil {
		t.Fatal(err)
	}
	all := []string{"acme-tools", "alpha-tools", "built", "forked", "plain"}
	for _, c := range []struct {
		name, path string
		want       []string // the projects whose rows the DOM has
		text       []string
	}{
		{"overview", "/", all, []string{"pip install --index-url"}},
		{"filtered", "/?q=" + url.QueryEscape("alpha"), []string{"alpha-tools"}, []string{"1 of 5 projects match"}},
		// Who uploaded a file is shown to a logged-in user only: the page's
		// log-in link asks for credentials, which the browser has in the URL.
		{"project", "/project/acme-tools/?login", nil, []string{"uploaded by alice", "acme_tools-0.1-py3-none-any.whl"}},
	} {
		u := base + c.path
		if c.name == "project" {
			u = strings.Replace(u, "http://", "http://alice:pw-a@", 1)
		}
		dom := chromium(t, bin, u, "--dump-dom")
		if c.want != nil {
			var got []string
			for _, p := range all {
				if bytes.Contains(dom, []byte(`<a href="project/`+p+`/">`)) {
					got = append(got, p)
				}
			}
			if strings.Join(got, ",") != strings.Join(c.want, ",") {
				t.Errorf("%s: the browser shows %v, want %v", c.name, got, c.want)
			}
		}
		for _, w := range c.text {
			if !bytes.Contains(dom, []byte(w)) {
				t.Errorf("%s: the DOM lacks %q:\n%s", c.name, w, dom)
			}
		}
		if c.name == "filtered" {
			continue
		}
		for _, size := range []string{"1280,900", "390,844"} {
			shot := filepath.Join(shotDir, c.name+"-"+strings.Replace(size, ",", "x", 1)+".png")
			chromium(t, bin, u, "--screenshot="+shot, "--window-size="+size, "--hide-scrollbars")
			b, err := os.ReadFile(shot)
			if err != nil || !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) || len(b) < 2000 {
				t.Errorf("%s at %s: no screenshot (%d bytes, %v)", c.name, size, len(b), err)
				continue
			}
			t.Logf("%s at %s: %s", c.name, size, shot)
		}
	}
}
