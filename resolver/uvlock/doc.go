// Package uvlock reads uv's lock file, uv.lock (format version 1), into
// typed structs: the resolution markers and options, the [manifest] of
// workspace inputs, and every [[package]] with its source (registry, git,
// url, path, directory, editable or virtual), dependencies, extras,
// dependency groups, sdist, wheels and metadata.
//
// Load checks what larder relies on: the format version, one source per
// package, versions and markers that parse, hashes of the form
// "sha256:HEX", metadata requirements that make valid PEP 508 strings, and
// dependencies that point at packages of the lock. Errors name the file,
// the line and the key.
package uvlock
