package resolver

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/larder-build/larder/resolver/index"
	"github.com/larder-build/larder/resolver/pep517"
	"github.com/larder-build/larder/resolver/pylock"
	"github.com/larder-build/larder/resolver/target"
)

// options say how Resolve and Lock work; Option values set them.
type options struct {
	progress Progress
	index    Index
	cacheDir string
}

// Option says how Resolve and Lock work.
type Option func(*options) error

// WithProgress has fn hear of each version examined.
func WithProgress(fn Progress) Option {
	return func(o *options) error {
		o.progress = fn
		return nil
	}
}

// WithIndex has Lock resolve against ix instead of the client
// LockRequest.NewIndex makes (Resolve takes its index as an argument).
func WithIndex(ix Index) Option {
	return func(o *options) error {
		if ix == nil {
			return errors.New("a nil index")
		}
		o.index = ix
		return nil
	}
}

// WithCacheDir has Lock keep the index client's pages and metadata, and
// git checkouts of VCS requirements, in dir.
func WithCacheDir(dir string) Option {
	return func(o *options) error {
		o.cacheDir = dir
		return nil
	}
}

func makeOptions(opts []Option) (options, error) {
	var o options
	for _, fn := range opts {
		if fn == nil {
			continue // Resolve(ctx, ix, req, nil) once meant no progress
		}
		if err := fn(&o); err != nil {
			return o, err
		}
	}
	return o, nil
}

// LockRequest is what to lock: the inputs of larder lock and the
// settings of larder.toml that decide the lock.
type LockRequest struct {
	// Requirements and Constraints are the input files: requirement
	// files, pyproject.toml, uv.lock or pylock.toml.
	Requirements, Constraints []string
	// AllowMissing accepts -r and -c references to missing files.
	AllowMissing bool
	// Extras and Groups choose what pyproject.toml and uv.lock inputs
	// install.
	Extras, Groups []string
	// Targets are the platforms and Pythons to lock for.
	Targets []target.Target
	// IndexURLs are the simple indexes, the primary first; Projects maps
	// a project to the only index it is looked up in.
	IndexURLs []string
	Projects  map[string]string
	// Private are name globs that never come from a public index.
	Private []string
	// Pre admits pre-releases; OnlyBinary and NoBinary are pip's binary
	// policy. The input files' own option lines add to them.
	Pre                  bool
	OnlyBinary, NoBinary []string
	// Python runs PEP 517 hooks: metadata of sdists and forks whose
	// metadata is not static, and build backends' dependency hooks.
	Python string
	// Previous is the path of the lock this one replaces, if any (larder
	// lock passes the file it writes). It only speeds the resolution up
	// (see Request.Previous): a missing or unreadable one is ignored.
	Previous string
}

// Locked is a lock and how it was made.
type Locked struct {
	// Lock is the lock of Result.
	Lock   *pylock.Lock
	Result *Result
	// Inputs are the files read, with their warnings.
	Inputs *Inputs
}

// NewIndex makes the index client Lock uses by default: the request's
// indexes, with sdists' metadata read through their PEP 517 hook.
func (req LockRequest) NewIndex(opts ...index.Option) (*index.Client, error) {
	if len(req.IndexURLs) == 0 {
		return nil, errors.New("no index to lock from")
	}
	python := req.Python
	opts = append([]index.Option{index.WithSdistMetadata(func(ctx context.Context, sdist string) ([]byte, error) {
		dir, err := os.MkdirTemp("", "larder-sdist-*")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		src, err := pep517.Unpack(sdist, dir)
		if err != nil {
			return nil, err
		}
		return pep517.Metadata(ctx, python, src)
	})}, opts...)
	for name, u := range req.Projects {
		opts = append(opts, index.WithProjectIndex(name, u))
	}
	// A private name is never looked up on PyPI, where anyone may
	// register it.
	opts = append(opts, index.WithPrivate(req.Private))
	return index.New(req.IndexURLs, opts...)
}

// Lock reads the inputs, resolves them for every target and returns the
// lock: what larder lock does, short of writing the file
// (pylock.WriteFile).
func Lock(ctx context.Context, req LockRequest, opts ...Option) (*Locked, error) {
	o, err := makeOptions(opts)
	if err != nil {
		return nil, fmt.Errorf("locking: %w", err)
	}
	in, err := ReadInputsContext(ctx, req.Requirements, req.Constraints,
		InputOptions{IgnoreMissing: req.AllowMissing, Extras: req.Extras, Groups: req.Groups, Python: req.Python})
	if err != nil {
		return nil, err
	}
	if err := in.CheckTargets(req.Targets); err != nil {
		return nil, err
	}
	ix := o.index
	if ix == nil {
		var iopts []index.Option
		if o.cacheDir != "" {
			iopts = append(iopts, index.WithCacheDir(o.cacheDir))
		}
		if ix, err = req.NewIndex(iopts...); err != nil {
			return nil, err
		}
	}
	var prev *pylock.Lock
	if req.Previous != "" {
		// The lock is about to be replaced: one that cannot be read
		// costs the speed-up, nothing else.
		prev, _ = pylock.Load(req.Previous)
	}
	res, err := Resolve(ctx, ix, Request{
		Requirements:   in.Requirements,
		Constraints:    in.Constraints,
		Overrides:      in.Overrides,
		Excludes:       in.Excludes,
		StaticMetadata: in.StaticMetadata,
		Targets:        req.Targets,
		Pre:            req.Pre || in.Pre,
		OnlyBinary:     append(append([]string{}, req.OnlyBinary...), in.OnlyBinary...),
		NoBinary:       append(append([]string{}, req.NoBinary...), in.NoBinary...),
		Verify:         in.Pinned,
		Private:        req.Private,
		Python:         req.Python,
		CacheDir:       o.cacheDir,
		Previous:       prev,
	}, WithProgress(o.progress))
	if err != nil {
		return nil, err
	}
	return &Locked{Lock: res.Lock(), Result: res, Inputs: in}, nil
}
