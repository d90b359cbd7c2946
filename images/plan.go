package images

import (
	"context"
	"fmt"
	"net/http"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/larder-build/larder/internal/ocilayout"
)

// wouldWrite counts the blobs of an artifact that the output lacks: files
// missing from a layout, blobs a registry does not have (asked with HEAD),
// or everything for a tarball.
func wouldWrite(ctx context.Context, ref Ref, a Artifact, o Remote) (*UploadPlan, error) {
	blobs, err := a.blobs()
	if err != nil {
		return nil, err
	}
	has := func(blob) (bool, error) { return false, nil }
	switch ref.Transport {
	case OCI:
		has = func(b blob) (bool, error) {
			ok, err := ocilayout.HasBlob(ref.Path, b.digest, b.size)
			if ocilayout.Replaceable(err) {
				// Not the blob (a link, even to its bytes elsewhere; a
				// named pipe; another size): the bake replaces it
				// (writeBlob), so it is one to write.
				return false, nil
			}
			return ok, err
		}
	case Docker:
		client, err := registryClient(ctx, ref, o)
		if err != nil {
			return nil, err
		}
		repo := ref.Name.Context()
		has = func(b blob) (bool, error) {
			u := fmt.Sprintf("%s://%s/v2/%s/blobs/%s", repo.Scheme(), repo.RegistryStr(), repo.RepositoryStr(), b.digest)
			req, err := http.NewRequestWithContext(ctx, http.MethodHead, u, nil)
			if err != nil {
				return false, err
			}
			resp, err := client.Do(req)
			if err != nil {
				return false, err
			}
			resp.Body.Close()
			return resp.StatusCode == http.StatusOK, nil
		}
	}
	up := &UploadPlan{}
	for _, b := range blobs {
		ok, err := has(b)
		if err != nil {
			return nil, fmt.Errorf("checking %s for %s: %w", ref, b.digest, err)
		}
		if !ok {
			up.Blobs++
			up.Bytes += b.size
		}
	}
	return up, nil
}

// registryClient is an authenticated client for a repository, allowed to
// read it.
func registryClient(ctx context.Context, ref Ref, o Remote) (*http.Client, error) {
	repo := ref.Name.Context()
	auth, err := o.keychain().Resolve(repo.Registry)
	if err != nil {
		return nil, fmt.Errorf("finding credentials for %s: %w", repo.RegistryStr(), err)
	}
	t, err := transport.NewWithContext(ctx, repo.Registry, auth, o.transport(), []string{repo.Scope(transport.PullScope)})
	if err != nil {
		return nil, fmt.Errorf("reaching %s: %w", repo.RegistryStr(), err)
	}
	return &http.Client{Transport: t}, nil
}
