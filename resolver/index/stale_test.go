package index

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/larder-build/larder/internal/pypitest"
	"github.com/larder-build/larder/internal/testenv"
)

// helperEnv carries the cache folder a TestHelperProcess writes into.
const helperEnv = "LARDER_INDEX_HELPER"

type helperSpec struct{ Dir string }

// TestHelperProcess is the second process of a kill test: it writes a
// large page into the cache again and again, for at most a minute, until
// it is killed.
func TestHelperProcess(t *testing.T) {
	spec, ok := testenv.HelperProcessSpec[helperSpec](t, helperEnv)
	if !ok {
		t.Skip("only a helper process")
	}
	c := newCache(spec.Dir)
	body := bytes.Repeat([]byte("x"), 4<<20)
	for end := time.Now().Add(time.Minute); time.Now().Before(end); {
		if err := c.putPage("https://pypi.example/simple/big/", &entry{URL: "https://pypi.example/simple/big/", Body: body}); err != nil {
			t.Fatal(err)
		}
	}
}

// stagedWrites lists the names of staged writes in the cache's tmp folder.
func stagedWrites(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(dir, "index-tmp"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".tmp-") {
			names = append(names, e.Name())
		}
	}
	return names
}

// killedMidWrite kills a process writing into the cache at dir while one
// of its writes is staged, and returns that write's name. It tries up to
// five processes: one may finish its write between the look and the kill.
func killedMidWrite(t *testing.T, dir string) string {
	t.Helper()
	for range 5 {
		cmd := testenv.StartHelperProcessWith(t, helperEnv, helperSpec{Dir: dir})
		deadline := time.Now().Add(20 * time.Second)
		for len(stagedWrites(t, dir)) == 0 {
			if time.Now().After(deadline) {
				t.Fatal("the writing process staged no write in the cache's tmp folder within 20 s")
			}
			time.Sleep(time.Millisecond)
		}
		cmd.Process.Kill()
		cmd.Wait()
		if left := stagedWrites(t, dir); len(left) > 0 {
			return left[0]
		}
	}
	t.Fatal("five writing processes killed, none in the middle of a write")
	return ""
}

// TestAWriteKilledMidwayIsRemovedByALaterRunOnceStale: a process killed
// while it writes into the cache leaves its staged write; a later run
// removes it once it is older than staleTemp, and leaves alone a staged
// write young enough to be another process's live one and any file the
// cache did not make.
func TestAWriteKilledMidwayIsRemovedByALaterRunOnceStale(t *testing.T) {
	testenv.Slow(t, "kills a process writing 4 MiB pages")
	dir := t.TempDir()
	dead := killedMidWrite(t, dir)
	tmp := filepath.Join(dir, "index-tmp")

	// Right after the kill the write is too young to tell from a live
	// one: a run keeps it.
	srv := pypitest.Start(t, demoIndex())
	if _, err := newClient(t, []string{srv.URL()}, WithCacheDir(dir)).Project(context.Background(), "six"); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(stagedWrites(t, dir), dead) {
		t.Fatalf("a run removed %s the moment its writer died, before it is stale", dead)
	}

	// An hour and more later.
	old := time.Now().Add(-staleTemp - time.Minute)
	if err := os.Chtimes(filepath.Join(tmp, dead), old, old); err != nil {
		t.Fatal(err)
	}
	live := filepath.Join(tmp, ".tmp-live")
	notOurs := filepath.Join(tmp, "notes.txt")
	for _, p := range []string{live, notOurs} {
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chtimes(notOurs, old, old); err != nil {
		t.Fatal(err)
	}
	if _, err := newClient(t, []string{srv.URL()}, WithCacheDir(dir)).Project(context.Background(), "demo-lib"); err != nil {
		t.Fatal(err)
	}
	if got := stagedWrites(t, dir); !slices.Equal(got, []string{".tmp-live"}) {
		t.Errorf("staged writes after a later run: %v, want only the live one", got)
	}
	if _, err := os.Stat(notOurs); err != nil {
		t.Errorf("a file the cache did not make was removed: %v", err)
	}
}

// TestARunRemovesWhatAnEarlierLarderStagedBesideTheEntriesOnceStale: an
// earlier larder staged its writes beside the entries, as .tmp- and
// digits, and left them there when it was killed midway. The first run
// that writes removes those older than staleTemp, keeps a younger one (a
// live write of such a larder) and every other name, and lists the
// folders again on a later run only while something was kept.
func TestARunRemovesWhatAnEarlierLarderStagedBesideTheEntriesOnceStale(t *testing.T) {
	dir := t.TempDir()
	old := time.Now().Add(-staleTemp - time.Minute)
	plant := func(rel string, mtime time.Time) string {
		return testenv.Plant(t, filepath.Join(dir, rel), mtime)
	}
	dead := []string{
		plant("http/ab/.tmp-1234567", old),
		plant("metadata/file-sha256/cd/.tmp-42", old),
		plant("metadata/served/ef/.tmp-987654321", old),
	}
	live := plant("http/ab/.tmp-7654321", time.Now())
	kept := []string{live, plant("http/ab/.tmp-notes", old), plant("http/ab/"+strings.Repeat("0", 64), old), plant("git/ab/.tmp-1234", old)}
	exists := func(p string) bool { _, err := os.Stat(p); return err == nil }

	srv := pypitest.Start(t, demoIndex())
	if _, err := newClient(t, []string{srv.URL()}, WithCacheDir(dir)).Project(context.Background(), "six"); err != nil {
		t.Fatal(err)
	}
	for _, p := range dead {
		if exists(p) {
			t.Errorf("%s, staged over an hour ago, is left", p)
		}
	}
	for _, p := range kept {
		if !exists(p) {
			t.Errorf("%s was removed", p)
		}
	}

	// The live write was kept: a later run looks again, and finds it dead.
	if err := os.Chtimes(live, old, old); err != nil {
		t.Fatal(err)
	}
	if _, err := newClient(t, []string{srv.URL()}, WithCacheDir(dir)).Project(context.Background(), "demo-lib"); err != nil {
		t.Fatal(err)
	}
	if exists(live) {
		t.Errorf("%s is left after it went stale", live)
	}
	if !exists(filepath.Join(dir, "index-tmp", oldStagingSwept)) {
		t.Errorf("no record that the folders hold nothing more to remove")
	}
}
