package resolver

import (
	"fmt"

	"github.com/larder-build/larder/resolver/dist"
	"github.com/larder-build/larder/resolver/pep440"
	"github.com/larder-build/larder/resolver/uvlock"
)

// StaticMetadata stands for the metadata of a project's files, as uv's
// dependency-metadata does: for the project at Version (at every version
// when Version is ""; one at the very version stands for one at every
// version), the resolver reads no file's metadata and takes the
// project's Requires-Dist, Requires-Python and extras from here.
type StaticMetadata struct {
	uvlock.StaticMetadata
	// Source says where it was read, for errors.
	Source string
}

// staticIndex is a request's static metadata by normalized name, each
// entry's version parsed once (nil for every version).
type staticIndex map[string][]staticEntry

type staticEntry struct {
	m       *StaticMetadata
	version *pep440.Version
}

// newStaticIndex indexes ms. Its Requires-Dist and Requires-Python are
// checked where they are used, as a file's would be.
func newStaticIndex(ms []StaticMetadata) (staticIndex, error) {
	out := staticIndex{}
	for i, m := range ms {
		if !dist.ValidName(m.Name) {
			return nil, fmt.Errorf("%s: dependency metadata for %q: not a project name", m.Source, m.Name)
		}
		e := staticEntry{m: &ms[i]}
		if m.Version != "" {
			v, err := pep440.Parse(m.Version)
			if err != nil {
				return nil, fmt.Errorf("%s: dependency metadata for %s %q: %w", m.Source, m.Name, m.Version, err)
			}
			e.version = &v
		}
		name := dist.NormalizeName(m.Name)
		out[name] = append(out[name], e)
	}
	return out, nil
}

// lookup returns the metadata that stands for name at version, as uv
// picks it: the entry at that version, else the one for every version.
func (s staticIndex) lookup(name string, version pep440.Version) (*dist.Metadata, bool) {
	var pick *StaticMetadata
	for _, e := range s[name] {
		if e.version == nil {
			if pick == nil {
				pick = e.m
			}
			continue
		}
		if e.version.Equal(version) {
			pick = e.m
			break
		}
	}
	if pick == nil {
		return nil, false
	}
	return &dist.Metadata{
		Name:           pick.Name,
		Version:        version.String(),
		RequiresDist:   pick.RequiresDist,
		RequiresPython: pick.RequiresPython,
		ProvidesExtra:  pick.ProvidesExtra,
	}, true
}
