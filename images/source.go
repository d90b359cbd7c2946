package images

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/larder-build/larder/internal/ocilayout"
	"github.com/larder-build/larder/internal/readlimit"
	"github.com/larder-build/larder/internal/regtransport"
)

// ErrNotFound says that a reference names no image (yet).
var ErrNotFound = errors.New("no such image")

// Remote configures registry access.
type Remote struct {
	// Keychain finds credentials (authn.DefaultKeychain when nil: the
	// Docker config).
	Keychain authn.Keychain
	// Transport carries the requests (remote.DefaultTransport when nil).
	// Every request is bounded in time whatever carries it
	// (regtransport.Default): a registry that takes the connection and
	// then never answers, or trickles, does not hang a bake.
	Transport http.RoundTripper
	// Jobs is how many blobs move at once (DefaultJobs when 0).
	Jobs int

	// timeouts shortens the bounds of every request, for the tests
	// (regtransport.Default when zero).
	timeouts regtransport.Timeouts
}

// DefaultJobs is how many blobs move at once when Remote.Jobs is 0.
const DefaultJobs = 4

func (o Remote) options(ctx context.Context) []remote.Option {
	jobs := o.Jobs
	if jobs <= 0 {
		jobs = DefaultJobs
	}
	return []remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(o.keychain()), remote.WithJobs(jobs), remote.WithTransport(o.transport())}
}

// keychain is o.Keychain, or authn.DefaultKeychain.
func (o Remote) keychain() authn.Keychain {
	if o.Keychain == nil {
		return authn.DefaultKeychain
	}
	return o.Keychain
}

// carrier is o.Transport, or remote.DefaultTransport: what carries the
// requests under their bounds.
func (o Remote) carrier() http.RoundTripper {
	if o.Transport == nil {
		return remote.DefaultTransport
	}
	return o.Transport
}

// transport is o's carrier with every request bounded in time (and
// manifests in size).
func (o Remote) transport() http.RoundTripper {
	t := o.timeouts
	if t == (regtransport.Timeouts{}) {
		t = regtransport.Default
	}
	return regtransport.New(o.carrier(), t)
}

// Source is what a reference holds: one image, an image index, or
// nothing (scratch).
type Source struct {
	Ref   Ref
	Image v1.Image
	Index v1.ImageIndex
	// Digest is the manifest digest of the image or index.
	Digest v1.Hash
}

// Open reads a reference. A reference that names nothing yet is
// ErrNotFound (wrapped); an unreachable registry is another error.
func Open(ctx context.Context, ref Ref, o Remote) (*Source, error) {
	s := &Source{Ref: ref}
	var err error
	switch ref.Transport {
	case Scratch:
		return s, nil
	case Docker:
		err = s.openRemote(ctx, o)
	case OCI:
		err = s.openLayout()
	case DockerArchive:
		err = s.openArchive()
	default:
		err = fmt.Errorf("unknown transport %q", ref.Transport)
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", ref, err)
	}
	if s.Image != nil {
		s.Digest, err = s.Image.Digest()
	} else {
		s.Digest, err = s.Index.Digest()
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", ref, err)
	}
	return s, nil
}

func (s *Source) openRemote(ctx context.Context, o Remote) error {
	desc, err := remote.Get(s.Ref.Name, o.options(ctx)...)
	if err != nil {
		var te *transport.Error
		if errors.As(err, &te) && (te.StatusCode == http.StatusNotFound || hasCode(te, transport.ManifestUnknownErrorCode, transport.NameUnknownErrorCode)) {
			return fmt.Errorf("%w: %v", ErrNotFound, err)
		}
		return err
	}
	if desc.MediaType.IsIndex() {
		s.Index, err = desc.ImageIndex()
	} else {
		s.Image, err = desc.Image()
	}
	return err
}

func hasCode(te *transport.Error, codes ...transport.ErrorCode) bool {
	for _, d := range te.Errors {
		if slices.Contains(codes, d.Code) {
			return true
		}
	}
	return false
}

