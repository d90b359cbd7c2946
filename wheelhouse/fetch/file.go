package fetch

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/larder-build/larder/resolver/dist"
	"github.com/larder-build/larder/resolver/pep517"
	"github.com/larder-build/larder/resolver/simple"
	"github.com/larder-build/larder/wheelhouse"
	"github.com/larder-build/larder/wheelhouse/ctxio"
)

// fetchFile puts one file the lock lists into the store: from the store
// itself when it is already there, else from the cache, else from its URL.
func (f *fetcher) fetchFile(ctx context.Context, w *want) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	ok, err := f.present(w)
	if err != nil || ok {
		return err
	}
	if f.cache != "" {
		ok, err := f.fromCache(ctx, w)
		if err != nil || ok {
			return err
		}
	}
	if f.opts.remote != nil {
		ok, err := f.fromRemote(ctx, w)
		if err != nil || ok {
			return err
		}
	}
	if err := f.download(ctx, w); err != nil {
		return err
	}
	f.pushRemote(ctx, w)
	return nil
}

// entry is the manifest entry of a verified file.
func (f *fetcher) entry(w *want, size int64) wheelhouse.Entry {
	targets := append([]string{}, w.targets...)
	sort.Strings(targets)
	return wheelhouse.Entry{
		Filename: w.name, Project: w.project, Version: w.version, SHA256: w.sha256, Size: size,
		RequiresPython: w.requiresPython, UploadTime: w.uploadTime.UTC(),
		Origin:  wheelhouse.Origin{Kind: wheelhouse.OriginIndex, URL: simple.WithoutCredentials(w.url), Index: simple.WithoutCredentials(w.index)},
		Targets: targets, Private: w.private,
	}
}

// present reports whether the file is already on disk under its name with
// the lock's size and sha256, and records it (adopting a file the manifest
// does not list, and rewriting a sidecar that is absent or wrong).
func (f *fetcher) present(w *want) (bool, error) {
	path := f.store.Path(w.name)
	st, err := os.Lstat(path)
	if err != nil || !st.Mode().IsRegular() || (w.size > 0 && st.Size() != w.size) {
		return false, nil
	}
	sum, size, err := wheelhouse.HashRegularFile(path)
	if err != nil || sum != w.sha256 {
		return false, nil // replaced by the download's rename
	}
	f.fixMode(path, st)
	old, listed := f.store.Lookup(w.name)
	e := f.entry(w, size)
	if w.wheel {
		if listed && old.SHA256 == sum && (old.MetadataSHA256 != "" || !wheelhouse.SidecarFits(w.name)) && sidecarMatches(f.store, w.name, old.MetadataSHA256) {
			e.MetadataSHA256, e.RequiresPython = old.MetadataSHA256, old.RequiresPython
		} else {
			raw, rp, err := wheelMetadata(path)
			if err != nil {
				return false, fmt.Errorf("reading the metadata of %s: %w", w.name, err)
			}
			if e.MetadataSHA256, err = f.writeSidecar(w.name, raw); err != nil {
				return false, err
			}
			e.RequiresPython = firstNonEmpty(rp, e.RequiresPython)
		}
	} else {
		e.RequiresPython = firstNonEmpty(e.RequiresPython, old.RequiresPython)
		if e.RequiresPython == "" {
			e.RequiresPython = sdistRequiresPython(path)
		}
	}
	if err := f.store.Put(e); err != nil {
		return false, err
	}
	f.count(func(r *Report) {
		r.Present++
		if !listed {
			r.Adopted++
		}
	})
	f.emit(Event{File: w.name, Project: w.project, Version: w.version, State: Skipped, Via: ViaPresent, Bytes: size, Total: size})
	return true, nil
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// sidecarMatches reports whether the store's sidecar of the wheel name
// has the hash sum: "" for a wheel whose name is too long to have one.
func sidecarMatches(s *wheelhouse.Store, name, sum string) bool {
	if !wheelhouse.SidecarFits(name) {
		return sum == ""
	}
	b, err := wheelhouse.ReadRegular(s.MetadataPath(name))
	if err != nil {
		return false
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:]) == sum
}

