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
package images
