// Package fetch fills a wheelhouse.Store with what a PEP 751 lock needs:
// it downloads every wheel and sdist the lock lists, verifying the size
// and sha256 of each while it is written, builds wheels from sdists and
// git checkouts through a build.Builder, writes every wheel's PEP 658
// sidecar and the static simple index, and shares downloads between
// stores through a content-addressed user cache.
//
// It also checks a store against a lock (Verify) and prunes what no lock
// needs any more (GC).
//
// A download goes to a temporary file in the store's files/ folder whose
// name starts with a dot, is synced and renamed only once its hash
// matches, and is removed on any error: an interrupted or failed fetch
// never leaves a file under a real name. The manifest is committed every
// few seconds and at the end, whatever the outcome, so that a cancelled
// fetch keeps what finished and the next one downloads only the rest.
package fetch
