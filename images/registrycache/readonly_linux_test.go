package registrycache_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/larder-build/larder/images/registrycache"
	"github.com/larder-build/larder/internal/testenv"
)

// TestACacheOnAReadOnlyMountOpensAndReads: a cache kept in a layout that
// is only read (here on a real tmpfs remounted read-only) opens, and
// answers, without writing anything into it.
func TestACacheOnAReadOnlyMountOpensAndReads(t *testing.T) {
	disk := testenv.Tmpfs(t, "4m")
	dir := filepath.Join(disk, "cache")
	ctx := context.Background()
	if _, err := registrycache.Open(ctx, "oci:"+dir); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-o", "remount,ro", "--target", disk).CombinedOutput(); err != nil {
		t.Fatalf("remounting read-only: %v %s", err, out)
	}
	before, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	c, err := registrycache.Open(ctx, "oci:"+dir)
	if err != nil {
		t.Fatalf("opening a cache on a read-only mount: %v", err)
	}
	if ok, err := c.Has(ctx, strings.Repeat("ab", 32)); ok || err != nil {
		t.Errorf("Has of a file the cache lacks: %t, %v", ok, err)
	}
	after, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before) {
		t.Errorf("opening a cache only read changed its folder: %d entries, then %d", len(before), len(after))
	}
}