// refNameAnnotation tags a manifest in an OCI layout's index.json.
const refNameAnnotation = "org.opencontainers.image.ref.name"

func (s *Source) openLayout() error {
	if _, err := os.Stat(s.Ref.Path); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: %s does not exist", ErrNotFound, s.Ref.Path)
	}
	if err := regularLayout(s.Ref.Path); err != nil {
		return err
	}
	// Read as hostile input: index.json, manifests and configs bounded
	// and checked against their digests (ocilayout.Open).
	ii, err := ocilayout.Open(s.Ref.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s is not an OCI layout: %w", s.Ref.Path, err)
	}
	if err != nil {
		return err
	}
	im, err := ii.IndexManifest()
	if err != nil {
		return err
	}
	var found []v1.Descriptor
	var tags []string
	for _, d := range im.Manifests {
		tag := d.Annotations[refNameAnnotation]
		if tag != "" {
			tags = append(tags, tag)
		}
		if s.Ref.Tag == "" || tag == s.Ref.Tag {
			found = append(found, d)
		}
	}
	switch {
	case len(found) == 0 && s.Ref.Tag != "":
		return fmt.Errorf("%w: no tag %q in the layout (it has: %s)", ErrNotFound, s.Ref.Tag, strings.Join(tags, ", "))
	case len(found) == 0:
		return fmt.Errorf("%w: the layout holds no image", ErrNotFound)
	case len(found) > 1:
		return fmt.Errorf("the layout holds %d images: name one with oci:%s:TAG (tags: %s)", len(found), s.Ref.Path, strings.Join(tags, ", "))
	}
	if found[0].MediaType.IsIndex() {
		s.Index, err = ii.ImageIndex(found[0].Digest)
	} else {
		s.Image, err = ii.Image(found[0].Digest)
	}
	return err
}

// regularLayout refuses an OCI layout whose files (oci-layout,
// index.json, blobs/ALGORITHM/DIGEST) are anything but regular files,
// before any is read: a link could lead out of the layout (to a file that
// is not its blob, or to a device that never ends) and a named pipe would
// never answer. It reads the folders only; a missing file is left to the
// layout reader to report.
//
// It is not redundant with ocilayout, which refuses each file only as it
// reads it, and reads most of them after Open: index.json at Open, but a
// platform's manifest at ForPlatform, a config at its first read, and a
// layer only when it is streamed, so that a bake would find a layer
// planted as a link or a pipe only as it writes its output, after it
// built every layer of its own. This walk refuses them all when the
// layout is opened, before any work (TestALayoutWithALinkOrAPipeAmongIts
// FilesIsRefusedUnread plants such a blob: without the walk the layout
// opens). It costs a read of the blob folder, no stat of each blob.
func regularLayout(dir string) error {
	for _, name := range []string{"oci-layout", "index.json"} {
		p := filepath.Join(dir, name)
		if st, err := os.Lstat(p); err == nil && !st.Mode().IsRegular() {
			return &readlimit.NotRegularError{Path: p, Mode: st.Mode()}
		}
	}
	blobs := filepath.Join(dir, "blobs")
	algs, err := os.ReadDir(blobs)
	if err != nil {
		return nil
	}
	for _, a := range algs {
		p := filepath.Join(blobs, a.Name())
		if !a.IsDir() {
			return &readlimit.NotRegularError{Path: p, Mode: a.Type()}
		}
		ents, err := os.ReadDir(p)
		if err != nil {
			return fmt.Errorf("reading the layout %s: %w", dir, err)
		}
		for _, e := range ents {
			if !e.Type().IsRegular() {
				return &readlimit.NotRegularError{Path: filepath.Join(p, e.Name()), Mode: e.Type()}
			}
		}
	}
	return nil
}

