//go:build unix

package readlimit

import (
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestFileReadsRegularFilesAndRefusesEverythingElseWithoutWaiting(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	link := func(name, target string) string {
		p := filepath.Join(dir, name)
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	regular := write("pyproject.toml", "[project]\n")
	big := write("big.toml", strings.Repeat("x", 65))
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	// A socket cannot be opened at all (ENXIO): it is named as one all
	// the same, behind a link too. Its path is kept short: a test's
	// folder under a long TMPDIR passes the 108 bytes a socket's path may
	// have.
	sockDir, err := os.MkdirTemp("", "rl")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sockDir) })
	sock := filepath.Join(sockDir, "s")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for _, tc := range []struct {
		name  string
		path  string
		links Links
		want  string // the content, or what the error says
		kind  string // the *NotRegularError's kind; "" for none
	}{
		{"a regular file", regular, FollowLinks, "[project]\n", ""},
		{"a regular file with links refused", regular, NoLinks, "[project]\n", ""},
		{"a link to a regular file, followed", link("to-regular", regular), FollowLinks, "[project]\n", ""},
		{"a link to a regular file, refused", link("to-regular-2", regular), NoLinks, "", "a symbolic link"},
		{"a file over the limit", big, FollowLinks, "larger than 64 bytes", ""},
		{"a named pipe with no writer", fifo, FollowLinks, "", "a named pipe"},
		{"a link to a named pipe", link("to-fifo", fifo), FollowLinks, "", "a named pipe"},
		{"a device", "/dev/zero", FollowLinks, "", "a device"},
		{"a socket", sock, FollowLinks, "", "a socket"},
		{"a link to a socket", link("to-sock", sock), FollowLinks, "", "a socket"},
		{"a link to a device", link("to-zero", "/dev/zero"), FollowLinks, "", "a device"},
		{"a folder", dir, FollowLinks, "", "a folder"},
		{"a dangling link", link("dangling", filepath.Join(dir, "nothing")), FollowLinks, "no such file", ""},
		{"a missing file", filepath.Join(dir, "missing"), NoLinks, "no such file", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			got, err := File(tc.path, 64, tc.links)
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %v", d)
			}
			var nr *NotRegularError
			switch {
			case tc.kind != "":
				if !errors.As(err, &nr) || Kind(nr.Mode) != tc.kind || !strings.Contains(err.Error(), tc.path) {
					t.Errorf("got %q, %v; want a *NotRegularError naming %s as %s", got, err, tc.path, tc.kind)
				}
			case err != nil:
				if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.path) {
					t.Errorf("error %q, want one naming %s and saying %q", err, tc.path, tc.want)
				}
			case string(got) != tc.want:
				t.Errorf("read %q, want %q", got, tc.want)
			}
			if tc.want == "larger than 64 bytes" {
				var tl *TooLargeError
				if !errors.As(err, &tl) {
					t.Errorf("%v is not a *TooLargeError", err)
				}
			}
			if tc.want == "no such file" && !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("%v is not fs.ErrNotExist", err)
			}
		})
	}
}

func TestFileRefusesAFileOverTheLimitByItsSizeWithoutReadingIt(t *testing.T) {
	// A sparse 1 GiB file: read up to a 256 MiB limit, it would cost 256
	// MiB of memory before being refused.
	p := filepath.Join(t.TempDir(), "uv.lock")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(1 << 30); err != nil {
		t.Fatal(err)
	}
	f.Close()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err = File(p, 256<<20, FollowLinks)
	runtime.ReadMemStats(&after)
	var tl *TooLargeError
	if !errors.As(err, &tl) || !strings.Contains(err.Error(), p) {
		t.Fatalf("got %v, want a *TooLargeError naming %s", err, p)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
		t.Errorf("refusing it allocated %d bytes: it was read", n)
	}
}
