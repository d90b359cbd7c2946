// Package pep517 runs the metadata hook of PEP 517 with a Python
// interpreter, for resolving sdists and git forks whose metadata is not
// static, and unpacks sdists safely. (Wheels are built by
// wheelhouse/build, through pip.)
package pep517