// writeSidecar writes the PEP 658 metadata file of the store's wheel name
// and returns its hash. It is renamed into place but not synced: it is
// derived from the wheel, and a sidecar lost in a crash no longer matches
// the manifest, so the next fetch writes it again (and verify reports it
// until then). A wheel whose name is too long for a sidecar's (over
// wheelhouse.MaxSidecarName bytes) gets none, and "": the index does not
// offer its metadata, and pip reads it from the wheel.
func (f *fetcher) writeSidecar(name string, raw []byte) (string, error) {
	if !wheelhouse.SidecarFits(name) {
		return "", nil
	}
	path := f.store.MetadataPath(name)
	tmp := tempPath(f.files)
	err := os.WriteFile(tmp, raw, 0o644)
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return "", fmt.Errorf("writing %s: %w", filepath.Base(path), err)
	}
	h := sha256.Sum256(raw)
	return hex.EncodeToString(h[:]), nil
}

// wheelMetadata returns the raw METADATA of a wheel and its
// Requires-Python.
func wheelMetadata(path string) ([]byte, string, error) {
	fh, size, err := wheelhouse.OpenRegularSize(path)
	if err != nil {
		return nil, "", err
	}
	defer fh.Close()
	md, raw, err := dist.ReadWheelMetadata(fh, size)
	if err != nil {
		return nil, "", err
	}
	return raw, md.RequiresPython, nil
}

// sdistRequiresPython reads Requires-Python from an sdist's PKG-INFO, for
// the index page; "" when it cannot.
func sdistRequiresPython(path string) string {
	sm, err := pep517.ReadSdistMetadata(path)
	if err != nil {
		return ""
	}
	md, err := dist.ParseMetadata(bytes.NewReader(sm.Raw))
	if err != nil {
		return ""
	}
	return md.RequiresPython
}

// tempPattern is the name of every file a fetch stages, in files/ or in
// the user cache, before its rename into place: a name of its own, not
// the file's with a prefix and a suffix, since a file's name may take all
// the 255 bytes a name can have. It starts with a dot, so that nothing
// ever mistakes it for a distribution, and the store's first writer
// removes it from files/ once its writer is gone (wheelhouse.IsTemporary).
const tempPattern = ".fetch-*.tmp"

// tempPath returns a fresh name for a temporary file in dir, of the form
// tempPattern makes.
func tempPath(dir string) string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return filepath.Join(dir, strings.Replace(tempPattern, "*", hex.EncodeToString(b[:]), 1))
}

// createTemp creates a temporary file in files/, named by tempPattern.
func (f *fetcher) createTemp() (*os.File, error) {
	return wheelhouse.CreateTemp(f.files, tempPattern, 0o644)
}

// cachePath is where the user cache keeps a file with a given hash.
func (f *fetcher) cachePath(sum string) string {
	return filepath.Join(f.cache, sum[:2], sum)
}

// fromCache links (or, across file systems, copies) a file of the user
// cache into the store. A cached file whose hash is wrong is dropped from
// the cache and reported as absent.
func (f *fetcher) fromCache(ctx context.Context, w *want) (bool, error) {
	cp := f.cachePath(w.sha256)
	st, err := os.Lstat(cp)
	if err != nil || !st.Mode().IsRegular() {
		return false, nil
	}
	if w.size > 0 && st.Size() != w.size {
		_ = os.Remove(cp)
		return false, nil
	}
	tmp := tempPath(f.files)
	if err := f.linkShared(cp, tmp); err == nil {
		sum, size, err := wheelhouse.HashRegularFile(tmp)
		if err != nil || sum != w.sha256 {
			_ = os.Remove(tmp)
			_ = os.Remove(cp)
			return false, nil
		}
		if err := f.finish(tmp, w, size, false); err != nil {
			return false, err
		}
	} else {
		ok, err := f.copyFromCache(ctx, w, cp)
		if err != nil || !ok {
			return ok, err
		}
	}
	f.count(func(r *Report) { r.Linked++ })
	f.emit(Event{File: w.name, Project: w.project, Version: w.version, State: Done, Via: ViaCache, Bytes: st.Size(), Total: st.Size()})
	return true, nil
}

