package resolver

import (
	"context"
	"sync"

	"github.com/larder-build/larder/resolver/dist"
)

type vcsResult struct {
	once sync.Once
	v    VCS
	md   *dist.Metadata
	raw  []byte
	err  error
}

// resolveVCS pins and reads a VCS requirement once for all targets.
func (sh *shared) resolveVCS(ctx context.Context, req Request, v *VCS) (*vcsResult, error) {
	key := v.URL + "@" + v.Rev + "#" + v.Subdirectory
	sh.vcsMu.Lock()
	if sh.vcs == nil {
		sh.vcs = map[string]*vcsResult{}
	}
	r, ok := sh.vcs[key]
	if !ok {
		r = &vcsResult{v: *v}
		sh.vcs[key] = r
	}
	sh.vcsMu.Unlock()
	r.once.Do(func() {
		python := req.Python
		if python == "" {
			python = "python3"
		}
		r.md, r.raw, r.err = resolveVCS(ctx, req.CacheDir, python, &r.v)
		if r.err == nil {
			// Never ask an index about a fork's name, not even to warm up.
			sh.mu.Lock()
			sh.warmed[dist.NormalizeName(r.md.Name)] = true
			sh.mu.Unlock()
		}
	})
	return r, r.err
}
