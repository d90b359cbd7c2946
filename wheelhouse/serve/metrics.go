package serve

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// requestKind is what a request asked for, as /metrics counts requests.
type requestKind int

const (
	reqOverview requestKind = iota
	reqRoot
	reqProject
	reqFile
	reqMetadata
	reqUpload
	reqHealth
	reqMetrics
	reqOther
	numRequestKinds
)

var requestKindNames = [numRequestKinds]string{"overview", "simple_root", "project_page", "file", "metadata", "upload", "health", "metrics", "other"}

// classify names a request's kind from its path alone, before routing.
func classify(r *http.Request) requestKind {
	p := r.URL.Path
	switch {
	case r.Method == http.MethodPost:
		return reqUpload
	case p == "/" || strings.HasPrefix(p, "/project/"):
		return reqOverview // the pages for people
	case p == "/simple/" || p == "/simple":
		return reqRoot
	case strings.HasPrefix(p, "/simple/"):
		return reqProject
	case strings.HasPrefix(p, "/files/") && strings.HasSuffix(p, ".metadata"):
		return reqMetadata
	case strings.HasPrefix(p, "/files/"):
		return reqFile
	case p == "/-/healthz":
		return reqHealth
	case p == "/metrics":
		return reqMetrics
	}
	return reqOther
}

// Upload results, as /metrics counts them.
type uploadResult int

const (
	uploadStored uploadResult = iota
	uploadExisting
	uploadConflict
	uploadRefused
	uploadUnauthorized
	numUploadResults
)

// fileKindLabels label files served from disk by fileKind.
var fileKindLabels = [numFileKinds]string{"baked", "fork_build", "sdist_build", "fetched_through", "uploaded"}

var uploadResultNames = [numUploadResults]string{"stored", "existing", "conflict", "refused", "unauthorized"}

// metrics are the counters /metrics exposes beyond Stats.
type metrics struct {
	requests    [numRequestKinds]atomic.Int64
	localFiles  [numFileKinds]atomic.Int64 // files served from disk, by kind
	localBytes  [numFileKinds]atomic.Int64
	uploads     [numUploadResults]atomic.Int64
	uploadBytes atomic.Int64
	unauthReads atomic.Int64
	// fetchedBytes are the bytes of files fetched through, verified and
	// served whole.
	fetchedBytes atomic.Int64

	upstreamLatency histogram
}

// latencyBuckets are the upper bounds, in seconds, of the upstream latency
// histogram: from a nearby mirror to the page timeout.
var latencyBuckets = [...]float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// histogram counts durations into latencyBuckets, lock-free.
type histogram struct {
	counts [len(latencyBuckets) + 1]atomic.Int64 // the last is +Inf
	sumNs  atomic.Int64
}

// since records the time from start to now.
func (h *histogram) since(start time.Time) {
	d := time.Since(start)
	i := 0
	for i < len(latencyBuckets) && d.Seconds() > latencyBuckets[i] {
		i++
	}
	h.counts[i].Add(1)
	h.sumNs.Add(int64(d))
}

// write appends the histogram's samples: cumulative buckets, sum, count.
func (h *histogram) write(b *strings.Builder, name string) {
	var cum int64
	for i, le := range latencyBuckets {
		cum += h.counts[i].Load()
		fmt.Fprintf(b, "%s_bucket{le=\"%s\"} %d\n", name, strconv.FormatFloat(le, 'g', -1, 64), cum)
	}
	cum += h.counts[len(latencyBuckets)].Load()
	fmt.Fprintf(b, "%s_bucket{le=\"+Inf\"} %d\n", name, cum)
	fmt.Fprintf(b, "%s_sum %s\n", name, strconv.FormatFloat(time.Duration(h.sumNs.Load()).Seconds(), 'g', -1, 64))
	fmt.Fprintf(b, "%s_count %d\n", name, cum)
}

func (m *metrics) request(r *http.Request) { m.requests[classify(r)].Add(1) }

func (m *metrics) upload(res uploadResult, bytes int64) {
	m.uploads[res].Add(1)
	m.uploadBytes.Add(bytes)
}

// servedLocal counts a whole file (not a range or a 304) served from disk.
func (m *metrics) servedLocal(k fileKind, bytes int64) {
	m.localFiles[k].Add(1)
	m.localBytes[k].Add(bytes)
}

