package images

import (
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/larder-build/larder/internal/ocilayout"
	"github.com/larder-build/larder/layers"
	"github.com/larder-build/larder/wheelhouse"
	"github.com/larder-build/larder/wheelhouse/serve"
)

// Labels larder sets on the images it bakes.
const (
	LabelVersion    = "dev.larder.version"
	LabelLock       = "dev.larder.lock.sha256"
	LabelWheelhouse = "dev.larder.wheelhouse"
	LabelCreated    = "org.opencontainers.image.created"
	LabelBaseDigest = "org.opencontainers.image.base.digest"
	LabelBaseName   = "org.opencontainers.image.base.name"
)

// Request is everything a bake needs.
type Request struct {
	// Store holds the files; Entries is the closure to bake
	// (fetch.Closure), with the lock's targets.
	Store   *wheelhouse.Store
	Entries []wheelhouse.Entry
	// Platforms are the images to make ("linux/amd64").
	Platforms []string
	// Base is the image to bake onto; ignored for WheelhouseOnly.
	Base Ref
	// Output is where the result goes.
	Output Ref
	// From is the image to refresh. When zero, the output is refreshed if
	// it exists; NoFrom bakes afresh.
	From   Ref
	NoFrom bool
	// Path is the wheelhouse folder in the image.
	Path string
	// IndexBinaries maps a platform to its larder-index binary, and
	// IndexConfig is the JSON of /etc/larder/index.json; IndexURL is the
	// simple index URL the server answers on in the container.
	IndexBinaries map[string]string
	IndexConfig   []byte
	IndexURL      string
	// WheelhouseOnly makes images from scratch that hold the wheelhouse
	// and nothing else (for BuildKit named contexts).
	WheelhouseOnly bool
	// Layer contents: the compression, the files' time, and how the
	// buckets are laid out.
	Compression layers.Compression
	ModTime     time.Time
	Buckets     int
	Compact     bool
	Threshold   float64
	// Created is the images' creation time.
	Created time.Time
	// Version is larder's version and LockSHA256 the lock's, for labels.
	Version    string
	LockSHA256 string
	// DryRun plans and computes digests and writes nothing.
	DryRun bool

	// How the bake works, set by Options.
	layerDir string
	remote   Remote
	progress func(Event)

	// outUse is the bake's hold on its output, an existing OCI layout, and
	// outFresh says that the output did not exist when the bake began.
	outUse   *ocilayout.Use
	outFresh bool
}

// Option says how Bake works.
type Option func(*Request) error

// WithLayerDir keeps built layers in dir, where later bakes find them
// again instead of building them. Without it layers are built in memory
// for their digests and again as they are written.
func WithLayerDir(dir string) Option {
	return func(r *Request) error {
		r.layerDir = dir
		return nil
	}
}

// WithRemote configures registry access.
func WithRemote(rem Remote) Option {
	return func(r *Request) error {
		if rem.Jobs < 0 {
			return fmt.Errorf("remote jobs %d: want 0 (the default) or more", rem.Jobs)
		}
		r.remote = rem
		return nil
	}
}

// WithProgress has fn hear of the work; it is called from several
// goroutines at once.
func WithProgress(fn func(Event)) Option {
	return func(r *Request) error {
		r.progress = fn
		return nil
	}
}

// Phases of a bake, in Event.Phase.
const (
	PhaseBuild = "build" // tarring and compressing layers
	PhaseWrite = "write" // writing or pushing
	PhaseWait  = "wait"  // waiting for another larder process (Event.Wait)
)

// Event is progress: N more bytes done in a phase whose total is Total.
// A PhaseWait event names in Wait the OCI layout the bake waits for while
// another larder process uses it, and has Wait "" once the wait ends;
// it leaves the phase under way as it was.
type Event struct {
	Phase string
	N     int64
	Total int64
	Wait  string
}

