package pypitest

import (
	"time"
)

// Index is a declarative description of a whole fake package index.
type Index struct {
	Projects []Project `toml:"projects" json:"projects"`
}

// Project is one project of an Index with all of its releases.
type Project struct {
	Name     string    `toml:"name" json:"name"`
	Releases []Release `toml:"releases" json:"releases"`
}

// Release is one version of a Project and the distributions published for it.
//
// Yanked follows one convention: "" means not yanked; any other value means
// yanked, and the value is the reason, except the special value YankedNoReason
// ("yes"), which means yanked without a reason text.
type Release struct {
	Version        string    `toml:"version" json:"version"`
	RequiresPython string    `toml:"requires_python,omitempty" json:"requires_python,omitempty"` // Requires-Python; "" for none
	Requires       []string  `toml:"requires,omitempty" json:"requires,omitempty"`               // Requires-Dist lines, PEP 508, markers allowed (`extra == "x"`)
	Extras         []string  `toml:"extras,omitempty" json:"extras,omitempty"`                   // Provides-Extra
	Yanked         string    `toml:"yanked,omitempty" json:"yanked,omitempty"`                   // "" = not yanked; YankedNoReason = yanked without reason; otherwise the reason
	Wheels         []Wheel   `toml:"wheels,omitempty" json:"wheels,omitempty"`
	Sdist          bool      `toml:"sdist,omitempty" json:"sdist,omitempty"`             // also publish NAME-VER.tar.gz
	SdistSize      int       `toml:"sdist_size,omitempty" json:"sdist_size,omitempty"`   // approximate size of the sdist; 0 = no padding
	UploadTime     time.Time `toml:"upload_time,omitempty" json:"upload_time,omitempty"` // zero = a deterministic default derived from the version order
}

// Wheel is one wheel of a Release.
type Wheel struct {
	Tags string `toml:"tags" json:"tags"`                     // compressed tag set, e.g. "py3-none-any" or "cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64"
	Size int    `toml:"size,omitempty" json:"size,omitempty"` // approximate total file size in bytes; padded with incompressible deterministic bytes
}

// YankedNoReason is the Release.Yanked value meaning yanked with no reason text.
const YankedNoReason = "yes"

// Load reads an Index spec from a TOML (.toml) or JSON (.json) file.
func Load(path string) (*Index, error) {
	return load(path)
}
