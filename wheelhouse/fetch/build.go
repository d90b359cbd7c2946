package fetch

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"

	"golang.org/x/sync/errgroup"

	"github.com/larder-build/larder/resolver/dist"
	"github.com/larder-build/larder/resolver/pep440"
	"github.com/larder-build/larder/resolver/target"
	"github.com/larder-build/larder/wheelhouse"
	"github.com/larder-build/larder/wheelhouse/build"
)

// buildAll makes the wheels that only a build provides, once every
// download is in place (a build may take its build dependencies from the
// store). Builds of different packages run side by side, bounded by the
// CPUs; the targets of one package are built in turn, so that a wheel
// that fits several targets (a pure-Python one) is built once.
func (f *fetcher) buildAll(ctx context.Context) error {
	if len(f.plan.jobs) == 0 {
		return nil
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(1, min(f.opts.jobs, runtime.NumCPU())))
	for _, j := range f.plan.jobs {
		g.Go(func() error { return f.buildJob(gctx, j) })
	}
	return g.Wait()
}

func (f *fetcher) buildJob(ctx context.Context, j *job) error {
	for _, t := range j.targets {
		if err := ctx.Err(); err != nil {
			return err
		}
		if e, ok := f.plan.builtFor(j, f.store.Entries(), t); ok && f.intact(e) {
			if !slices.Contains(e.Targets, t.String()) {
				e.Targets = append(e.Targets, t.String())
				sort.Strings(e.Targets)
				if err := f.store.Put(e); err != nil {
					return err
				}
			}
			f.count(func(r *Report) { r.Present++ })
			f.emit(Event{File: e.Filename, Project: j.project, Version: j.version, Target: t.String(), State: Skipped, Via: ViaPresent, Bytes: e.Size, Total: e.Size})
			continue
		}
		if ok, err := f.fromBuildCache(ctx, j, t); err != nil || ok {
			if err != nil {
				return err
			}
			continue
		}
		if f.opts.builder == nil {
			f.count(func(r *Report) { r.NeedsBuilder = append(r.NeedsBuilder, j.String()+" for "+t.String()) })
			continue
		}
		if err := f.buildOne(ctx, j, t); err != nil {
			return err
		}
	}
	return nil
}

// intact reports whether a built wheel is still there, whole, with its
// sidecar.
func (f *fetcher) intact(e wheelhouse.Entry) bool {
	sum, size, err := wheelhouse.HashRegularFile(f.store.Path(e.Filename))
	return err == nil && sum == e.SHA256 && size == e.Size && sidecarMatches(f.store, e.Filename, e.MetadataSHA256)
}

func (f *fetcher) buildOne(ctx context.Context, j *job, t target.Target) (err error) {
	src := j.vcsString()
	if j.sdist != nil {
		src = j.sdist.name
	}
	ev := Event{File: src, Project: j.project, Version: j.version, Target: t.String(), Via: ViaBuild}
	start := ev
	start.State = Started
	f.emit(start)
	defer func() {
		if err != nil && ctx.Err() == nil {
			failed := ev
			failed.State, failed.Err = Failed, err
			f.emit(failed)
		}
	}()
	outDir, err := os.MkdirTemp(f.files, ".build-*")
	if err != nil {
		return fmt.Errorf("building %s: %w", j, err)
	}
	defer os.RemoveAll(outDir)
	req := build.Request{Project: j.project, Version: j.version, Target: t}
	if j.sdist != nil {
		req.Sdist = f.store.Path(j.sdist.name)
	} else {
		req.VCS = &build.VCS{URL: f.opts.gitURL(j.vcs.URL), Commit: j.vcs.CommitID, Subdirectory: j.vcs.Subdirectory}
	}
	path, err := f.opts.builder.Build(ctx, req, outDir)
	if err != nil {
		return fmt.Errorf("for %s: %w", t, err)
	}
	e, err := f.keepBuilt(j, t, path, "")
	if err != nil {
		return err
	}
	f.count(func(r *Report) { r.Built++ })
	f.pushBuild(ctx, j, t, e)
	done := ev
	done.File, done.State, done.Bytes, done.Total = e.Filename, Done, e.Size, e.Size
	f.emit(done)
	return nil
}

