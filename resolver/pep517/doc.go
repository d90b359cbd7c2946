// Package pep517 runs the build-backend hooks of PEP 517 with a Python
// interpreter: metadata for resolving sdists and git forks whose
// metadata is not static, and wheels for the wheelhouse. It also unpacks
// sdists safely.
package pep517
