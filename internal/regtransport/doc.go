// Package regtransport bounds, in time and in size, every request larder
// sends to a container registry: the shared wheel cache's, and a bake's,
// an export's or a refresh's reads of a base, a --from or a previous
// image and pushes of the result. A registry that takes the connection
// and then never answers, or sends a byte a minute, must not hang larder.
//
// New wraps a transport (remote.DefaultTransport in larder: a dial is
// cut after 30 s and a TLS handshake after 10 s). Every request then has
// Default's bounds, tests shorten them:
//
//   - the answer's headers must come within Answer (60 s) of the
//     request's start, dial and handshake included, or of the end of the
//     request's body: an upload waits for its answer only once it is sent,
//     plus the time the bytes still in the kernel's buffers (at most 4
//     MiB) may take to reach the registry at 32 KiB/s (DrainPerMiB);
//   - a request's body the registry stops taking (no byte read of it for
//     Idle, 60 s) is cut, and so is one it takes under watchdog.MinRate;
//   - an answer's body that sends nothing for Idle (60 s), or trickles
//     under watchdog.MinRate, is cut by internal/watchdog;
//   - manifests and tag lists are read whole into memory, so an answer
//     of either longer than MaxManifestBytes or MaxTagPageBytes (16 MiB)
//     is cut too. Blobs are streamed; their callers check their lengths.
//
// A cut is a *TimeoutError (or a *TooLargeError) naming the method and
// the redacted URL, within the error the caller gets.
package regtransport
