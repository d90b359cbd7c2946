package buildkit

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/larder-build/larder/images"
	"github.com/larder-build/larder/internal/ocilayout"
)

// ContextFor turns an image reference or a folder into a named build
// context: an oci: layout (resolved to its digest, which BuildKit needs),
// a docker:// image (pulled by the daemon), or a local folder. A layout
// is held shared (package ocilayout) from before its digest is resolved
// until Release: BuildKit reads its blobs while the build runs, and no
// other larder process's clean-up removes one meanwhile. Release every
// context once the build is over.
func ContextFor(ctx context.Context, name, ref string) (Context, error) {
	if st, err := os.Stat(ref); err == nil && st.IsDir() {
		if _, err := os.Stat(filepath.Join(ref, "oci-layout")); err != nil {
			abs, err := filepath.Abs(ref)
			if err != nil {
				return Context{}, err
			}
			return Context{Name: name, Dir: abs}, nil
		}
		ref = "oci:" + ref
	}
	r, err := images.ParseRef(ref, false)
	if err != nil {
		return Context{}, fmt.Errorf("build context %s: %w", name, err)
	}
	switch r.Transport {
	case images.Docker:
		return Context{Name: name, Image: r.Name.String()}, nil
	case images.OCI:
		abs, err := filepath.Abs(r.Path)
		if err != nil {
			return Context{}, err
		}
		hold, err := ocilayout.Take(ctx, abs, false, nil)
		if err != nil {
			return Context{}, fmt.Errorf("build context %s: %w", name, err)
		}
		src, err := images.Open(ctx, r, images.Remote{})
		if err != nil {
			hold.Close()
			return Context{}, fmt.Errorf("build context %s: %w", name, err)
		}
		return Context{Name: name, Layout: abs, Digest: src.Digest.String(), hold: hold}, nil
	}
	return Context{}, fmt.Errorf("build context %s: %s: want a folder, oci:DIR[:TAG] or docker://REF", name, ref)
}

// Image is a Dockerfile build whose result is written like a bake's.
type Image struct {
	Request
	// Output is where the image goes; Remote configures registries.
	Output images.Ref
	Remote images.Remote
}

// BuildImage builds on the daemon at addr, exports the image (an index
// for several platforms) into a temporary OCI layout, and writes it to the
// output with images.Write: a registry gets only the blobs it lacks, a
// layout or tarball is never half written. It releases b's contexts
// once BuildKit has run.
func BuildImage(ctx context.Context, addr string, b Image) (*images.WriteResult, error) {
	c, err := Connect(ctx, addr)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	tmp, err := os.MkdirTemp("", "larder-build-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	req := b.Request
	req.OCIDir, req.LocalDir = filepath.Join(tmp, "layout"), ""
	err = Solve(ctx, c, req)
	// BuildKit has read its contexts once the solve is over: their
	// layouts are let go before the output is written, which may be one
	// of them and is cleaned up by the last larder process out of it.
	for _, bc := range b.Contexts {
		bc.Release()
	}
	if err != nil {
		return nil, fmt.Errorf("building: %w", err)
	}
	built, err := images.ParseRef("oci:"+req.OCIDir, false)
	if err != nil {
		return nil, err
	}
	src, err := images.Open(ctx, built, images.Remote{})
	if err != nil {
		return nil, fmt.Errorf("reading BuildKit's output: %w", err)
	}
	return images.Write(ctx, b.Output, images.Artifact{Image: src.Image, Index: src.Index}, b.Remote, nil)
}
