package serve

import "sync/atomic"

// counters are the server's statistics.
type counters struct {
	upstreamRequests, upstreamFailures, upstreamSkipped atomic.Int64
	pagesFetched, pagesRevalidated, pagesCached         atomic.Int64
	filesProxied, filesCached, hashMismatches           atomic.Int64
	refused, connsRefused                               atomic.Int64
}

// Stats counts what the server did since it started.
type Stats struct {
	// UpstreamRequests are requests sent upstream: pages, files, metadata.
	UpstreamRequests int64 `json:"upstream_requests"`
	// UpstreamFailures are those that failed for the upstream's sake
	// (refused, timed out, 5xx).
	UpstreamFailures int64 `json:"upstream_failures"`
	// UpstreamSkipped counts requests the open breaker answered instead.
	UpstreamSkipped int64 `json:"upstream_skipped"`
	// PagesFetched, PagesRevalidated and PagesCached count upstream pages
	// downloaded, confirmed by 304, and used from the cache.
	PagesFetched     int64 `json:"pages_fetched"`
	PagesRevalidated int64 `json:"pages_revalidated"`
	PagesCached      int64 `json:"pages_cached"`
	// FilesProxied counts upstream files streamed to clients, FilesCached
	// those verified and kept, HashMismatches those refused.
	FilesProxied   int64 `json:"files_proxied"`
	FilesCached    int64 `json:"files_cached"`
	HashMismatches int64 `json:"hash_mismatches"`
	// Refused counts upstream requests larder would not send: files on
	// hosts the upstream may not name, this server's own address, too
	// many redirects, and requests that came from this server itself.
	Refused int64 `json:"refused"`
	// ConnsRefused counts connections answered 503 and closed because
	// their client had its share of connections open.
	ConnsRefused int64 `json:"conns_refused"`
}

// Stats returns the server's counters.
func (s *Server) Stats() Stats {
	c := &s.stats
	return Stats{
		UpstreamRequests: c.upstreamRequests.Load(), UpstreamFailures: c.upstreamFailures.Load(), UpstreamSkipped: c.upstreamSkipped.Load(),
		PagesFetched: c.pagesFetched.Load(), PagesRevalidated: c.pagesRevalidated.Load(), PagesCached: c.pagesCached.Load(),
		FilesProxied: c.filesProxied.Load(), FilesCached: c.filesCached.Load(), HashMismatches: c.hashMismatches.Load(),
		Refused: c.refused.Load(), ConnsRefused: c.connsRefused.Load(),
	}
}
