// Package images assembles larder's layers onto base images and writes
// the result, with go-containerregistry and no Docker engine: bases and
// outputs are registries (docker://), OCI layout folders (oci:) and
// `docker load` tarballs (docker-archive:), one image per platform,
// gathered in an image index when there are several.
//
// Outputs are never half written: an OCI layout gets its blobs through
// temporary files and renames, and its index.json last, atomically; a
// tarball is written under a temporary name and renamed; a registry gets
// its manifest only after every blob, and only the blobs it lacks.
//
// BakeLock is what larder bake does: it reads a lock and the wheelhouse
// holding its files and fills in the defaults that decide the digest
// (the creation time from SOURCE_DATE_EPOCH or the newest upload in the
// closure, the lock's platforms, the index server's URL and
// configuration, the version label), so that a program calling it gets
// the CLI's digest. Bake does the work for a closure already in hand. A
// Request says what to bake; Options say how (layer folder, registry
// access, progress).
//
// Errors a user can act on are typed (IndexBinaryError,
// UnlockedPlatformError, TooManyLayersError, ...): the CLI turns them
// into advice, and this package, which also runs where no larder binary
// exists, gives none.
package images
