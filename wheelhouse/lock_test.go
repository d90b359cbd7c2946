package wheelhouse_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/larder-build/larder/wheelhouse"
)

// TestWritersShareTheStoreAndGCWaitsForThemAll: two writers at once are
// fine, an exclusive lock (gc) is refused while either lives, and a
// writer that starts while another lives leaves that one's temporary
// files alone; the first writer alone removes a dead one's.
func TestWritersShareTheStoreAndGCWaitsForThemAll(t *testing.T) {
	a, b := twoStores(t)
	dead := a.Path(".dead-1.0-py3-none-any.whl.tmp-1")
	mustWrite(t, dead, nil)
	releaseA, err := a.BeginWrite(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dead); !os.IsNotExist(err) {
		t.Errorf("the first writer left a dead writer's temporary file: %v", err)
	}
	live := a.Path(".live-1.0-py3-none-any.whl.tmp-2")
	mustWrite(t, live, []byte("half a download"))
	releaseB, err := b.BeginWrite(context.Background())
	if err != nil {
		t.Fatalf("a second writer: %v", err)
	}
	if _, err := os.Stat(live); err != nil {
		t.Errorf("a second writer removed a live writer's temporary file: %v", err)
	}
	var busy *wheelhouse.BusyError
	if _, err := b.LockExclusive(); !errors.As(err, &busy) {
		t.Errorf("exclusive lock with two writers: %v, want a *BusyError", err)
	}
	releaseA()
	if _, err := b.LockExclusive(); !errors.As(err, &busy) {
		t.Errorf("exclusive lock with one writer: %v, want a *BusyError", err)
	}
	releaseB()
	release, err := a.LockExclusive()
	if err != nil {
		t.Fatalf("exclusive lock with no writer: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := b.BeginWrite(ctx); err == nil {
		t.Errorf("a writer started while gc runs")
	}
	release()
}

// TestCommitKeepsWhatOthersCommitted: two Stores of one folder, as two
// processes have, each Put and Commit; the manifest ends with both
// entries, a Remove removes only its file, and targets of one file
// fetched for two locks are both kept.
func TestCommitKeepsWhatOthersCommitted(t *testing.T) {
	a, b := twoStores(t)
	put := func(s *wheelhouse.Store, name string, targets ...string) {
		t.Helper()
		if err := s.Put(wheelhouse.Entry{Filename: name, Project: "p", SHA256: fill('a'), Targets: targets}); err != nil {
			t.Fatal(err)
		}
		if err := s.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	put(a, "one-1.0-py3-none-any.whl", "linux/amd64")
	put(b, "two-1.0-py3-none-any.whl")
	put(b, "one-1.0-py3-none-any.whl", "linux/arm64")
	put(a, "three-1.0-py3-none-any.whl")
	if err := b.Remove("two-1.0-py3-none-any.whl"); err != nil {
		t.Fatal(err)
	}
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := a.Refresh(); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range a.Entries() {
		names = append(names, e.Filename)
	}
	if len(names) != 2 || names[0] != "one-1.0-py3-none-any.whl" || names[1] != "three-1.0-py3-none-any.whl" {
		t.Fatalf("entries %v, want one and three", names)
	}
	if e, _ := a.Lookup("one-1.0-py3-none-any.whl"); len(e.Targets) != 2 {
		t.Errorf("targets %v, want both locks' targets", e.Targets)
	}
}

// twoStores creates a store and opens its folder a second time, as two
// processes sharing it do.
func twoStores(t *testing.T) (a, b *wheelhouse.Store) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "wh")
	a, err := wheelhouse.Create(dir)
	if err != nil {
		t.Fatal(err)
	}
	b, err = wheelhouse.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	return a, b
}

func fill(c byte) string {
	b := make([]byte, 64)
	for i := range b {
		b[i] = c
	}
	return string(b)
}

// TestALockFileThatIsNotARegularFileIsRefusedNotWaitedOn: a named pipe
// planted as either lock file (a group-shared wheelhouse lets another
// member do that) is refused, naming it, and never waited on (an open
// for reading alone would wait for a writer forever; before, the open
// for writing too took the pipe for a lock).
func TestALockFileThatIsNotARegularFileIsRefusedNotWaitedOn(t *testing.T) {
	for _, tc := range []struct {
		name string
		use  func(*wheelhouse.Store) error
	}{
		{".lock", func(s *wheelhouse.Store) error {
			release, err := s.BeginWrite(context.Background())
			if err == nil {
				release()
			}
			return err
		}},
		{".manifest.lock", func(s *wheelhouse.Store) error { return s.Commit() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := twoStores(t)
			lock := filepath.Join(s.Dir(), tc.name)
			if err := os.Remove(lock); err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			if err := syscall.Mkfifo(lock, 0o666); err != nil {
				t.Skipf("no named pipes here: %v", err)
			}
			done := make(chan error, 1)
			go func() { done <- tc.use(s) }()
			select {
			case err := <-done:
				if err == nil || !strings.Contains(err.Error(), tc.name) || !strings.Contains(err.Error(), "not a regular file") {
					t.Errorf("with a named pipe as %s: %v, want it refused by name", tc.name, err)
				}
			case <-time.After(30 * time.Second):
				t.Fatalf("with a named pipe as %s: still waiting after 30 s", tc.name)
			}
		})
	}
}