// Report says what a bake did (or, dry, would do).
type Report struct {
	Output    string           `json:"output"`
	Digest    string           `json:"digest"`
	MediaType types.MediaType  `json:"media_type"`
	From      string           `json:"from,omitempty"`
	Refreshed bool             `json:"refreshed"`
	Compacted bool             `json:"compacted"`
	Reason    string           `json:"reason,omitempty"`
	Images    []PlatformReport `json:"images"`
	// Write is what the write did; nil for a dry run.
	Write *WriteResult `json:"write,omitempty"`
	// Upload lists, for a dry run, the blobs the output lacks.
	Upload *UploadPlan `json:"would_write,omitempty"`
	DryRun bool        `json:"dry_run"`
}

// PlatformReport is one platform's image.
type PlatformReport struct {
	Platform string        `json:"platform"`
	Digest   string        `json:"digest"`
	Files    int           `json:"files"`
	Bytes    int64         `json:"bytes"`
	Layers   []LayerReport `json:"layers"`
}

// Layer states in a report.
const (
	StateBase   = "base"   // the base image's
	StateReused = "reused" // kept from the previous image
	StateCached = "cached" // built before, found in the layer folder
	StateBuilt  = "built"  // built by this bake
)

// LayerReport is one layer of an image.
type LayerReport struct {
	What   string `json:"what"`
	State  string `json:"state"`
	Digest string `json:"digest"`
	Size   int64  `json:"size"`
	Files  int    `json:"files,omitempty"`
	Bytes  int64  `json:"bytes,omitempty"`
	// Names are the wheelhouse files the layer adds.
	Names []string `json:"names,omitempty"`
}

// UploadPlan is what a write would send.
type UploadPlan struct {
	Blobs int   `json:"blobs"`
	Bytes int64 `json:"bytes"`
}

