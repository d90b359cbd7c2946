package serve

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// Health is what /-/healthz answers.
type Health struct {
	OK       bool   `json:"ok"`
	Server   string `json:"server"` // always "larder-index": exec mode finds a running server by it
	Version  string `json:"version"`
	Files    int    `json:"files"`
	Projects int    `json:"projects"`
	// Cached counts the verified fall-through files kept.
	Cached   int            `json:"cached_files"`
	Upstream UpstreamHealth `json:"upstream"`
	Stats    Stats          `json:"stats"`
	// LockSHA256 is the sha256 of the lock the image was baked from and
	// Baked the image's creation time (RFC 3339, UTC); both are left out
	// outside a baked image.
	LockSHA256 string `json:"lock_sha256,omitempty"`
	Baked      string `json:"baked,omitempty"`
}

// UpstreamHealth is the upstream's state: "offline" (never contacted),
// "unknown" (not contacted yet), "ok", or "unreachable" (the breaker is
// open; RetryIn says when it is tried again).
type UpstreamHealth struct {
	URL       string `json:"url,omitempty"`
	State     string `json:"state"`
	RetryIn   string `json:"retry_in,omitempty"`
	LastError string `json:"last_error,omitempty"`
	// LastSuccess is when the upstream last answered (RFC 3339, UTC).
	LastSuccess string `json:"last_success,omitempty"`
}

// Health reports the server's state.
func (s *Server) Health() Health {
	s.cacheMu.RLock()
	cached := len(s.cached.files)
	s.cacheMu.RUnlock()
	h := Health{OK: true, Server: "larder-index", Version: s.o.version, Files: len(s.baked.files), Projects: len(s.baked.projects), Cached: cached, Stats: s.Stats()}
	h.LockSHA256 = s.o.bake.lockSHA256
	if !s.o.bake.baked.IsZero() {
		h.Baked = s.o.bake.baked.Format(time.RFC3339)
	}
	switch {
	case s.up == nil:
		h.Upstream = UpstreamHealth{URL: s.o.upstream, State: "offline"}
	default:
		st := s.up.br.state(s.o.now())
		h.Upstream = UpstreamHealth{URL: s.up.base, State: "ok", LastError: st.lastError}
		if !st.lastOK.IsZero() {
			h.Upstream.LastSuccess = st.lastOK.UTC().Format(time.RFC3339)
		}
		switch {
		case st.open:
			h.Upstream.State = "unreachable"
			if st.retryIn > 0 {
				h.Upstream.RetryIn = st.retryIn.Round(time.Second).String()
			}
		case !st.everOK:
			h.Upstream.State = "unknown"
		}
	}
	return h
}

func (s *Server) serveHealth(w http.ResponseWriter, r *http.Request) {
	b, _ := json.MarshalIndent(s.Health(), "", "  ")
	b = append(b, '\n')
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	if r.Method != http.MethodHead {
		w.Write(b)
	}
}
