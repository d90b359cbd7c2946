package serve

import (
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/larder-build/larder/resolver/distname"
)

// maxPathLen bounds a request path; nothing the server serves comes close.
const maxPathLen = 1024

// maxSegment bounds one segment of a request path: a file name's 255
// bytes, or a PEP 658 sidecar's URL, a file name and ".metadata"
// (segmentTooLong).
const maxSegment = 255

// validProjectName reports whether a normalized name can be a project:
// a valid name in its normalized form (ASCII letters and digits separated
// by single dashes), of at most 200 bytes.
func validProjectName(norm string) bool {
	return len(norm) <= 200 && distname.ValidName(norm) && distname.NormalizeName(norm) == norm
}

// newGlobMatcher compiles the private globs.
func newGlobMatcher(globs []string) (distname.Globs, error) {
	m, err := distname.CompileGlobs(globs)
	if err != nil {
		return nil, fmt.Errorf("private %w", err)
	}
	return m, nil
}

// splitFilename returns the project (as spelled) and version of a wheel or
// sdist file name, as resolver/distname reads them. An sdist of a known
// project (norm, normalized; "" when unknown) is split at that project's
// name, as pip does, so that dashes in the name or the version stay where
// they belong.
func splitFilename(filename, norm string) (project, version string, ok bool) {
	if strings.HasSuffix(filename, ".whl") {
		w, err := distname.ParseWheelName(filename)
		return w.Name, w.Version, err == nil
	}
	var sd distname.SdistName
	var err error
	if norm != "" {
		sd, err = distname.ParseSdistName(filename, norm)
	} else {
		sd, err = distname.GuessSdistName(filename)
	}
	return sd.Name, sd.Version, err == nil
}

// pathError is why a request path is refused.
type pathError int

const (
	pathOK pathError = iota
	pathMalformed
	pathTooLong
)

// splitPath splits an escaped request path into unescaped segments, refusing
// anything that could name a different file than it seems to: ".." or "."
// segments, encoded or literal backslashes, encoded slashes, NUL and other
// control bytes, invalid UTF-8, and empty segments other than a final one
// (the trailing slash of a directory URL).
func splitPath(escaped string) ([]string, pathError) {
	if len(escaped) > maxPathLen {
		return nil, pathTooLong
	}
	if escaped == "" || escaped[0] != '/' {
		return nil, pathMalformed
	}
	raw := strings.Split(escaped[1:], "/")
	segs := make([]string, len(raw))
	for i, r := range raw {
		s, err := url.PathUnescape(r)
		if err != nil || !safeSegment(s) || (s == "" && i != len(raw)-1) {
			return nil, pathMalformed
		}
		if segmentTooLong(s) {
			return nil, pathTooLong
		}
		segs[i] = s
	}
	return segs, pathOK
}

// segmentTooLong reports whether a path segment is longer than any the
// server serves: a file name of at most 255 bytes, or one followed by
// ".metadata", the URL pip asks a wheel's PEP 658 sidecar by.
func segmentTooLong(s string) bool {
	return len(strings.TrimSuffix(s, ".metadata")) > maxSegment
}

func safeSegment(s string) bool {
	if s == "." || s == ".." || !utf8.ValidString(s) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == 0x7f || c == '/' || c == '\\' {
			return false
		}
	}
	return true
}