// keepBuilt checks a built wheel (its name, version and tags, and its
// sha256 when want is set), moves it into the store with its sidecar and
// records its entry, with its provenance.
func (f *fetcher) keepBuilt(j *job, t target.Target, path, want string) (wheelhouse.Entry, error) {
	name := filepath.Base(path)
	if err := f.checkBuilt(j, name, t); err != nil {
		return wheelhouse.Entry{}, err
	}
	sum, size, err := wheelhouse.HashFile(path)
	if err != nil {
		return wheelhouse.Entry{}, fmt.Errorf("reading built wheel %s: %w", name, err)
	}
	if want != "" && sum != want {
		return wheelhouse.Entry{}, &CacheHashError{File: name, Want: want, Got: sum}
	}
	raw, rp, err := wheelMetadata(path)
	if err != nil {
		return wheelhouse.Entry{}, fmt.Errorf("reading the metadata of built wheel %s: %w", name, err)
	}
	// A wheel that fits other targets of the job serves them too.
	targets := []string{t.String()}
	for _, o := range j.targets {
		if o.String() != t.String() && f.plan.rank.fits(name, o) {
			targets = append(targets, o.String())
		}
	}
	if old, ok := f.store.Lookup(name); ok && old.SHA256 == sum {
		targets = mergeTargets(old.Targets, targets)
	}
	sort.Strings(targets)
	e := wheelhouse.Entry{Filename: name, Project: j.project, Version: j.version, SHA256: sum, Size: size,
		RequiresPython: rp, Targets: targets, Private: j.private}
	if j.sdist != nil {
		e.Origin = wheelhouse.Origin{Kind: wheelhouse.OriginSdist, Sdist: j.sdist.name, SdistSHA256: j.sdist.sha256}
	} else {
		e.Origin = wheelhouse.Origin{Kind: wheelhouse.OriginVCS, URL: j.vcs.URL, Commit: j.vcs.CommitID}
	}
	if err := syncFile(path); err != nil {
		return e, fmt.Errorf("storing built wheel %s: %w", name, err)
	}
	tmp := tempPath(f.files)
	if err := os.Rename(path, tmp); err != nil {
		// The builder left it elsewhere (another file system): copy.
		if err := copyFile(path, tmp); err != nil {
			_ = os.Remove(tmp)
			return e, fmt.Errorf("storing built wheel %s: %w", name, err)
		}
	}
	if err := os.Rename(tmp, f.store.Path(name)); err != nil {
		_ = os.Remove(tmp)
		return e, fmt.Errorf("storing built wheel %s: %w", name, err)
	}
	if e.MetadataSHA256, err = f.writeSidecar(name, raw); err != nil {
		return e, err
	}
	return e, f.store.Put(e)
}

// checkBuilt refuses a wheel that is not of the job's project and version
// or does not install on the target it was built for.
func (f *fetcher) checkBuilt(j *job, name string, t target.Target) error {
	wn, err := dist.ParseWheelName(name)
	if err != nil {
		return fmt.Errorf("building %s for %s: the builder made %q, not a wheel: %w", j, t, name, err)
	}
	if dist.NormalizeName(wn.Name) != j.project {
		return fmt.Errorf("building %s for %s: built wheel %s is not of project %s", j, t, name, j.project)
	}
	if j.version != "" {
		want, err1 := pep440.Parse(j.version)
		got, err2 := pep440.Parse(wn.Version)
		if err1 == nil && err2 == nil && want.Compare(got) != 0 {
			return fmt.Errorf("building %s for %s: built wheel %s has version %s, the lock says %s", j, t, name, wn.Version, j.version)
		}
	}
	if !f.plan.rank.fits(name, t) {
		return fmt.Errorf("built wheel %s does not fit target %s", name, t)
	}
	return nil
}

func (j *job) vcsString() string {
	if j.vcs == nil {
		return ""
	}
	s := "git+" + j.vcs.URL + "@" + j.vcs.CommitID
	if j.vcs.Subdirectory != "" {
		s += "#subdirectory=" + j.vcs.Subdirectory
	}
	return s
}

func syncFile(path string) error {
	fh, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	if err := fh.Sync(); err != nil {
		fh.Close()
		return err
	}
	return fh.Close()
}
