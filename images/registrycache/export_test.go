package registrycache

// KeptTTL, UploadSettle and TagCheckEvery are keptTTL, uploadSettle
// and tagCheckEvery, for the tests.
const (
	KeptTTL       = keptTTL
	UploadSettle  = uploadSettle
	TagCheckEvery = tagCheckEvery
)

// HeldTags is how many tags s holds the files of, to ask only whether
// they changed.
func HeldTags(s *Served) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.seen)
}

// WithTimeouts shortens the time a Cache waits for an answer, for a byte
// of one, and for the ping and token exchange.
var WithTimeouts = withTimeouts

// OnTransportWait has f run each time a caller of c that found no
// transport waits for the flight making one (the ping and token
// exchange). It is set before c is used.
func OnTransportWait(c *Cache, f func()) {
	c.read.testHookWaiting = f
	c.write.testHookWaiting = f
}