// serveMetrics answers /metrics in the Prometheus text exposition format
// (version 0.0.4), written by hand: the server links no client library.
func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) {
	var b strings.Builder
	family := func(name, typ, help string) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
	}
	sample := func(name, labels string, v int64) {
		if labels != "" {
			labels = "{" + labels + "}"
		}
		b.WriteString(name + labels + " " + strconv.FormatInt(v, 10) + "\n")
	}
	m := &s.metrics
	family("larder_requests_total", "counter", "Requests received, by what they asked for.")
	for k := range numRequestKinds {
		sample("larder_requests_total", `kind="`+requestKindNames[k]+`"`, m.requests[k].Load())
	}
	family("larder_files_served_total", "counter", "Whole files served from disk, by where they came from (baked, fetched through earlier, uploaded, built).")
	for k := range numFileKinds {
		sample("larder_files_served_total", `source="`+fileKindLabels[k]+`"`, m.localFiles[k].Load())
	}
	family("larder_file_bytes_served_total", "counter", "Bytes of whole files served from disk, by where they came from.")
	for k := range numFileKinds {
		sample("larder_file_bytes_served_total", `source="`+fileKindLabels[k]+`"`, m.localBytes[k].Load())
	}
	st := s.Stats()
	counters := []struct {
		name, help string
		v          int64
	}{
		{"larder_files_fetched_through_total", "Files streamed from the upstream to a client (a miss of the wheelhouse).", st.FilesProxied},
		{"larder_files_cached_total", "Fetched-through files verified and kept on disk.", st.FilesCached},
		{"larder_fetched_through_bytes_total", "Bytes of files fetched through from the upstream, verified and served whole.", m.fetchedBytes.Load()},
		{"larder_hash_mismatches_total", "Upstream files refused because their hash did not match.", st.HashMismatches},
		{"larder_refused_total", "Upstream requests refused: disallowed file hosts, this server's own address, loops.", st.Refused},
		{"larder_connections_refused_total", "Connections answered 503 because their client had its share open.", st.ConnsRefused},
		{"larder_upstream_requests_total", "Requests sent to the upstream: pages, files, metadata.", st.UpstreamRequests},
		{"larder_upstream_failures_total", "Upstream requests that failed for the upstream's sake (refused, timed out, 5xx).", st.UpstreamFailures},
		{"larder_upstream_skipped_total", "Upstream requests the open breaker answered instead.", st.UpstreamSkipped},
		{"larder_upstream_pages_fetched_total", "Upstream pages downloaded.", st.PagesFetched},
		{"larder_upstream_pages_revalidated_total", "Upstream pages confirmed unchanged (304).", st.PagesRevalidated},
		{"larder_upstream_pages_cached_total", "Upstream pages answered from memory.", st.PagesCached},
		{"larder_unauthorized_reads_total", "Reads refused for missing or wrong credentials.", m.unauthReads.Load()},
		{"larder_upload_bytes_total", "Bytes of uploads stored.", m.uploadBytes.Load()},
	}
	for _, c := range counters {
		family(c.name, "counter", c.help)
		sample(c.name, "", c.v)
	}
	family("larder_uploads_total", "counter", "Uploads, by result.")
	for k := range numUploadResults {
		sample("larder_uploads_total", `result="`+uploadResultNames[k]+`"`, m.uploads[k].Load())
	}
	family("larder_upstream_latency_seconds", "histogram", "Time from an upstream request to its answer's headers (pages, files, metadata; failures included).")
	m.upstreamLatency.write(&b, "larder_upstream_latency_seconds")
	h := s.Health()
	family("larder_upstream_up", "gauge", "1 when the upstream's breaker is closed, 0 when open or offline.")
	up := int64(0)
	if h.Upstream.State == "ok" || h.Upstream.State == "unknown" {
		up = 1
	}
	sample("larder_upstream_up", "", up)
	family("larder_upstream_state", "gauge", "The upstream's state: 1 for the current one.")
	for _, state := range []string{"offline", "unknown", "ok", "unreachable"} {
		v := int64(0)
		if h.Upstream.State == state {
			v = 1
		}
		sample("larder_upstream_state", `state="`+state+`"`, v)
	}
	family("larder_wheelhouse_files", "gauge", "Files of the wheelhouse when the server started.")
	sample("larder_wheelhouse_files", "", int64(h.Files))
	family("larder_cached_files", "gauge", "Fetched-through files kept on disk.")
	sample("larder_cached_files", "", int64(h.Cached))

	hd := w.Header()
	hd.Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	hd.Set("Cache-Control", "no-store")
	hd.Set("Content-Length", strconv.Itoa(b.Len()))
	if r.Method != http.MethodHead {
		io.WriteString(w, b.String())
	}
}