// Bake plans the layers, builds them, stacks them on the base for every
// platform and writes the result (unless DryRun).
func Bake(ctx context.Context, req Request, opts ...Option) (out *Report, err error) {
	for _, o := range opts {
		if err := o(&req); err != nil {
			return nil, fmt.Errorf("baking: %w", err)
		}
	}
	if len(req.Platforms) == 0 {
		return nil, errors.New("no platform to bake for")
	}
	if req.Path == "" {
		req.Path = layers.DefaultPath
	}
	if err := CheckPath(req.Path); err != nil {
		return nil, err
	}
	// The images' manifests and static indexes depend on the entries
	// alone: they are made while the base and the previous images are
	// read and the layers planned.
	// Every OCI layout the bake reads or writes is held until it returns:
	// no other larder process removes a blob of them meanwhile.
	release, err := req.useLayouts(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	content := layers.Content{Store: req.Store, Path: req.Path}
	content.Made = content.MakeIndexes(req.Entries, req.Platforms)
	defer content.Made.Wait()
	base, err := req.openBase(ctx)
	if err != nil {
		return nil, err
	}
	prev, prevImages, err := previous(ctx, req)
	if err != nil {
		return nil, err
	}
	// A pages layer this machine has no record of is read to learn what
	// it holds (a tampered one is made afresh, never trusted).
	content.Kept = func(_ context.Context, platform string, diffID v1.Hash) (io.ReadCloser, error) {
		img := prevImages[platform]
		if img == nil {
			return nil, fmt.Errorf("no previous image for %s", platform)
		}
		l, err := layersByDiffID(img)(diffID)
		if err != nil {
			return nil, err
		}
		return l.Uncompressed()
	}
	rep := &Report{Output: req.Output.String(), DryRun: req.DryRun}
	plan, err := req.plan(prev, prevImages, rep)
	if err != nil {
		return nil, err
	}
	built, err := req.build(ctx, plan, content)
	if err != nil {
		return nil, err
	}
	// The layers built are synced while the images are assembled and
	// written; whatever happens, they are on disk, and remembered, before
	// the bake returns.
	defer func() {
		if serr := synced(built); err == nil && serr != nil {
			out, err = nil, serr
		}
	}()
	art, err := req.assemble(base, prevImages, plan, built, rep)
	if err != nil {
		return nil, err
	}
	d, err := art.Digest()
	if err != nil {
		return nil, err
	}
	rep.Digest = d.String()
	if req.DryRun {
		if rep.Upload, err = wouldWrite(ctx, req.Output, art, req.remote); err != nil {
			return nil, err
		}
		return rep, nil
	}
	if rep.Write, err = req.write(ctx, art); err != nil {
		return nil, err
	}
	return rep, nil
}

// useLayouts takes a shared hold on every OCI layout the bake reads or
// writes: its output when it exists (an output that is not a layout is
// refused before anything is written in it), and the layouts it reads
// its previous image or base from, when they have lock files (a layout
// only read is not written into: ocilayout.Take).
func (req *Request) useLayouts(ctx context.Context) (release func(), err error) {
	var held []*ocilayout.Use
	release = func() {
		for _, u := range held {
			u.Close()
		}
	}
	seen := map[string]bool{}
	key := func(p string) string {
		if abs, err := filepath.Abs(p); err == nil {
			return abs
		}
		return filepath.Clean(p)
	}
	if out := req.Output; out.Transport == OCI && !req.DryRun {
		seen[key(out.Path)] = true
		st, err := os.Stat(out.Path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			req.outFresh = true
		case err != nil:
			return nil, fmt.Errorf("writing %s: %w", out, err)
		case !st.IsDir():
			return nil, fmt.Errorf("writing %s: %s exists and is not a folder", out, out.Path)
		default:
			if err := ocilayout.Check(out.Path); err != nil {
				return nil, fmt.Errorf("writing %s: %w", out, err)
			}
			if req.outUse, err = ocilayout.Take(ctx, out.Path, true, req.waiting); err != nil {
				return nil, fmt.Errorf("writing %s: %w", out, err)
			}
			held = append(held, req.outUse)
		}
	}
	reads := []Ref{req.Output}
	if !req.NoFrom {
		reads = append(reads, req.From)
	}
	if !req.WheelhouseOnly {
		reads = append(reads, req.Base)
	}
	for _, r := range reads {
		if r.Transport != OCI || seen[key(r.Path)] {
			continue
		}
		seen[key(r.Path)] = true
		u, err := ocilayout.Take(ctx, r.Path, false, req.waiting)
		if err != nil {
			release()
			return nil, fmt.Errorf("reading %s: %w", r, err)
		}
		if u != nil {
			held = append(held, u)
		}
	}
	return release, nil
}

// waiting tells the progress which layout the bake waits for ("" when
// the wait ends).
func (req *Request) waiting(dir string) {
	if req.progress != nil {
		req.progress(Event{Phase: PhaseWait, Wait: dir})
	}
}

// CheckPath reports a wheelhouse path that an image cannot hold: it must
// be an absolute, clean folder other than /, in UTF-8 without control
// characters (it goes into JSON, the image's labels and larder-index's
// configuration, which would turn other bytes into U+FFFD while the
// layer held the raw path).
func CheckPath(p string) error {
	if !strings.HasPrefix(p, "/") || path.Clean(p) != p || p == "/" ||
		!utf8.ValidString(p) || strings.ContainsFunc(p, unicode.IsControl) {
		return fmt.Errorf("wheelhouse path %q: want an absolute folder inside the image, in UTF-8 without control characters, e.g. /wheelhouse", p)
	}
	return nil
}

// openBase opens the image to bake onto: scratch for WheelhouseOnly.
func (req Request) openBase(ctx context.Context) (*Source, error) {
	if req.WheelhouseOnly {
		return &Source{Ref: Ref{Transport: Scratch, raw: Scratch}}, nil
	}
	base, err := Open(ctx, req.Base, req.remote)
	if errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("base image: %w", err)
	}
	return base, err
}

// plan lays the layers out, keeping the layouts the previous images
// record, and says in rep why it laid them out as it did.
func (req Request) plan(prev *Source, prevImages map[string]v1.Image, rep *Report) (*layers.Plan, error) {
	layouts := map[string]*layers.Layout{}
	moved := "" // where a previous image larder baked keeps its wheelhouse, if not at req.Path
	if prev != nil {
		rep.From = prev.Ref.String()
		for p, img := range prevImages {
			l := layoutOf(img)
			if l == nil {
				continue
			}
			if w := wheelhouseOf(img); w != req.Path {
				moved = w
				continue
			}
			layouts[p] = l
		}
	}
	plan, err := layers.MakePlan(layers.Request{Entries: req.Entries, Platforms: req.Platforms, Previous: layouts,
		Buckets: req.Buckets, Compact: req.Compact, Threshold: req.Threshold})
	if err != nil {
		return nil, err
	}
	rep.Compacted, rep.Reason = plan.Compacted, plan.Reason
	if prev != nil && len(layouts) == 0 && rep.Reason == "" {
		rep.Reason = fmt.Sprintf("%s was not baked by larder (no %s label)", prev.Ref, layers.LayoutLabel)
		if moved != "" {
			rep.Reason = fmt.Sprintf("%s holds its wheelhouse at %s, not %s", prev.Ref, moved, req.Path)
		}
	}
	rep.Refreshed = prev != nil && !plan.Compacted && len(layouts) > 0
	return plan, nil
}

