package uvlock

import (
	"github.com/larder-build/larder/resolver/dist"
	"github.com/larder-build/larder/resolver/pep440"
	"github.com/larder-build/larder/resolver/pep508"
	"github.com/larder-build/larder/resolver/tomldoc"
)

// StaticMetadata is one of uv's dependency-metadata entries: metadata
// given for a project instead of its files' ([[tool.uv.dependency-metadata]]
// in a pyproject.toml, recorded as [[manifest.dependency-metadata]] in the
// lock it makes), for projects whose files have none worth reading (an
// sdist that needs a build, metadata that lies).
type StaticMetadata struct {
	// Name is normalized.
	Name string
	// Version is the version the entry stands for; "" for every version.
	Version string
	// RequiresDist are PEP 508 requirement strings, checked.
	RequiresDist   []string
	RequiresPython string
	ProvidesExtra  []string
}

// staticMetadataKeys are the keys of an entry; uv refuses any other.
var staticMetadataKeys = map[string]bool{
	"name": true, "version": true, "requires-dist": true, "requires-python": true,
	"provides-extra": true, "provides-extras": true,
}

// ReadDependencyMetadata reads the array of dependency-metadata tables at
// key. Problems are reported on t's document.
func ReadDependencyMetadata(t *tomldoc.Table, key string) []StaticMetadata {
	return tomldoc.ReadTables(t, key, readStaticMetadata)
}

func readStaticMetadata(t *tomldoc.Table) StaticMetadata {
	for k := range t.M {
		if !staticMetadataKeys[k] {
			t.P.Addf(t.KeyPath(k), "unknown key: dependency metadata has name, version, requires-dist, requires-python and provides-extra")
		}
	}
	m := StaticMetadata{Version: t.Str("version"), RequiresPython: t.Str("requires-python")}
	if name := t.RequiredStr("name"); name != "" {
		if dist.ValidName(name) {
			m.Name = dist.NormalizeName(name)
		} else {
			t.P.Addf(t.KeyPath("name"), "invalid project name %q", name)
		}
	}
	if m.Version != "" {
		if _, err := pep440.Parse(m.Version); err != nil {
			t.P.Add(t.P.X.Wrap(t.KeyPath("version"), err))
		}
	}
	if m.RequiresPython != "" {
		if _, err := pep440.ParseSpecifiers(m.RequiresPython); err != nil {
			t.P.Add(t.P.X.Wrap(t.KeyPath("requires-python"), err))
		}
	}
	for i, r := range t.Strs("requires-dist") {
		if _, err := pep508.ParseRequirement(r); err != nil {
			t.P.Add(t.P.X.Wrap(tomldoc.IndexKey(t.KeyPath("requires-dist"), i), err))
			continue
		}
		m.RequiresDist = append(m.RequiresDist, r)
	}
	extras := "provides-extra"
	if !t.Has(extras) {
		extras = "provides-extras" // uv's alias
	}
	for _, e := range t.Strs(extras) {
		m.ProvidesExtra = append(m.ProvidesExtra, dist.NormalizeName(e))
	}
	return m
}