func (f *fetcher) copyFromCache(ctx context.Context, w *want, cp string) (bool, error) {
	src, err := wheelhouse.OpenRegular(cp)
	if err != nil {
		return false, nil
	}
	defer src.Close()
	tmp, err := f.createTemp()
	if err != nil {
		return false, fmt.Errorf("creating a temporary file for %s: %w", w.name, err)
	}
	sum, n, err := f.fillTemp(tmp, ctxio.Reader(ctx, src))
	if err != nil {
		return false, fmt.Errorf("copying %s from the cache: %w", w.name, err)
	}
	if sum != w.sha256 {
		_ = os.Remove(tmp.Name())
		_ = os.Remove(cp)
		return false, nil
	}
	if err := f.finish(tmp.Name(), w, n, false); err != nil {
		return false, err
	}
	return true, nil
}

// fillTemp fills tmp, a new temporary file, with src, hashing the bytes,
// then syncs and closes it. It returns the sha256 and count of the bytes;
// on an error it removes the file.
func (f *fetcher) fillTemp(tmp *os.File, src io.Reader) (sum string, n int64, err error) {
	h := sha256.New()
	n, err = io.Copy(f.writer(tmp, h), src)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		return "", n, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// writer is where the bytes of a temporary file go: the file (through the
// test seam) and the hash.
func (f *fetcher) writer(file *os.File, h hash.Hash) io.Writer {
	var w io.Writer = file
	if f.opts.wrapWriter != nil {
		w = f.opts.wrapWriter(w)
	}
	return io.MultiWriter(w, h)
}

// finish moves a verified, synced temporary file to its real name, writes
// the sidecar of a wheel and records the entry. toCache puts a fresh
// download into the user cache first. The temporary file is gone when
// finish returns, whatever happens.
func (f *fetcher) finish(tmp string, w *want, size int64, toCache bool) (err error) {
	defer func() {
		if err != nil {
			_ = os.Remove(tmp)
		}
	}()
	e := f.entry(w, size)
	var raw []byte
	if w.wheel {
		var rp string
		raw, rp, err = wheelMetadata(tmp)
		if err != nil {
			return fmt.Errorf("reading the metadata of %s: %w", w.name, err)
		}
		e.RequiresPython = firstNonEmpty(rp, e.RequiresPython)
	} else if e.RequiresPython == "" {
		e.RequiresPython = sdistRequiresPython(tmp)
	}
	if toCache && f.cache != "" {
		if err := f.cachePut(tmp, w.sha256); err != nil {
			f.warnCache(err)
		}
	}
	if err := os.Rename(tmp, f.store.Path(w.name)); err != nil {
		return fmt.Errorf("storing %s: %w", w.name, err)
	}
	if w.wheel {
		var serr error
		if e.MetadataSHA256, serr = f.writeSidecar(w.name, raw); serr != nil {
			// The wheel is in place and verified: list it, without a
			// sidecar (verify says so, the next fetch writes it), rather
			// than leave a file the manifest does not know.
			if err := f.store.Put(e); err != nil {
				return err
			}
			return serr
		}
	}
	return f.store.Put(e)
}

func (f *fetcher) warnCache(err error) {
	f.warned.Do(func() { f.warn("the user cache is not updated: %v", err) })
}

// cachePut adds a verified file to the user cache, by a hard link when
// the cache is on the same file system, else by a copy; the cache too
// only ever holds complete files under their hash.
func (f *fetcher) cachePut(src, sum string) error {
	dst := f.cachePath(sum)
	if _, err := os.Stat(dst); err == nil {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	tmp := tempPath(filepath.Dir(dst))
	if err := f.linkShared(src, tmp); err != nil {
		if err := copyFile(src, tmp); err != nil {
			_ = os.Remove(tmp)
			return err
		}
	}
	if err := os.Rename(tmp, dst); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return nil
}

// staleCacheTemp is how old a temporary file in the user cache must be to
// be taken for a killed fetch's: the cache has no lock that would say its
// writer is gone, and a link or a copy into it takes well under an hour.
const staleCacheTemp = time.Hour

// cacheSweptName is a file in the user cache whose modification time
// says when removeStaleCacheTemps last looked through it.
const cacheSweptName = ".swept"

// removeStaleCacheTemps removes from the user cache's folders the
// temporary files older than staleCacheTemp, left by fetches killed
// between a file's create and its rename. Only names fetch makes are
// touched: tempPattern's, and ".", a sha256, ".tmp-" and 12 hex digits,
// as an earlier larder named them. It looks once every staleCacheTemp
// at most (cacheSweptName), not through 256 folders on every fetch: a
// temporary file is removed by the first fetch that comes when it is
// over an hour old and the last look was over an hour ago.
func removeStaleCacheTemps(cache string) {
	now := time.Now()
	marker := filepath.Join(cache, cacheSweptName)
	if st, err := os.Lstat(marker); err == nil && st.Mode().IsRegular() {
		if age := now.Sub(st.ModTime()); age >= 0 && age < staleCacheTemp {
			return
		}
	}
	// A new marker first, renamed over the old one (a rename never
	// follows a link): two fetches starting at once may both look, which
	// is harmless, and one that cannot write it looks all the same.
	_ = wheelhouse.WriteAtomic(marker, 0o644, false, func(io.Writer) error { return nil })
	subs, err := os.ReadDir(cache)
	if err != nil {
		return
	}
	cutoff := now.Add(-staleCacheTemp)
	for _, sub := range subs {
		if !sub.IsDir() || len(sub.Name()) != 2 {
			continue
		}
		dir := filepath.Join(cache, sub.Name())
		ents, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, d := range ents {
			if !isCacheTemp(d.Name()) || !d.Type().IsRegular() {
				continue
			}
			if info, err := d.Info(); err == nil && info.ModTime().Before(cutoff) {
				_ = os.Remove(filepath.Join(dir, d.Name()))
			}
		}
	}
}

// isCacheTemp reports whether name is a temporary file's in the user
// cache: ".fetch-", 16 hex digits and ".tmp", or ".", 64 hex digits,
// ".tmp-" and 12 hex digits.
func isCacheTemp(name string) bool {
	if r, ok := strings.CutPrefix(name, ".fetch-"); ok {
		r, ok = strings.CutSuffix(r, ".tmp")
		return ok && isLowerHex(r, 16)
	}
	if len(name) == 1+64+len(".tmp-")+12 && name[0] == '.' && name[65:70] == ".tmp-" {
		return isLowerHex(name[1:65], 64) && isLowerHex(name[70:], 12)
	}
	return false
}

// isLowerHex reports whether s is n lowercase hex digits.
func isLowerHex(s string, n int) bool {
	return len(s) == n && strings.Trim(s, "0123456789abcdef") == ""
}

// openForCopy opens src, refusing anything but a regular file, and
// creates dst, which must not exist yet, to copy it into.
func openForCopy(src, dst string) (in, out *os.File, err error) {
	in, err = wheelhouse.OpenRegular(src)
	if err != nil {
		return nil, nil, err
	}
	out, err = os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		in.Close()
		return nil, nil, err
	}
	return in, out, nil
}

// copyFile copies src, a file larder wrote, to dst, a new file, and syncs
// it.
func copyFile(src, dst string) error {
	in, out, err := openForCopy(src, dst)
	if err != nil {
		return err
	}
	defer in.Close()
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
