package ocilayout_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/larder-build/larder/internal/ocilayout"
	"github.com/larder-build/larder/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// stageEnv makes the test binary a larder process that stages a new
// layout for the folder it names, says so by making the file named in
// stageReadyEnv, and waits to be killed.
const (
	stageEnv      = "LARDER_OCILAYOUT_STAGE"
	stageReadyEnv = "LARDER_OCILAYOUT_READY"
)

func TestHelperProcess(t *testing.T) {
	if spec, ok := testenv.HelperProcessSpec[holdSpec](t, holdEnv); ok {
		holdInHelper(t, spec)
		return
	}
	dir := os.Getenv(stageEnv)
	if dir == "" {
		return
	}
	u, err := ocilayout.Stage(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	if err := os.WriteFile(filepath.Join(u.Dir(), ocilayout.LayoutFile), []byte(ocilayout.LayoutContent), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(os.Getenv(stageReadyEnv), []byte(u.Dir()), 0o644); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Minute) // killed long before
}

// stageInChild stages a new layout for dir in another process, and
// returns the process and its staging folder.
func stageInChild(t *testing.T, dir string) (*exec.Cmd, string) {
	t.Helper()
	ready := filepath.Join(t.TempDir(), "ready")
	cmd := testenv.StartHelperProcess(t, stageEnv+"="+dir, stageReadyEnv+"="+ready)
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(10 * time.Millisecond) {
		if b, err := os.ReadFile(ready); err == nil && len(b) > 0 {
			return cmd, string(b)
		}
		if time.Now().After(deadline) {
			t.Fatal("the helper never staged its layout")
		}
	}
}

func TestRemoveStaleTakesOnlyTheFoldersOfDeadWritersOfThatLayout(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "out")
	mkdir := func(name string, age time.Duration) string {
		p := filepath.Join(parent, name)
		if err := os.MkdirAll(filepath.Join(p, "blobs", "sha256"), 0o755); err != nil {
			t.Fatal(err)
		}
		then := time.Now().Add(-age)
		for _, q := range []string{filepath.Join(p, "blobs", "sha256"), filepath.Join(p, "blobs"), p} {
			if err := os.Chtimes(q, then, then); err != nil {
				t.Fatal(err)
			}
		}
		return p
	}

	// Killed (SIGKILL: nothing of its own runs) after staging: dead,
	// however young its folder.
	child, killed := stageInChild(t, dir)
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	child.Wait()
	// Alive, in another process and in this one (flock: another open file
	// is another holder).
	_, alive := stageInChild(t, dir)
	mine, err := ocilayout.Stage(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer mine.Close()
	// No lock file (a larder from before the locks): by age.
	oldLockless := mkdir("out.tmp-0123456789ab", 2*time.Hour)
	youngLockless := mkdir("out.tmp-ba9876543210", time.Minute)
	// A lock-less one whose blob is still being written: young.
	writing := mkdir("out.tmp-00000000000a", 2*time.Hour)
	if err := os.WriteFile(filepath.Join(writing, "blobs", "sha256", ".x.tmp"), []byte("half"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Not staging folders of this layout, however old.
	others := []string{
		mkdir("other.tmp-0123456789ab", 2*time.Hour),
		mkdir("out.tmp-0123456789AB", 2*time.Hour),
		mkdir("out.tmp-0123456789abc", 2*time.Hour),
		mkdir("out.tmp-", 2*time.Hour),
		mkdir("out.new-0123456789ab", 2*time.Hour),
	}
	target := mkdir("elsewhere", 2*time.Hour)
	link := filepath.Join(parent, "out.tmp-aaaaaaaaaaaa")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(parent, "out.tmp-bbbbbbbbbbbb")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}

	removed := ocilayout.RemoveStale(dir)
	slices.Sort(removed)
	want := []string{oldLockless, killed}
	slices.Sort(want)
	if !slices.Equal(removed, want) {
		t.Errorf("RemoveStale removed %q, want %q", removed, want)
	}
	for _, p := range want {
		if _, err := os.Lstat(p); !os.IsNotExist(err) {
			t.Errorf("%s is still there (%v)", p, err)
		}
	}
	for _, p := range append(others, alive, mine.Dir(), youngLockless, writing, link, file, target) {
		if _, err := os.Lstat(p); err != nil {
			t.Errorf("%s, not a dead writer's staging folder of %s, was removed: %v", p, dir, err)
		}
	}
}

// TestStageAndRemoveStaleAtOnceNeverLoseALiveFolder: a staging folder's
// lock file is locked before it has its name, so a sweep never finds a
// live writer's free, whenever it runs.
func TestStageAndRemoveStaleAtOnceNeverLoseALiveFolder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	stop := make(chan struct{})
	swept := make(chan int)
	go func() {
		n := 0
		for {
			select {
			case <-stop:
				swept <- n
				return
			default:
				n += len(ocilayout.RemoveStale(dir))
			}
		}
	}()
	for i := 0; i < 300 && ctx.Err() == nil; i++ {
		u, err := ocilayout.Stage(dir)
		if err != nil {
			t.Fatal(err)
		}
		// The folder stays while held: a file written into it now is there.
		p := filepath.Join(u.Dir(), ocilayout.LayoutFile)
		if err := os.WriteFile(p, []byte(ocilayout.LayoutContent), 0o644); err != nil {
			t.Fatalf("round %d: writing into a held staging folder: %v", i, err)
		}
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("round %d: a held staging folder lost its file: %v", i, err)
		}
		u.Close()
	}
	close(stop)
	if n := <-swept; n == 0 {
		t.Log("the sweeper removed no released folder")
	}
}

