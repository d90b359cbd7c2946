// Package pep517 runs the metadata hook of PEP 517 with a Python
// interpreter, for resolving sdists and git forks whose metadata is not
// static, and unpacks sdists safely. (Wheels are built by wheelhouse/build,
// through pip.)
//
// It also reads what an sdist says about itself without a build: PKG-INFO,
// or a static pyproject.toml [project] table. That needs a TOML parser,
// which is why it lives here and not in resolver/dist: names, filenames and
// core metadata need only the standard library.
package pep517
