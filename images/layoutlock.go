package images

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/larder-build/larder/wheelhouse"
)

// Lock files at the top of an OCI layout larder writes. They are
// dot-files beside oci-layout and index.json, which readers of a layout
// (skopeo, umoci, BuildKit, go-containerregistry) do not look at, and the
// clean-up never removes (it looks in blobs/ and at its own temporary
// files only). Two, because flock(2) cannot hold a shared and an
// exclusive lock on one file at once:
//
//   - layoutUseLock is held shared by every bake that reads or writes the
//     layout, for as long as it runs (its previous image, even its base,
//     may be read from the layout until its write ends), and exclusively
//     by the removal of blobs no tag references: a blob no tag references
//     may be one another live larder process has written and not yet
//     tagged, or is still reading. So the last process out cleans up.
//   - layoutIndexLock is held exclusively for the read-modify-write of
//     index.json, so that two bakes of different tags both keep theirs.
//
// The kernel releases both when their holder dies, however it dies: a
// killed bake never blocks the next one.
const (
	layoutUseLock   = ".larder.lock"
	layoutIndexLock = ".larder-index.lock"
)

// layoutUse is a bake's shared hold on an OCI layout's layoutUseLock. A
// nil *layoutUse holds nothing.
type layoutUse struct {
	dir string
	f   *os.File
}

// useLayout takes a shared hold on the layout in dir, waiting (and
// telling wait the folder, then "") while another larder process cleans
// it up, until ctx ends. A layout only read whose lock file cannot be
// made (a read-only folder, or one that is not a layout at all) is read
// without a hold: nil, no error.
func useLayout(ctx context.Context, dir string, write bool, wait func(string)) (*layoutUse, error) {
	if !write {
		if st, err := os.Stat(filepath.Join(dir, ociLayoutFile)); err != nil || !st.Mode().IsRegular() {
			return nil, nil
		}
	}
	f, err := wheelhouse.OpenLockFile(filepath.Join(dir, layoutUseLock))
	if err != nil {
		if !write {
			return nil, nil
		}
		return nil, fmt.Errorf("locking the OCI layout %s: %w", dir, err)
	}
	if err := lockWaiting(ctx, f, false, dir, wait); err != nil {
		f.Close()
		return nil, err
	}
	return &layoutUse{dir: dir, f: f}, nil
}

// lockWaiting takes the lock on f: at once when it is free, else telling
// wait, when set, which folder it waits for, until ctx ends.
func lockWaiting(ctx context.Context, f *os.File, exclusive bool, dir string, wait func(string)) error {
	ok, err := wheelhouse.TryLockFile(f, exclusive)
	if err == nil && !ok {
		if wait != nil {
			wait(dir)
			defer wait("")
		}
		err = wheelhouse.WaitLockFile(ctx, f, exclusive)
	}
	if err != nil {
		return fmt.Errorf("OCI layout %s: %w", dir, err)
	}
	return nil
}

// lockIndex holds the layout's index lock until release is called: one
// process at a time reads, merges and writes index.json.
func (u *layoutUse) lockIndex(ctx context.Context, wait func(string)) (release func(), err error) {
	f, err := wheelhouse.OpenLockFile(filepath.Join(u.dir, layoutIndexLock))
	if err != nil {
		return nil, fmt.Errorf("locking the index of the OCI layout %s: %w", u.dir, err)
	}
	if err := lockWaiting(ctx, f, true, u.dir, wait); err != nil {
		f.Close()
		return nil, err
	}
	return func() { f.Close() }, nil
}

// cleanUp ends the hold. When no other larder process uses the layout,
// it first removes the blobs that no tag of index.json (read again: others
// may have written it since) references, and what interrupted writes
// left; otherwise the last of those processes will.
func (u *layoutUse) cleanUp() error {
	defer u.close()
	// Asking for the lock alone drops the shared hold first, granted or
	// not: two finishing at once cannot both miss it.
	ok, err := wheelhouse.TryLockFile(u.f, true)
	if err != nil || !ok {
		return nil
	}
	idx, err := readIndex(u.dir)
	if err != nil {
		return err
	}
	return removeUnreferenced(u.dir, *idx)
}

// close releases the hold, if any.
func (u *layoutUse) close() {
	if u != nil && u.f != nil {
		u.f.Close()
		u.f = nil
	}
}

// isLayoutLock says whether name is one of the lock files of a layout.
func isLayoutLock(name string) bool { return name == layoutUseLock || name == layoutIndexLock }

// isWriteLeftover says whether name is a temporary file larder writes in
// a layout (".<name>.<random>.tmp": a blob's, index.json's, oci-layout's),
// left there only by a writer that died.
func isWriteLeftover(name string) bool {
	return strings.HasPrefix(name, ".") && strings.HasSuffix(name, ".tmp") && len(name) > len("..tmp")
}

// removeLeftovers removes the temporary files that writers who died left
// at the top of the layout. Only the holder of the use lock alone may
// call it.
func removeLeftovers(dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if e.Type().IsRegular() && isWriteLeftover(e.Name()) {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
	}
	return nil
}
