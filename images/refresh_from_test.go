package images

import (
	"path/filepath"
	"testing"
)

// TestRefreshFromALayoutIntoOtherOutputsCopiesTheKeptLayers refreshes an
// OCI layout into another layout and a docker-archive: the kept layers,
// found by their descriptors and opened only when read, are copied whole,
// and the result is the refresh made in place.
func TestRefreshFromALayoutIntoOtherOutputsCopiesTheKeptLayers(t *testing.T) {
	s, from, req := sampleRequest(t, "oci:"+filepath.Join(t.TempDir(), "from")+":dev", "linux/amd64")
	bake(t, req)
	req.Entries = bump(t, s)
	req.From = from
	var other string
	for _, c := range []struct {
		name, out string
	}{
		{"another layout", "oci:" + filepath.Join(t.TempDir(), "other") + ":dev"},
		{"a docker-archive", "docker-archive:" + filepath.Join(t.TempDir(), "image.tar") + ":larder/test:dev"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := req
			r.Output = mustRef(t, c.out)
			rep := bake(t, r)
			if !rep.Refreshed {
				t.Fatalf("not a refresh: %s", rep.Reason)
			}
			if r.Output.Transport == OCI {
				other = rep.Digest
			}
			var reused int
			for _, l := range rep.Images[0].Layers {
				if l.State == StateReused {
					reused++
				}
			}
			if reused == 0 {
				t.Fatal("no layer was kept from the layout refreshed")
			}
			checkReadable(t, r.Output)
		})
	}
	// The same refresh in place gives the same image.
	r := req
	r.From, r.Output = Ref{}, from
	if inPlace := bake(t, r); inPlace.Digest != other {
		t.Errorf("refreshed into another layout %s, in place %s", other, inPlace.Digest)
	}
}
