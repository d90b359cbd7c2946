package pep517

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2"

	"github.com/larder-build/larder/internal/readlimit"
	"github.com/larder-build/larder/resolver/dist"
)

// maxSdistMember bounds how much of PKG-INFO or pyproject.toml is read.
const maxSdistMember = 4 << 20

// SdistMetadata is what an sdist says about itself without being built.
type SdistMetadata struct {
	// Raw is core metadata text (METADATA format) for the release.
	Raw []byte
	// Reliable reports that Raw's dependencies can be trusted without a
	// build: PKG-INFO of Metadata-Version 2.2 or later that does not mark
	// Requires-Dist or Requires-Python dynamic (PEP 643), or a
	// pyproject.toml [project] table that declares them statically
	// (PEP 621).
	Reliable bool
	// Source is where Raw came from: "PKG-INFO" or "pyproject.toml".
	Source string
}

// ReadSdistMetadata reads PKG-INFO and pyproject.toml from the top folder
// of an sdist (.tar.gz or .zip) in the file at path.
func ReadSdistMetadata(filename string) (*SdistMetadata, error) {
	pkgInfo, pyproject, err := sdistMembers(filename)
	if err != nil {
		return nil, fmt.Errorf("reading sdist %s: %w", path.Base(filename), err)
	}
	var fromPkgInfo *SdistMetadata
	if pkgInfo != nil {
		md, err := dist.ParseMetadata(bytes.NewReader(pkgInfo))
		if err != nil {
			return nil, fmt.Errorf("reading sdist %s: PKG-INFO: %w", path.Base(filename), err)
		}
		fromPkgInfo = &SdistMetadata{Raw: pkgInfo, Source: "PKG-INFO", Reliable: staticPkgInfo(md)}
		if fromPkgInfo.Reliable {
			return fromPkgInfo, nil
		}
	}
	if pyproject != nil {
		if raw, ok := StaticProjectMetadata(pyproject); ok {
			return &SdistMetadata{Raw: raw, Source: "pyproject.toml", Reliable: true}, nil
		}
	}
	if fromPkgInfo != nil {
		return fromPkgInfo, nil
	}
	return nil, fmt.Errorf("reading sdist %s: no PKG-INFO", path.Base(filename))
}

// staticPkgInfo applies PEP 643: from 2.2 on, fields not marked Dynamic
// are the ones a build will produce.
func staticPkgInfo(md *dist.Metadata) bool {
	major, minor, _ := strings.Cut(md.MetadataVersion, ".")
	maj, err1 := strconv.Atoi(major)
	mnr, err2 := strconv.Atoi(minor)
	if err1 != nil || err2 != nil || maj < 2 || (maj == 2 && mnr < 2) {
		return false
	}
	for _, d := range md.Dynamic {
		switch strings.ToLower(d) {
		case "requires-dist", "requires-python", "provides-extra":
			return false
		}
	}
	return true
}

// pyprojectProject is the part of PEP 621 [project] metadata that a
// resolver needs.
type pyprojectProject struct {
	Project struct {
		Name                 string              `toml:"name"`
		Version              string              `toml:"version"`
		RequiresPython       string              `toml:"requires-python"`
		Dependencies         []string            `toml:"dependencies"`
		OptionalDependencies map[string][]string `toml:"optional-dependencies"`
		Dynamic              []string            `toml:"dynamic"`
	} `toml:"project"`
}

// StaticProjectMetadata turns the static [project] table of a
// pyproject.toml into core metadata. It reports false when a field a
// resolver needs is dynamic or missing (PEP 621).
func StaticProjectMetadata(data []byte) ([]byte, bool) {
	var pp pyprojectProject
	if err := toml.Unmarshal(data, &pp); err != nil {
		return nil, false
	}
	p := pp.Project
	if p.Name == "" || p.Version == "" {
		return nil, false
	}
	for _, d := range p.Dynamic {
		switch d {
		case "version", "dependencies", "optional-dependencies", "requires-python":
			return nil, false
		}
	}
	return MetadataFromProject(p.Name, p.Version, p.RequiresPython, p.Dependencies, p.OptionalDependencies), true
}

// MetadataFromProject writes core metadata (Metadata-Version 2.1) for
// static PEP 621 project data: what a build backend would write.
func MetadataFromProject(name, version, requiresPython string, deps []string, extras map[string][]string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "Metadata-Version: 2.1\nName: %s\nVersion: %s\n", name, version)
	if requiresPython != "" {
		fmt.Fprintf(&b, "Requires-Python: %s\n", requiresPython)
	}
	for _, d := range deps {
		fmt.Fprintf(&b, "Requires-Dist: %s\n", d)
	}
	names := make([]string, 0, len(extras))
	for e := range extras {
		names = append(names, e)
	}
	sort.Strings(names)
	for _, e := range names {
		norm := dist.NormalizeName(e)
		fmt.Fprintf(&b, "Provides-Extra: %s\n", norm)
		for _, d := range extras[e] {
			req, marker, hasMarker := strings.Cut(d, ";")
			if hasMarker {
				fmt.Fprintf(&b, "Requires-Dist: %s; (%s) and extra == \"%s\"\n", strings.TrimSpace(req), strings.TrimSpace(marker), norm)
			} else {
				fmt.Fprintf(&b, "Requires-Dist: %s; extra == \"%s\"\n", strings.TrimSpace(d), norm)
			}
		}
	}
	return b.Bytes()
}

// sdistMembers returns the top-level PKG-INFO and pyproject.toml of an
// sdist, either of which may be nil.
func sdistMembers(filename string) (pkgInfo, pyproject []byte, err error) {
	keep := func(name string, r io.Reader) error {
		dir, base := path.Split(strings.TrimPrefix(name, "./"))
		// Only the sdist's top folder counts: NAME-VERSION/PKG-INFO.
		if strings.Count(dir, "/") != 1 {
			return nil
		}
		var dst *[]byte
		switch base {
		case "PKG-INFO":
			dst = &pkgInfo
		case "pyproject.toml":
			dst = &pyproject
		default:
			return nil
		}
		b, err := readlimit.ReadAll(r, maxSdistMember)
		if err != nil {
			return fmt.Errorf("reading %s: %w", name, err)
		}
		*dst = b
		return nil
	}
	switch {
	case strings.HasSuffix(filename, ".zip"):
		f, size, err := readlimit.Open(filename, readlimit.FollowLinks)
		if err != nil {
			return nil, nil, err
		}
		defer f.Close()
		z, err := readlimit.OpenZip(f, size, readlimit.MaxZipMembers)
		if err != nil {
			return nil, nil, fmt.Errorf("reading %s: %w", filename, err)
		}
		for _, f := range z.File {
			r, err := f.Open()
			if err != nil {
				return nil, nil, err
			}
			err = keep(f.Name, r)
			r.Close()
			if err != nil {
				return nil, nil, err
			}
		}
	case strings.HasSuffix(filename, ".tar.gz") || strings.HasSuffix(filename, ".tgz"):
		f, err := os.Open(filename)
		if err != nil {
			return nil, nil, err
		}
		defer f.Close()
		gz, err := gzip.NewReader(f)
		if err != nil {
			return nil, nil, err
		}
		tr := tar.NewReader(gz)
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, nil, err
			}
			if h.Typeflag != tar.TypeReg {
				continue
			}
			if err := keep(h.Name, tr); err != nil {
				return nil, nil, err
			}
		}
	default:
		return nil, nil, fmt.Errorf("unsupported sdist format (want .tar.gz or .zip)")
	}
	return pkgInfo, pyproject, nil
}
