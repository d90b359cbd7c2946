// Package serve is larder's index server: a PyPI-compatible simple
// repository (PEP 503 HTML and PEP 691 JSON, PEP 658/714 metadata, PEP 700
// sizes and times) over a wheelhouse.Store, which falls through to an
// upstream index for public projects and never for private ones.
//
// Both `larder serve` and the small `larder-index` binary that goes into
// images run it, so it imports nothing but the standard library and the
// wheelhouse package.
//
// The URL layout:
//
//	/                          a page for people: every project, version and file
//	/simple/                   the project list
//	/simple/<normalized>/      a project page; other spellings get 301
//	/files/<filename>          a distribution (Range, ETag = sha256, immutable)
//	/files/<filename>.metadata its PEP 658 core metadata
//	/-/healthz                 JSON: ok, files, projects, upstream state
//
// # Fall-through
//
// For a public project the page merges the baked files with the upstream's
// listing, a baked file winning on the same name. An upstream file is served
// through /files/ as well: streamed to the client while it is hashed into a
// temporary file of the cache folder, and renamed into the cache (itself a
// wheelhouse.Store) only when its sha256 matches the upstream's listing; on
// a mismatch the client's connection is cut before the last bytes, so that no
// client and no cache ever holds a corrupt file. The next install of that
// version is local, upstream or not.
//
// Upstream pages are cached for a TTL and revalidated with their ETag; the
// names the upstream has no page for are remembered for the TTL apart from
// them, in bounded memory, and one client has at most maxFetchesPerClient
// pages (and metadata files) fetched at once, and maxDownloadsPerClient
// fall-through files downloading at once. A
// circuit breaker stops asking an upstream that failed (refused, timed out,
// 5xx) for a back-off period that starts at 30 s and doubles up to 5 min, so
// an offline container pays for one failed connection, not one per project.
// An upstream failure never turns a project with local files into an error:
// its page is served from what is local. Project pages of names that only
// the upstream could provide answer 404 quickly.
//
// # Private projects
//
// A project is private when its name matches a private glob, or when any of
// its baked entries is marked Private or was built from a VCS checkout. The
// upstream is never asked about a private project, and nothing the upstream
// lists ever appears in its page (dependency confusion).
//
// # Hardening
//
// Only file names present in the store's manifest, in the verified
// fall-through cache or in an upstream listing are ever opened; a request
// path is never joined onto the filesystem. Paths with "..", encoded
// slashes, NUL or control bytes, empty segments or over-long names are
// refused with 400.
package serve
