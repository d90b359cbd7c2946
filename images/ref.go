package images

import (
	"errors"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// Transports of image references, as skopeo names them.
const (
	Docker        = "docker"         // docker://REGISTRY/REPO[:TAG|@DIGEST]
	OCI           = "oci"            // oci:DIR[:TAG]
	DockerArchive = "docker-archive" // docker-archive:FILE[:REPO:TAG]
	Scratch       = "scratch"        // the empty image, as a base
)

// Ref is an image reference in skopeo's transport syntax.
type Ref struct {
	Transport string
	// Name is the registry reference (Docker).
	Name name.Reference
	// Path is the layout folder (OCI) or tarball (DockerArchive).
	Path string
	// Tag is the layout's ref name (OCI) or the tarball's repo:tag
	// (DockerArchive); "" for none.
	Tag string
	raw string
}

// String returns the reference as it was written.
func (r Ref) String() string { return r.raw }

// IsZero reports an empty Ref.
func (r Ref) IsZero() bool { return r.Transport == "" }

// ParseRef reads "docker://REG/REPO:TAG", "oci:DIR[:TAG]",
// "docker-archive:FILE[:REPO:TAG]" or "scratch". insecure allows plain
// HTTP to a registry that is not on loopback or a private network (those
// are reached over HTTP anyway).
func ParseRef(s string, insecure bool) (Ref, error) {
	r := Ref{raw: s}
	transport, rest, ok := strings.Cut(s, ":")
	switch {
	case s == Scratch:
		r.Transport = Scratch
		return r, nil
	case !ok:
		return r, refError(s, errors.New("no transport"))
	case transport == Docker:
		if !strings.HasPrefix(rest, "//") {
			return r, refError(s, errors.New("want docker://REGISTRY/REPO:TAG"))
		}
		var opts []name.Option
		if insecure {
			opts = append(opts, name.Insecure)
		}
		n, err := name.ParseReference(strings.TrimPrefix(rest, "//"), opts...)
		if err != nil {
			return r, refError(s, err)
		}
		r.Transport, r.Name = Docker, n
	case transport == OCI || transport == DockerArchive:
		path, tag, _ := strings.Cut(rest, ":")
		if path == "" {
			return r, refError(s, fmt.Errorf("no %s path", transport))
		}
		if tag != "" && transport == DockerArchive {
			if _, err := name.NewTag(tag); err != nil {
				return r, refError(s, fmt.Errorf("tag %q: %w", tag, err))
			}
		}
		if tag != "" && transport == OCI && !validRefName(tag) {
			return r, refError(s, fmt.Errorf("tag %q: want letters, digits and . _ - only", tag))
		}
		r.Transport, r.Path, r.Tag = transport, path, tag
	default:
		return r, refError(s, fmt.Errorf("unknown transport %q", transport))
	}
	return r, nil
}

func refError(s string, err error) error {
	return fmt.Errorf("image reference %q: %w (want docker://REGISTRY/REPO:TAG, oci:DIR[:TAG] or docker-archive:FILE[:REPO:TAG])", s, err)
}

// validRefName reports whether s can be an OCI layout's ref name as
// larder writes it: a tag.
func validRefName(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
