// Package index is a client for Python package indexes that speak the
// simple repository API: PEP 691 JSON first, PEP 503 HTML as the fallback,
// PEP 592 yanking, PEP 700 versions and sizes, and PEP 658/714 metadata
// files. Pages are read by resolver/simple, the codec the static index and
// the server write with.
//
// Metadata is read without downloading whole wheels where possible: the
// advertised .metadata file (verified against its hash), else HTTP range
// requests that read METADATA out of the wheel's zip central directory,
// else a full download as the last resort. Responses are cached on disk:
// pages are revalidated with ETag and Last-Modified, and metadata, which
// is immutable for a given file hash, is never fetched twice.
package index