// build builds the layers of every stack of the plan, with each
// platform's larder-index layer unless WheelhouseOnly.
func (req Request) build(ctx context.Context, plan *layers.Plan, content layers.Content) ([]layers.Built, error) {
	builder, err := req.builder(plan)
	if err != nil {
		return nil, err
	}
	index := map[string][]layers.File{}
	if !req.WheelhouseOnly {
		for _, p := range req.Platforms {
			bin, err := indexBinary(req.IndexBinaries, p)
			if err != nil {
				return nil, err
			}
			if index[p], err = builder.IndexFiles(bin, req.IndexConfig); err != nil {
				return nil, err
			}
		}
	}
	built, err := builder.BuildStacks(ctx, plan, content, index)
	if err != nil {
		return nil, fmt.Errorf("building layers: %w", err)
	}
	return built, nil
}

// synced waits for every built layer to be on disk.
func synced(built []layers.Built) error {
	var first error
	for _, b := range built {
		for _, p := range b.Parts {
			if p.Layer != nil {
				if err := p.Layer.Sync(); err != nil && first == nil {
					first = err
				}
			}
		}
	}
	return first
}

// assemble stacks each platform's layers on its base image: one image,
// or an index of several. rep gets each image's report.
func (req Request) assemble(base *Source, prevImages map[string]v1.Image, plan *layers.Plan, built []layers.Built, rep *Report) (Artifact, error) {
	var idx v1.ImageIndex = mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for i, b := range built {
		baseImg, err := base.ForPlatform(b.Platform)
		if err != nil {
			return Artifact{}, fmt.Errorf("base image: %w", err)
		}
		img, err := Assemble(baseImg, b.Parts, keptFrom(prevImages, b), req.changes(base, baseImg, b))
		if err != nil {
			return Artifact{}, err
		}
		pr, err := platformReport(baseImg, img, b, &plan.Stacks[i])
		if err != nil {
			return Artifact{}, err
		}
		rep.Images = append(rep.Images, *pr)
		if len(built) == 1 {
			rep.MediaType = types.OCIManifestSchema1
			return Artifact{Image: img}, nil
		}
		pl, _ := Platform(b.Platform)
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &pl}})
	}
	rep.MediaType = types.OCIImageIndex
	return Artifact{Index: idx}, nil
}

// keptFrom returns the previous image holding every layer b keeps: its
// platform's, or, for a platform the previous image did not have (whose
// stack keeps only the pure buckets, the same in every previous image),
// another platform's. nil when none holds them all.
func keptFrom(prevImages map[string]v1.Image, b layers.Built) v1.Image {
	holds := func(img v1.Image) bool {
		cf, err := img.ConfigFile()
		if err != nil {
			return false
		}
		for _, p := range b.Parts {
			if p.Reused && !slices.Contains(cf.RootFS.DiffIDs, p.DiffID) {
				return false
			}
		}
		return true
	}
	if img := prevImages[b.Platform]; img != nil && holds(img) {
		return img
	}
	for _, p := range slices.Sorted(maps.Keys(prevImages)) {
		if holds(prevImages[p]) {
			return prevImages[p]
		}
	}
	return prevImages[b.Platform]
}

// write writes the artifact to the output, with progress over the bytes
// of its blobs.
func (req Request) write(ctx context.Context, art Artifact) (*WriteResult, error) {
	var total int64
	if blobs, err := art.blobs(); err == nil {
		for _, b := range blobs {
			total += b.size
		}
	}
	progress := func(n int64) {
		if req.progress != nil {
			req.progress(Event{Phase: PhaseWrite, N: n, Total: total})
		}
	}
	return write(ctx, req.Output, art, req.remote, progress, req.outUse, req.waiting)
}

