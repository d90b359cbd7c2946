// Package resolver turns a project's requirements into the complete,
// pinned closure of Python distributions that every target installs.
//
// ReadInputs reads what a project says it needs (pip requirement files,
// pyproject.toml, uv.lock, pylock.toml, constraints) into Requirements;
// Resolve finds, for every target (platform, Python, libc) at once, the
// newest versions that satisfy them, and returns one Result whose
// packages name the file each target installs. The lock file and the
// "why" graph are written and read from a Result by the resolver/pylock
// package and GraphFromLock.
//
// The resolution is a PubGrub search (pubgrub.go) per target over version
// sets kept as bitsets (vset.go), so a failure is explained as a chain of
// facts ("because A 2 depends on B<1 and you require B>=1, ...").
// The search itself is sequential; the I/O around it is not:
//
//   - api.go holds the types a caller sees: Request, Requirement, Result,
//     Package, and the Index interface (*index.Client implements it).
//   - target.go is one target's problem: its listings (candidates.go
//     filters a page by tags, binary policy and hashes), dependencies
//     read from core metadata, markers evaluated for the target.
//   - metadata.go is what targets share: parsed metadata, fetched once
//     (a cache of results, internal/flight for what is in flight, which a
//     caller that gives up leaves to the others) whatever the number of
//     targets.
//   - warm.go guesses ahead, in the background and bounded by the index's
//     own limit on requests in flight: pages and metadata the sequential
//     search is likely to need next, so that it finds them in memory.
//   - vcsshared.go pins and reads each VCS requirement once for all
//     targets (vcs.go does the checkout and the PEP 517 hook).
//   - closure.go checks that fully pinned inputs (pip-compile output) are
//     a complete closure, and names the chain that pulls in what is not.
//
// The resolver never downloads a distribution (only pages and PEP 658
// metadata) and writes nothing but git checkouts under Request.CacheDir;
// the lock is its caller's to write.
package resolver
