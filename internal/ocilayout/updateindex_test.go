package ocilayout

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// TestAWriterBetweenAnotherOnesReadAndWriteOfTheIndexKeepsItsTag: a
// second writer that merges its tag while the first has read index.json
// and not yet written it waits for the index lock, and both tags
// survive. The second writer is started from inside the first's merge,
// so they meet every run, not by chance.
func TestAWriterBetweenAnotherOnesReadAndWriteOfTheIndexKeepsItsTag(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	dir := t.TempDir()
	if err := WriteLayoutFile(dir); err != nil {
		t.Fatal(err)
	}
	tag := func(name string) func(*v1.IndexManifest) error {
		return func(idx *v1.IndexManifest) error {
			idx.Manifests = append(idx.Manifests, v1.Descriptor{MediaType: types.OCIManifestSchema1, Size: 2,
				Digest:      v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("0", 64)},
				Annotations: map[string]string{"org.opencontainers.image.ref.name": name}})
			return nil
		}
	}
	take := func() *Use {
		u, err := Take(ctx, dir, true, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(u.Close)
		return u
	}
	first, second := take(), take()
	var called atomic.Bool
	var secondErr error
	secondDone := make(chan struct{})
	waits := make(chan string, 2)
	testHookIndexRead = func(string) {
		if called.Swap(true) {
			return // the second writer's read
		}
		go func() {
			defer close(secondDone)
			secondErr = second.UpdateIndex(ctx, func(d string) { waits <- d }, tag("second"))
		}()
		// The first writes only once the second waits (or, without
		// the index lock, has written).
		select {
		case d := <-waits:
			if d != dir {
				t.Errorf("the second writer says it waits for %q, want %q", d, dir)
			}
		case <-secondDone:
			t.Log("the second writer merged its tag without waiting")
		case <-ctx.Done():
			t.Error("the second writer neither waited nor finished")
		}
	}
	defer func() { testHookIndexRead = nil }()
	if err := first.UpdateIndex(ctx, nil, tag("first")); err != nil {
		t.Fatal(err)
	}
	<-secondDone
	if secondErr != nil {
		t.Fatal(secondErr)
	}
	idx, err := ReadIndex(dir)
	if err != nil {
		t.Fatal(err)
	}
	var tags []string
	for _, d := range idx.Manifests {
		tags = append(tags, d.Annotations["org.opencontainers.image.ref.name"])
	}
	if strings.Join(tags, " ") != "first second" {
		t.Errorf("index.json tags %q, want both writers' (first second)", tags)
	}
}
