// Package registrycache keeps larder's shared cache of distribution files
// in an OCI registry (docker://REGISTRY/REPO) or an OCI layout on disk
// (oci:DIR): a file is one blob whose digest is its sha256, the hash the
// lock records, and a wheelhouse is an OCI artifact manifest listing its
// files, tagged by the lock's digest. A Cache is the fetch.Cache that
// cmd gives wheelhouse/fetch; the wheelhouse packages never link this
// one. Replication, access control and quotas are the registry's.
package registrycache