// builder makes the layer builder, with progress over the bytes of the
// layers the plan builds.
func (req Request) builder(plan *layers.Plan) (*layers.Builder, error) {
	var total int64
	for _, s := range plan.Stacks {
		for _, b := range s.Buckets {
			if !b.Reused {
				total += b.Bytes()
			}
		}
		for _, e := range s.Delta {
			total += e.Size
		}
	}
	opts := []layers.Option{layers.WithCompression(req.Compression), layers.WithModTime(req.ModTime)}
	if req.layerDir != "" {
		// The built blobs are synced while the images are assembled and
		// written; the write waits for them before it references them.
		opts = append(opts, layers.WithDir(req.layerDir), layers.WithBackgroundSync())
	}
	if req.DryRun {
		opts = append(opts, layers.WithDryRun())
	}
	if req.progress != nil {
		opts = append(opts, layers.WithProgress(func(n int64) { req.progress(Event{Phase: PhaseBuild, N: n, Total: total}) }))
	}
	return layers.NewBuilder(opts...)
}

// previous opens the image to refresh and its image for each platform.
func previous(ctx context.Context, req Request) (*Source, map[string]v1.Image, error) {
	if req.NoFrom {
		return nil, nil, nil
	}
	ref, explicit := req.From, true
	if ref.IsZero() {
		// An output layout another bake made after this one began is not
		// its to refresh: it holds no lock on what it would read.
		if req.outFresh {
			return nil, nil, nil
		}
		ref, explicit = req.Output, false
	}
	src, err := Open(ctx, ref, req.remote)
	switch {
	case err == nil:
	case errors.Is(err, ErrNotFound) && !explicit:
		return nil, nil, nil
	case errors.Is(err, ErrNotFound):
		return nil, nil, fmt.Errorf("reading the image to refresh, %s: %w", ref, err)
	default:
		return nil, nil, fmt.Errorf("reading the image to refresh: %w", err)
	}
	lazy := src.Ref.Transport != Docker
	if src.Image != nil {
		// ForPlatform reads the config to check the platform, and the
		// refresh reads it again: parsed once, label and all.
		src.Image = &keptImage{Image: src.Image, lazy: lazy}
	}
	out := map[string]v1.Image{}
	for _, p := range req.Platforms {
		if img, err := src.ForPlatform(p); err == nil {
			k, ok := img.(*keptImage)
			if !ok {
				k = &keptImage{Image: img, lazy: lazy}
			}
			out[p] = k
		}
	}
	return src, out, nil
}

// wheelhouseOf returns the wheelhouse folder an image records; "" when
// it records none.
func wheelhouseOf(img v1.Image) string {
	cf, err := img.ConfigFile()
	if err != nil {
		return ""
	}
	return cf.Config.Labels[LabelWheelhouse]
}

// layoutOf reads the layout an image records; nil when it has none (or
// one this version cannot read: the bake starts afresh).
func layoutOf(img v1.Image) *layers.Layout {
	cf, err := img.ConfigFile()
	if err != nil || cf.Config.Labels == nil {
		return nil
	}
	s, ok := cf.Config.Labels[layers.LayoutLabel]
	if !ok {
		return nil
	}
	l, err := layers.DecodeLayout(s)
	if err != nil {
		return nil
	}
	// Every recorded bucket must still be a layer of the image.
	have := map[string]bool{}
	for _, d := range cf.RootFS.DiffIDs {
		have[d.String()] = true
	}
	for _, b := range l.Buckets {
		if !have[b.DiffID] {
			return nil
		}
	}
	if l.Pages != nil && !have[l.Pages.DiffID] {
		l.Pages = nil
	}
	return l
}