func TestOnlyLarderTemporaryFilesAreWriteLeftovers(t *testing.T) {
	h64, h16, h12 := strings.Repeat("ab", 32), strings.Repeat("0f", 8), strings.Repeat("9e", 6)
	for _, tt := range []struct {
		name string
		want bool
	}{
		{".index.json." + h16 + ".tmp", true},
		{".oci-layout." + h16 + ".tmp", true},
		{ocilayout.UseLock + "." + h16 + ".tmp", true},
		{"." + ocilayout.UseLock + "." + h16 + ".tmp", false},
		{"." + h64 + "." + h12 + ".tmp", true},
		{"." + h64 + ".tmp-" + h16, true},
		{".notes.tmp", false},
		{".index.json.tmp", false},
		{".index.json." + strings.ToUpper(h16) + ".tmp", false},
		{".index.json." + h12 + ".tmp", false},
		{"." + h64 + "." + h16 + ".tmp", false},
		{"." + h64 + ".tmp", false},
		{"." + h64[:63] + "g." + h12 + ".tmp", false},
		{h64 + "." + h12 + ".tmp", false},
		{ocilayout.UseLock, false},
		{ocilayout.IndexFile, false},
		{"", false},
		{".", false},
	} {
		if got := ocilayout.IsWriteLeftover(tt.name); got != tt.want {
			t.Errorf("IsWriteLeftover(%q) = %t, want %t", tt.name, got, tt.want)
		}
	}
}

func FuzzIsWriteLeftover(f *testing.F) {
	f.Add("." + strings.Repeat("ab", 32) + ".tmp")
	f.Add(".index.json.0123456789abcdef.tmp")
	f.Add("." + strings.Repeat("ab", 32) + ".tmp-0123456789abcdef")
	f.Fuzz(func(t *testing.T, name string) {
		if ocilayout.IsWriteLeftover(name) && (len(name) < len("..tmp") || name[0] != '.') {
			t.Errorf("%q is taken for a leftover", name)
		}
	})
}

// TestALayoutNamedWithATrailingSlashIsStagedBesideIt: "out/" is the
// folder out, whose staging folder goes beside it, not into it.
func TestALayoutNamedWithATrailingSlashIsStagedBesideIt(t *testing.T) {
	parent := t.TempDir()
	u, err := ocilayout.Stage(filepath.Join(parent, "out") + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	if got := filepath.Dir(u.Dir()); got != parent {
		t.Errorf("out/ is staged in %s, want beside it in %s", u.Dir(), parent)
	}
	if _, err := os.Stat(filepath.Join(parent, "out")); err == nil {
		t.Error("staging out/ made the folder out itself")
	}
}
