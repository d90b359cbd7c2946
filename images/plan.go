package images

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
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
			st, err := os.Stat(filepath.Join(ref.Path, "blobs", b.digest.Algorithm, b.digest.Hex))
			if errors.Is(err, fs.ErrNotExist) {
				return false, nil
			}
			return err == nil && st.Size() == b.size, err
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