// changes is what the bake sets in a platform's image config.
func (req Request) changes(base *Source, baseImg v1.Image, b layers.Built) Changes {
	ch := Changes{Created: req.Created, Labels: map[string]string{
		LabelVersion:    req.Version,
		LabelLock:       req.LockSHA256,
		LabelWheelhouse: req.Path,
		LabelCreated:    req.Created.UTC().Format(time.RFC3339),
	}}
	if l, err := b.Layout.Encode(); err == nil {
		ch.Labels[layers.LayoutLabel] = l
	}
	if req.WheelhouseOnly {
		return ch
	}
	if d, err := baseImg.Digest(); err == nil && base.Ref.Transport != Scratch {
		ch.Labels[LabelBaseDigest] = d.String()
	}
	if base.Ref.Transport == Docker {
		ch.Labels[LabelBaseName] = base.Ref.Name.String()
	}
	url := req.IndexURL
	ch.Env = []string{"PIP_INDEX_URL=" + url, "UV_DEFAULT_INDEX=" + url, "UV_INDEX_URL=" + url, "PIP_DISABLE_PIP_VERSION_CHECK=1",
		// Which bake the server runs in, for its pages. In the image's
		// config, not in the index layer's index.json: a requirements
		// bump must change only the delta layer, and these change with
		// every lock.
		serve.EnvLockSHA256 + "=" + req.LockSHA256, serve.EnvBaked + "=" + req.Created.UTC().Format(time.RFC3339)}
	ch.Entrypoint = []string{layers.IndexBinaryPath, "exec", "--"}
	return ch
}

// machines maps OCI architectures to ELF machines.
var machines = map[string]elf.Machine{
	"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64, "386": elf.EM_386, "arm": elf.EM_ARM,
	"ppc64le": elf.EM_PPC64, "s390x": elf.EM_S390, "riscv64": elf.EM_RISCV,
}

// indexBinary finds the larder-index binary for a platform and checks
// that it is a Linux executable for that machine.
func indexBinary(bins map[string]string, platform string) (string, error) {
	path, ok := bins[platform]
	if !ok {
		return "", &IndexBinaryError{Platform: platform}
	}
	f, err := elf.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "", &IndexBinaryError{Platform: platform, Path: path, Err: errors.New("does not exist")}
		}
		return "", &IndexBinaryError{Platform: platform, Path: path, Err: fmt.Errorf("not a Linux executable: %w", err)}
	}
	defer f.Close()
	p, _ := Platform(platform)
	if want, ok := machines[p.Architecture]; ok && f.Machine != want {
		return "", &IndexBinaryError{Platform: platform, Path: path, Err: fmt.Errorf("built for %s, not %s", f.Machine, p.Architecture)}
	}
	return path, nil
}

// platformReport describes one platform's image, layer by layer.
func platformReport(baseImg, img v1.Image, b layers.Built, s *layers.Stack) (*PlatformReport, error) {
	d, err := img.Digest()
	if err != nil {
		return nil, err
	}
	pr := &PlatformReport{Platform: b.Platform, Digest: d.String(), Files: len(s.Entries)}
	for _, e := range s.Entries {
		pr.Bytes += e.Size
	}
	baseLayers, err := baseImg.Layers()
	if err != nil {
		return nil, err
	}
	ls, err := img.Layers()
	if err != nil {
		return nil, err
	}
	for i, l := range ls {
		ld, err := l.Digest()
		if err != nil {
			return nil, err
		}
		size, err := l.Size()
		if err != nil {
			return nil, err
		}
		lr := LayerReport{What: "base", State: StateBase, Digest: ld.String(), Size: size}
		if j := i - len(baseLayers); j >= 0 {
			p := b.Parts[j]
			lr.What, lr.Files, lr.Bytes = what(p), p.Files, p.Bytes
			switch {
			case p.Reused:
				lr.State = StateReused
			case p.Layer.Cached():
				lr.State = StateCached
			default:
				lr.State = StateBuilt
			}
			switch {
			case p.Bucket != nil:
				for _, f := range p.Bucket.Files {
					lr.Names = append(lr.Names, f.Name)
				}
			case p.Kind == layers.KindDelta:
				for _, e := range s.Delta {
					lr.Names = append(lr.Names, e.Filename)
				}
				sort.Strings(lr.Names)
			}
		}
		pr.Layers = append(pr.Layers, lr)
	}
	return pr, nil
}
