package cmd

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/larder-build/larder/internal/pypitest"
)

// asUser runs a command as another user, with no supplementary groups.
func asUser(uid string, dir string, env []string, name string, args ...string) *exec.Cmd {
	c := exec.Command("setpriv", append([]string{"--reuid=" + uid, "--regid=" + uid, "--clear-groups", "--", name}, args...)...)
	c.Dir = dir
	c.Env = env
	return c
}

// TestFetchedFilesAreWorldReadableAndSharedOnesReadOnly runs the real
// 'larder fetch' as a non-root user (65534) into two wheelhouses that
// share its user cache, under umask 022: every file is readable by yet
// another user (65533), as a larder-index running as a non-root user in
// an image needs, folders are 0755, and a file shared with the cache by a
// hard link cannot be opened for writing through the wheelhouse, so that
// an in-place edit of one wheelhouse corrupts neither the cache nor the
// other wheelhouse.
func TestFetchedFilesAreWorldReadableAndSharedOnesReadOnly(t *testing.T) {
	bin := larderBinary(t)
	idx, names := shareIndex([]string{"mode"}, 4, 50_000)
	srv := pypitest.Start(t, idx)
	root := otherUsersFolder(t)
	job := filepath.Join(root, "job")
	cache := filepath.Join(root, "cache")
	newShareProject(t, bin, job, srv.URL(), filepath.Join(root, "wh1"), cache, names["mode"])
	if err := os.MkdirAll(cache, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("chown", "-R", "65534:65534", job, cache).CombinedOutput(); err != nil {
		t.Fatalf("chown: %v\n%s", err, out)
	}
	if err := os.Chmod(root, 0o777); err != nil { // the user makes wh1 and wh2 here
		t.Fatal(err)
	}
	env := append(os.Environ(), "XDG_CACHE_HOME="+cache, "HOME="+job)
	for _, wh := range []string{"wh1", "wh2"} {
		c := asUser("65534", job, env, "sh", "-c", `umask 022 && exec "$0" "$@"`, bin, "fetch", "--no-progress", "--wheelhouse", filepath.Join(root, wh))
		if out, err := c.CombinedOutput(); err != nil {
			t.Fatalf("fetch into %s as user 65534: %v\n%s", wh, err, out)
		}
	}
	wheels, _ := filepath.Glob(filepath.Join(root, "wh1", "files", "*.whl"))
	if len(wheels) != len(names["mode"]) {
		t.Fatalf("wh1 holds %d wheels, want %d", len(wheels), len(names["mode"]))
	}
	for _, d := range []string{"wh1", "wh1/files", "wh1/simple", "wh1/simple/mode00"} {
		if st, err := os.Stat(filepath.Join(root, d)); err != nil || st.Mode().Perm() != 0o755 {
			t.Errorf("%s: %v %v, want a 0755 folder", d, st.Mode(), err)
		}
	}
	for _, w := range wheels {
		for _, f := range []string{w, w + ".metadata", filepath.Join(root, "wh1", "manifest.json"), filepath.Join(root, "wh1", "simple", "mode00", "index.html")} {
			if out, err := asUser("65533", root, nil, "cat", f).CombinedOutput(); err != nil {
				t.Errorf("user 65533 cannot read %s: %v\n%.200s", strings.TrimPrefix(f, root), err, out)
			}
		}
	}
	before := sha(t, wheels[0])
	// An in-place write through the wheelhouse, as the owner.
	edit := asUser("65534", root, nil, "sh", "-c", `printf corrupt >> "$0"`, wheels[0])
	if err := edit.Run(); err == nil {
		t.Errorf("user 65534 wrote into %s in place", filepath.Base(wheels[0]))
	}
	other := filepath.Join(root, "wh2", "files", filepath.Base(wheels[0]))
	cached := filepath.Join(cache, "larder", "files", "sha256", before[:2], before)
	if _, err := os.Stat(cached); err != nil {
		t.Fatalf("the user cache does not hold %s: %v", filepath.Base(wheels[0]), err)
	}
	for _, f := range []string{wheels[0], other, cached} {
		if sha(t, f) != before {
			t.Errorf("%s changed after an in-place write to wh1", strings.TrimPrefix(f, root))
		}
	}
}

// otherUsersFolder skips unless larder can run as other users (root,
// setpriv), and returns a fresh folder they can reach.
func otherUsersFolder(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to run larder as other users (setpriv)")
	}
	if _, err := exec.LookPath("setpriv"); err != nil {
		t.Skip("needs setpriv (util-linux)")
	}
	root := t.TempDir()
	for _, d := range []string{filepath.Dir(root), root} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func sha(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// TestTwoUsersOfOneGroupFetchIntoOneWheelhouse: a wheelhouse shared by a
// team (a folder of their group, umask 002) takes fetches from each of
// them: the second user opens the locks the first one made, writes in
// the folders the first one made, and every file either of them fetched
// ends up in the manifest, verified.
func TestTwoUsersOfOneGroupFetchIntoOneWheelhouse(t *testing.T) {
	bin := larderBinary(t)
	idx, names := shareIndex([]string{"alice", "bob"}, 2, 20_000)
	srv := pypitest.Start(t, idx)
	root := otherUsersFolder(t)
	wh := filepath.Join(root, "wh")
	if err := os.Mkdir(wh, 0o775); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(wh, 0o775); err != nil { // whatever the test's umask
		t.Fatal(err)
	}
	users := []struct{ uid, name string }{{"65534", "alice"}, {"65533", "bob"}}
	for _, u := range users {
		job := filepath.Join(root, u.name)
		newShareProject(t, bin, job, srv.URL(), wh, filepath.Join(job, "cache"), names[u.name])
		if out, err := exec.Command("chown", "-R", u.uid+":65534", job).CombinedOutput(); err != nil {
			t.Fatalf("chown: %v\n%s", err, out)
		}
	}
	if out, err := exec.Command("chown", "65534:65534", wh).CombinedOutput(); err != nil {
		t.Fatalf("chown: %v\n%s", err, out)
	}
	as := func(uid, gid, umask, dir string, args ...string) *exec.Cmd {
		c := exec.Command("setpriv", append([]string{"--reuid=" + uid, "--regid=" + gid, "--clear-groups", "--",
			"sh", "-c", `umask "$0" && exec "$@"`, umask, bin}, args...)...)
		c.Dir = dir
		c.Env = append(os.Environ(), "XDG_CACHE_HOME="+filepath.Join(dir, "cache"), "HOME="+dir)
		return c
	}
	asMember := func(uid, dir string, args ...string) *exec.Cmd { return as(uid, "65534", "002", dir, args...) }
	for _, u := range users {
		job := filepath.Join(root, u.name)
		if out, err := asMember(u.uid, job, "fetch", "--no-progress").CombinedOutput(); err != nil {
			t.Fatalf("%s (uid %s) fetching into the team's wheelhouse: %v\n%s", u.name, u.uid, err, out)
		}
	}
	got := manifestFiles(t, wh)
	if len(got) != 4 {
		t.Errorf("the manifest lists %d files, want the 4 both fetched: %v", len(got), got)
	}
	for _, u := range users {
		if out, err := asMember(u.uid, filepath.Join(root, u.name), "verify", "--no-progress", "--wheelhouse", wh).CombinedOutput(); err != nil {
			t.Errorf("%s verifying the team's wheelhouse: %v\n%s", u.name, err, out)
		}
	}
	// Someone outside the group is stopped at the lock, before any work,
	// and told which file refused them.
	alice := filepath.Join(root, "alice")
	out, err := as("65532", "65532", "002", alice, "fetch", "--no-progress").CombinedOutput()
	if err == nil || !strings.Contains(string(out), filepath.Join(wh, ".lock")+": permission denied") {
		t.Errorf("a user outside the group fetching into the team's wheelhouse: %v\n%s\nwant its lock file refused", err, out)
	}
	// Under umask 000 nothing is made writable by everyone: anyone could
	// rename a planted manifest and wheels into a wheelhouse that is.
	open := filepath.Join(root, "open")
	if err := os.Mkdir(open, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("chown", "65534:65534", open).CombinedOutput(); err != nil {
		t.Fatalf("chown: %v\n%s", err, out)
	}
	if out, err := as("65534", "65534", "000", alice, "fetch", "--no-progress", "--wheelhouse", filepath.Join(open, "wh")).CombinedOutput(); err != nil {
		t.Fatalf("fetching under umask 000: %v\n%s", err, out)
	}
	n := 0
	_ = filepath.WalkDir(open, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		n++
		if info, err := d.Info(); err == nil && info.Mode().Perm()&0o002 != 0 && p != open {
			t.Errorf("%s is writable by everyone (%v) after a fetch under umask 000", strings.TrimPrefix(p, open), info.Mode())
		}
		return nil
	})
	if n < 6 {
		t.Errorf("the fetch under umask 000 made %d entries, want a wheelhouse", n)
	}
}
