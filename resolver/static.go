package resolver

import (
	"fmt"

	"github.com/larder-build/larder/resolver/dist"
	"github.com/larder-build/larder/resolver/pep440"
	"github.com/larder-build/larder/resolver/pep508"
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

// staticIndex is a request's static metadata by normalized name.
type staticIndex map[string][]StaticMetadata

func newStaticIndex(ms []StaticMetadata) (staticIndex, error) {
	out := staticIndex{}
	for _, m := range ms {
		if !dist.ValidName(m.Name) {
			return nil, fmt.Errorf("%s: dependency metadata for %q: not a project name", m.Source, m.Name)
		}
		if m.Version != "" {
			if _, err := pep440.Parse(m.Version); err != nil {
				return nil, fmt.Errorf("%s: dependency metadata for %s %q: %w", m.Source, m.Name, m.Version, err)
			}
		}
		if m.RequiresPython != "" {
			if _, err := pep440.ParseSpecifiers(m.RequiresPython); err != nil {
				return nil, fmt.Errorf("%s: dependency metadata for %s: requires-python: %w", m.Source, m.Name, err)
			}
		}
		for _, r := range m.RequiresDist {
			if _, err := pep508.ParseRequirement(r); err != nil {
				return nil, fmt.Errorf("%s: dependency metadata for %s: requires-dist %q: %w", m.Source, m.Name, r, err)
			}
		}
		name := dist.NormalizeName(m.Name)
		out[name] = append(out[name], m)
	}
	return out, nil
}

// lookup returns the metadata that stands for name at version, as uv
// picks it: the entry at that version, else the one for every version.
func (s staticIndex) lookup(name string, version pep440.Version) (*dist.Metadata, bool) {
	var pick *StaticMetadata
	for i, m := range s[name] {
		if m.Version == "" {
			if pick == nil {
				pick = &s[name][i]
			}
			continue
		}
		if v, err := pep440.Parse(m.Version); err == nil && v.Equal(version) {
			pick = &s[name][i]
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
