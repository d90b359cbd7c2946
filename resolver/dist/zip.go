package dist

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/larder-build/larder/internal/readlimit"
	"github.com/larder-build/larder/resolver/distname"
)

// FindMetadataInZip returns the METADATA entry of a wheel archive: the one
// in its only top-level NAME-VERSION.dist-info directory. When project is
// not empty, the directory's name must be that project's. It reads only the
// archive's central directory, so z may sit on a ranged reader.
func FindMetadataInZip(z *zip.Reader, project string) (*zip.File, error) {
	dir, err := distInfoDir(z)
	if err != nil {
		return nil, err
	}
	if project != "" && NormalizeName(distInfoName(dir)) != NormalizeName(project) {
		return nil, fmt.Errorf("wheel's %s is not for project %q", dir, project)
	}
	want := dir + "/METADATA"
	var found *zip.File
	for _, f := range z.File {
		if f.Name != want {
			continue
		}
		if found != nil {
			// Readers disagree on which copy wins, so no copy can be trusted.
			return nil, fmt.Errorf("wheel has %s twice", want)
		}
		found = f
	}
	if found == nil {
		return nil, fmt.Errorf("wheel has %s/ but no %s", dir, want)
	}
	return found, nil
}

// distInfoDir finds the one top-level .dist-info directory of a wheel.
func distInfoDir(z *zip.Reader) (string, error) {
	found := map[string]bool{}
	for _, f := range z.File {
		top, _, isDir := strings.Cut(f.Name, "/")
		if isDir && strings.HasSuffix(top, ".dist-info") {
			found[top] = true
		}
	}
	if len(found) == 0 {
		return "", errors.New("wheel has no .dist-info directory")
	}
	if len(found) > 1 {
		dirs := make([]string, 0, len(found))
		for d := range found {
			dirs = append(dirs, d)
		}
		sort.Strings(dirs)
		return "", fmt.Errorf("wheel has %d .dist-info directories (%s), want one", len(dirs), strings.Join(dirs, ", "))
	}
	var dir string
	for d := range found {
		dir = d
	}
	return dir, nil
}

// distInfoName returns the project part of NAME-VERSION.dist-info: what
// precedes the last "-", as neither an escaped name nor a version has one.
func distInfoName(dir string) string {
	stem := strings.TrimSuffix(dir, ".dist-info")
	if i := strings.LastIndexByte(stem, '-'); i >= 0 {
		return stem[:i]
	}
	return stem
}

// ReadWheelMetadata reads and parses the METADATA of a wheel from its zip
// archive without extracting it, and returns the raw bytes too (what an
// index serves as PEP 658 metadata). The archive must hold one .dist-info
// directory, its name must be the project that METADATA names, and no
// member may be one an installer refuses (distname.CheckMemberPath): a
// wheel pip would refuse to install is refused here, by the fetch that
// would keep it and the lock that would pin it.
func ReadWheelMetadata(r io.ReaderAt, size int64) (*Metadata, []byte, error) {
	z, err := readlimit.OpenZip(r, size, readlimit.MaxZipMembers)
	if err != nil && !(errors.Is(err, zip.ErrInsecurePath) && z != nil) {
		// archive/zip's own insecure-path error (under
		// GODEBUG=zipinsecurepath=0) is passed over for the check below,
		// which names the member.
		return nil, nil, fmt.Errorf("reading wheel: %w", err)
	}
	for _, f := range z.File {
		if err := distname.CheckMemberPath(f.Name); err != nil {
			return nil, nil, fmt.Errorf("reading wheel: %w", err)
		}
	}
	f, err := FindMetadataInZip(z, "")
	if err != nil {
		return nil, nil, fmt.Errorf("reading wheel: %w", err)
	}
	raw, err := readZipFile(f, MaxMetadataSize)
	if err != nil {
		return nil, nil, fmt.Errorf("reading wheel %s: %w", f.Name, err)
	}
	m, err := ParseMetadata(bytes.NewReader(raw))
	if err != nil {
		return nil, nil, fmt.Errorf("reading wheel %s: %w", f.Name, err)
	}
	dir := strings.TrimSuffix(f.Name, "/METADATA")
	if NormalizeName(distInfoName(dir)) != NormalizeName(m.Name) {
		return nil, nil, fmt.Errorf("reading wheel: %s names project %q", dir, m.Name)
	}
	return m, raw, nil
}

// readZipFile reads one archive entry whole, refusing entries above limit
// whatever their header claims (the decompressor stops at limit+1 bytes).
func readZipFile(f *zip.File, limit int64) ([]byte, error) {
	if f.UncompressedSize64 > uint64(limit) {
		return nil, fmt.Errorf("%d bytes, more than the %d allowed", f.UncompressedSize64, limit)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return readlimit.ReadAll(rc, limit)
}
