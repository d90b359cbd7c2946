// Package layers turns a wheelhouse, the larder-index binary and its
// configuration into reproducible tar layers, and decides which file goes
// into which layer.
//
// A layer is a function of its content: entries sorted by path, every
// parent folder present, a fixed modification time, uid and gid 0, fixed
// modes, no extended attributes, and PAX headers only where USTAR cannot
// hold a name. The same files give the same bytes, and so the same digest,
// on any machine at any time.
//
// The wheelhouse is spread over stable buckets (files assigned by a hash of
// their project's name, pure-Python files apart from platform files so
// that the pure layers are the same blobs in every platform's image), a
// pages layer holding the static simple index as it was when the buckets
// were laid out, and a small delta layer on top that takes every change:
// added files, whiteouts, the manifest, and the pages that differ from
// the pages layer's. The layout is recorded in the image, so that the next
// bake on any machine keeps every bucket and the pages layer and replaces
// only the delta: Docker and containerd key extracted layers by the chain
// of every layer below, so a change low in the stack would re-pull and
// re-extract everything above it.
//
// The package never talks to a registry: images assembles the layers onto
// a base and writes them out.
package layers
