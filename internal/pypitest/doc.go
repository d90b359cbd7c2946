// Package pypitest provides a fake PyPI for tests: real, installable wheels
// and sdists generated deterministically from a declarative Index, served by
// an in-process HTTP server in every form pip speaks, with knobs for
// latency, failures, wrong hashes and truncated bodies, and per-path request
// counters.
//
// A spec is written in Go or loaded from TOML or JSON (Load, Parse); keys are
// snake_case field names (requires_python, sdist_size, upload_time). Yanked
// is "" for a normal release, YankedNoReason ("yes") for a release yanked
// without a reason, and otherwise the reason itself. Versions must be
// canonical PEP 440 strings: they appear verbatim in file names.
//
// Builds are reproducible: the same spec gives the same bytes (fixed member
// times and modes, no host data, padding from a ChaCha8 stream seeded by the
// file name). Wheels hit Wheel.Size exactly when it exceeds the unpadded
// size; sdists land within about 1% of Release.SdistSize, as gzip framing
// allows. Each sdist's pyproject.toml holds static setuptools metadata, so
// "pip wheel --no-build-isolation" builds it offline.
//
// The server's URL layout:
//
//	/simple/                      project list (PEP 503 HTML or PEP 691 JSON)
//	/simple/<normalized>/         project page; other spellings get 301
//	/files/<filename>             a distribution, with Range support
//	/files/<filename>.metadata    PEP 658 core metadata (wheels only)
//
// Pages negotiate on Accept with quality values, carry a strong ETag and
// answer 304 to If-None-Match. HTML anchors carry #sha256=, data-requires-
// python, data-yanked and both data-core-metadata and data-dist-info-metadata
// (PEP 714 allows the old name in HTML); JSON (api-version 1.1, PEP 700)
// carries only "core-metadata", because pip 22.3 to 23.1 crash on the old
// JSON key.
//
// # An independent oracle
//
// The package renders its own pages, wheels and sdists, normalizes names,
// expands tag sets and orders versions itself (names.go, pages.go,
// negotiate.go, tags.go, version.go) instead of importing resolver/simple,
// resolver/distname, resolver/tags, resolver/pep440 or wheelhouse, on
// purpose: it plays PyPI for tests of those packages, and a bug it shared
// with them would pass every test. Code that looks like theirs is written
// again here for that reason. Keep it importing nothing of larder outside
// internal/.
package pypitest
