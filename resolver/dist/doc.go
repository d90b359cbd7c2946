// Package dist reads what identifies a Python distribution without
// installing it: project names (PEP 503 normalization), wheel filenames
// (the binary distribution format, PEP 427), source distribution filenames
// (PEP 625 and the legacy archive forms), and core metadata (METADATA and
// PKG-INFO), including straight out of a wheel's zip archive.
//
// Versions stay the strings found in the files: callers parse them with
// resolver/pep440.
package dist
