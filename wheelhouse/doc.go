// Package wheelhouse is the on-disk store of verified distributions that
// larder bakes into images and serves: files/<filename> with a PEP 658
// .metadata sidecar for every wheel, and manifest.json recording for
// every file its project, version, sha256, size, origin, targets and
// whether it is private.
//
// Nothing unverified ever sits under a real name: files arrive through a
// temporary file in the same folder, are hashed while written, checked,
// synced and renamed. The manifest is written the same way.
//
// The package uses only the standard library, so that the small index
// server that goes into images can read a store.
package wheelhouse