func (s *Source) openArchive() error {
	st, err := os.Stat(s.Ref.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: %s does not exist", ErrNotFound, s.Ref.Path)
	}
	// The archive is opened again for each file read from it: a named
	// pipe or a device would hang or never end.
	if err == nil && !st.Mode().IsRegular() {
		return &readlimit.NotRegularError{Path: s.Ref.Path, Mode: st.Mode()}
	}
	var tag *name.Tag
	if s.Ref.Tag != "" {
		t, err := name.NewTag(s.Ref.Tag)
		if err != nil {
			return err
		}
		tag = &t
	}
	img, err := tarball.ImageFromPath(s.Ref.Path, tag)
	if err != nil {
		return err
	}
	// Read the manifest now, so that a broken tarball fails here.
	if _, err := img.Manifest(); err != nil {
		return err
	}
	s.Image = img
	return nil
}

// Platform parses "os/arch[/variant]".
func Platform(s string) (v1.Platform, error) {
	p, err := v1.ParsePlatform(s)
	if err != nil || p.OS == "" || p.Architecture == "" {
		return v1.Platform{}, fmt.Errorf("platform %q: want os/arch[/variant]", s)
	}
	return *p, nil
}

// matches reports whether an image's platform serves the wanted one: the
// same OS and architecture, and the variant when one is asked for.
func matches(have, want v1.Platform) bool {
	return have.OS == want.OS && have.Architecture == want.Architecture &&
		(want.Variant == "" || have.Variant == want.Variant || want.Architecture == "arm64" && have.Variant == "" && want.Variant == "v8")
}

func platformString(p v1.Platform) string {
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// ForPlatform returns the image of the source for a platform: the
// matching manifest of an index, the image itself if its platform
// matches, or an empty OCI image for scratch.
func (s *Source) ForPlatform(platform string) (v1.Image, error) {
	want, err := Platform(platform)
	if err != nil {
		return nil, err
	}
	switch {
	case s.Image != nil:
		if err := checkConfigSize(s.Image); err != nil {
			return nil, fmt.Errorf("reading %s: %w", s.Ref, err)
		}
		cf, err := s.Image.ConfigFile()
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", s.Ref, err)
		}
		have := v1.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant}
		if have.Architecture != "" && !matches(have, want) {
			return nil, &PlatformError{Ref: s.Ref.String(), Have: platformString(have), Want: platform}
		}
		return s.Image, nil
	case s.Index != nil:
		im, err := s.Index.IndexManifest()
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", s.Ref, err)
		}
		var have []string
		for _, d := range im.Manifests {
			if d.Platform == nil || !d.MediaType.IsImage() {
				continue
			}
			if matches(*d.Platform, want) {
				img, err := s.Index.Image(d.Digest)
				if err == nil {
					err = checkConfigSize(img)
				}
				if err != nil {
					return nil, fmt.Errorf("reading %s for %s: %w", s.Ref, platform, err)
				}
				return img, nil
			}
			if d.Platform.OS != "unknown" {
				have = append(have, platformString(*d.Platform))
			}
		}
		return nil, fmt.Errorf("%s has no image for %s (it has: %s)", s.Ref, platform, strings.Join(have, ", "))
	}
	return scratch(want)
}

// scratch is an empty OCI image for a platform.
func scratch(p v1.Platform) (v1.Image, error) {
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = p.OS, p.Architecture, p.Variant
	cf.RootFS.Type = "layers"
	return mutate.ConfigFile(img, cf)
}

// maxConfigBytes bounds an image config larder reads. A manifest says how
// long its config is, and go-containerregistry reads that much into
// memory: a hostile registry would name gigabytes. larder's own configs
// are about 100 kB (the layout label), the largest real ones a few MB.
const maxConfigBytes = ocilayout.MaxConfigBytes

// checkConfigSize refuses an image whose manifest names a config longer
// than maxConfigBytes, before the config is read.
func checkConfigSize(img v1.Image) error {
	m, err := img.Manifest()
	if err != nil {
		return err
	}
	if m.Config.Size < 0 || m.Config.Size > maxConfigBytes {
		return fmt.Errorf("its manifest names a config of %d bytes; larder reads configs of at most %d", m.Config.Size, maxConfigBytes)
	}
	return nil
}
