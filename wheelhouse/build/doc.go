// Package build turns sources into wheels: verified sdists and git forks
// pinned by commit become wheels that fit a target.
//
// A Builder is the one ability callers need. Host is the implementation that
// runs "pip wheel" with an interpreter on this machine. pip never reaches
// PyPI: it runs with --no-index (or only the index given with WithIndex),
// without the caller's pip configuration and with a throwaway HOME. Builds
// are isolated when find-links or an index can serve the build
// requirements, and fall back to --no-build-isolation (the interpreter's own
// setuptools and wheel) when those requirements cannot be found.
//
// Every wheel is checked before it is kept: exactly one, a valid name, the
// requested project (and version, for an sdist), tags the target accepts.
// Built wheels are cached under the sha256 of the source (the sdist's hash,
// or the repository, commit and subdirectory), the interpreter's version and,
// for platform wheels only, the target: a pure wheel is built once for every
// target. Git forks are fetched by commit, never by branch, into the same
// cache and reused.
package build
