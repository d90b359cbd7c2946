package serve

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/larder-build/larder/internal/readlimit"
	"github.com/larder-build/larder/internal/watchdog"
	"github.com/larder-build/larder/resolver/simple"
	"github.com/larder-build/larder/wheelhouse"
)

// unavailable answers a file request the upstream cannot serve now, or
// that larder refused to send upstream.
func (s *Server) unavailable(w http.ResponseWriter, err error) {
	if errors.Is(err, errRefused) {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	var ue *unreachableError
	if errors.As(err, &ue) && ue.retryIn > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(ue.retryIn.Seconds())+1))
	}
	http.Error(w, err.Error(), http.StatusServiceUnavailable)
}

// answerUpstream is getUpstream for a request that fell through: when no
// response comes, it logs msg with the file and the error and answers w
// (nothing to answer when the client went away), and returns nil.
func (s *Server) answerUpstream(ctx context.Context, w http.ResponseWriter, rawURL, msg, file string) *http.Response {
	resp, err := s.getUpstream(ctx, rawURL)
	s.writeWithin(w, 0) // from now: the upstream may have taken a while
	if err != nil {
		s.log.Warn(msg, "file", file, "err", err)
		s.unavailable(w, err)
		return nil
	}
	return resp
}

// getUpstream sends one GET upstream through the breaker. A nil response
// with a nil error means the client went away.
func (s *Server) getUpstream(ctx context.Context, rawURL string) (*http.Response, error) {
	probe, err := s.up.allow(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil, nil
		}
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		s.up.br.done()
		return nil, fmt.Errorf("fetching %s: %w", simple.RedactURL(rawURL), err)
	}
	req.Header.Set("User-Agent", s.up.userAgent)
	req.Header.Set("Via", s.up.via)
	s.stats.upstreamRequests.Add(1)
	resp, err := s.up.send(req, probe)
	if err != nil {
		if ctx.Err() != nil {
			s.up.br.done()
			return nil, nil
		}
		if errors.Is(err, errRefused) {
			// This file's problem, not the upstream's: the breaker stays.
			s.up.br.done()
			s.stats.refused.Add(1)
			return nil, fmt.Errorf("fetching %s: %w", simple.RedactURL(rawURL), err)
		}
		s.up.failed(err)
		return nil, fmt.Errorf("fetching %s: %w", simple.RedactURL(rawURL), err)
	}
	if isOutage(resp.StatusCode) {
		resp.Body.Close()
		err := fmt.Errorf("fetching %s: %s", rawURL, resp.Status)
		s.up.failed(err)
		return nil, err
	}
	s.up.br.success()
	return resp, nil
}

// proxyFile streams an upstream file to the client while hashing it into a
// temporary file of the cache. The last buffer is held back until the hash
// is checked: on a mismatch the connection is cut before the client has the
// whole file, and nothing is kept. A verified file is renamed into the
// cache, so the next request for it is local.
func (s *Server) proxyFile(w http.ResponseWriter, r *http.Request, uf *upstreamFile) {
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	if uf.sha256 != "" {
		h.Set("ETag", `"`+uf.sha256+`"`)
		h.Set("Cache-Control", immutable)
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	if r.Method == http.MethodHead {
		if uf.size >= 0 {
			h.Set("Content-Length", strconv.FormatInt(uf.size, 10))
		}
		return
	}
	if uf.sha256 != "" && etagMatch(r.Header.Get("If-None-Match"), `"`+uf.sha256+`"`) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	// One of the client's download slots, held while the file streams.
	client := requestKey(r, s.o.trustedProxies)
	if err := s.up.downloads.acquire(r.Context(), client); err != nil {
		return // the client went away
	}
	defer s.up.downloads.release(client)
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	resp := s.answerUpstream(ctx, w, uf.url, "fall-through download failed", uf.filename)
	if resp == nil {
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		s.log.Warn("fall-through download refused", "file", uf.filename, "status", resp.Status)
		code := http.StatusBadGateway
		if resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone {
			code = http.StatusNotFound
		}
		http.Error(w, "upstream: "+resp.Status, code)
		return
	}
	size := uf.size
	if size >= 0 && resp.ContentLength >= 0 && resp.ContentLength != size {
		s.stats.hashMismatches.Add(1)
		s.log.Error("upstream file has the wrong size; not serving it", "file", uf.filename, "listed", size, "sent", resp.ContentLength)
		http.Error(w, "upstream file has the wrong size", http.StatusBadGateway)
		return
	}
	if size < 0 {
		size = resp.ContentLength
	}
	var tmp *os.File
	if s.cache != nil && uf.sha256 != "" {
		var err error
		// A name of its own, not the file's with a prefix and suffix: a
		// file name may take all 255 bytes a name can have. Every
		// dot-name in files/ is a temporary one the store's next first
		// writer removes.
		tmp, err = wheelhouse.CreateTemp(filepath.Join(s.cache.Dir(), wheelhouse.FilesDir), ".fetch-*.tmp", 0o644)
		if err != nil {
			s.log.Warn("cannot cache fall-through files; serving this one uncached", "file", uf.filename, "dir", s.cache.Dir(), "err", err)
			tmp = nil
		} else {
			defer func() {
				if tmp != nil {
					tmp.Close()
					os.Remove(tmp.Name())
				}
			}()
		}
	}
	if size >= 0 {
		h.Set("Content-Length", strconv.FormatInt(size, 10))
	}
	s.stats.filesProxied.Add(1)
	w.WriteHeader(http.StatusOK)
	// The client sees the answer start at once, as from the upstream.
	http.NewResponseController(w).Flush()

	var cache io.Writer
	if tmp != nil {
		cache = tmp
	}
	n, cached, whole := s.relay(w, r, resp.Body, cancel, cache, uf.filename, uf.sha256, size)
	if !whole {
		return // the client went away
	}
	s.metrics.fetchedBytes.Add(n)
	if tmp != nil && cached {
		t := tmp
		tmp = nil
		if err := s.keep(t, uf, n); err != nil {
			s.log.Warn("cannot cache fall-through file", "file", uf.filename, "err", err)
			os.Remove(t.Name())
		}
	}
}

// relay streams body to w, hashing it (and writing it to cache, the
// fall-through cache's temporary file, when not nil) as it goes, and holds
// the last read back until the whole matches want (when not "") and size
// (when not negative): a client given wrong bytes sees a cut download,
// never a whole wrong file. A stalled read is cut after the read idle
// timeout by cancel. It returns the bytes read, whether every write to
// cache succeeded, and whether the client got it all; a failed or wrong
// body cuts the client (panics with http.ErrAbortHandler).
func (s *Server) relay(w http.ResponseWriter, r *http.Request, body io.Reader, cancel func(), cache io.Writer, file, want string, size int64) (n int64, cached, whole bool) {
	// A download that stalls is cut; every read that makes progress
	// resets the clock. One that trickles is cut too. Both count the
	// time spent waiting on the upstream alone: the idle cut runs only
	// while the upstream is read, never while the cache is written or
	// the client takes its bytes (the write idle timeout's to cut).
	idle := time.AfterFunc(s.o.readIdle, cancel)
	idle.Stop() // armed around each read: with what is left when it made no progress
	defer idle.Stop()
	var waited, stalled time.Duration
	rate := watchdog.NewMeter(s.o.readIdle)
	hash := sha256.New()
	bufs := [2][]byte{make([]byte, 64<<10), make([]byte, 64<<10)}
	var pending []byte
	for i := 0; ; i++ {
		buf := bufs[i%2]
		idle.Reset(s.o.readIdle - stalled)
		before := time.Now()
		m, rerr := body.Read(buf)
		took := time.Since(before)
		idle.Stop()
		waited += took
		stalled += took
		if m > 0 {
			stalled = 0
		}
		if err := rate.Add(int64(m), waited); err != nil && rerr == nil {
			rerr = err
		}
		if m > 0 {
			n += int64(m)
			hash.Write(buf[:m])
			if cache != nil {
				if _, err := cache.Write(buf[:m]); err != nil {
					s.log.Warn("cannot cache fall-through file", "file", file, "err", err)
					cache = nil
				}
			}
			if pending != nil {
				if _, err := (idleWriter{s, w}).Write(pending); err != nil {
					return n, cache != nil, false // the client went away
				}
			}
			pending = buf[:m]
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			// A download cut short is this file's problem, not proof that
			// the upstream is gone: the breaker stays as it is.
			if r.Context().Err() == nil {
				s.log.Warn("download cut short; cutting the client's too", "file", file, "err", rerr, "bytes", n)
			}
			panic(http.ErrAbortHandler)
		}
	}
	sum := hex.EncodeToString(hash.Sum(nil))
	if (want != "" && sum != want) || (size >= 0 && n != size) {
		s.stats.hashMismatches.Add(1)
		s.log.Error("file does not match its listing; cutting the download and keeping nothing",
			"file", file, "listed_sha256", want, "got_sha256", sum, "bytes", n)
		panic(http.ErrAbortHandler)
	}
	if pending != nil {
		if _, err := (idleWriter{s, w}).Write(pending); err != nil {
			return n, cache != nil, false
		}
	}
	return n, cache != nil, true
}

// keep renames a verified download into the cache and records it.
func (s *Server) keep(tmp *os.File, uf *upstreamFile, size int64) error {
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	final := s.cache.Path(uf.filename)
	if err := os.Rename(tmp.Name(), final); err != nil {
		return err
	}
	_, version, _ := splitFilename(uf.filename, uf.project)
	e := wheelhouse.Entry{
		Filename: uf.filename, Project: uf.project, Version: version, SHA256: uf.sha256, Size: size,
		RequiresPython: uf.requiresPython, UploadTime: uf.uploadTime,
		Origin: wheelhouse.Origin{Kind: wheelhouse.OriginIndex, URL: uf.url, Index: s.up.base},
	}
	lf := &localFile{entry: e, project: uf.project, path: final, kind: kindFetched}
	if e.IsWheel() {
		lf.metaPath, lf.metaSHA = s.cacheSidecar(uf, final)
		lf.entry.MetadataSHA256 = lf.metaSHA
	}
	if err := s.cache.Put(lf.entry); err != nil {
		return err
	}
	s.commitMu.Lock()
	err := s.cache.Commit()
	s.commitMu.Unlock()
	if err != nil {
		return err
	}
	s.cacheMu.Lock()
	s.cached.add(lf)
	s.cacheGen.Add(1)
	s.cacheMu.Unlock()
	s.stats.filesCached.Add(1)
	return nil
}

// cacheSidecar provides the PEP 658 sidecar of a cached wheel: one fetched
// earlier if it matches the listing, else the wheel's own METADATA (the
// same bytes, by the standard) when it matches the listing or the listing
// has no hash. It returns the sidecar's path and hash, or "" when it
// cannot provide one.
func (s *Server) cacheSidecar(uf *upstreamFile, wheel string) (string, string) {
	if len(uf.filename) > wheelhouse.MaxSidecarName {
		// Its sidecar's name would pass the 255 bytes a file name may
		// have: the wheel is kept, and pip reads its metadata from it.
		s.log.Info("a fall-through wheel's name is too long for a metadata sidecar; keeping the wheel without one", "file", uf.filename)
		return "", ""
	}
	p := s.cache.MetadataPath(uf.filename)
	if data := s.metas.take(uf.filename); data != nil && uf.metaSHA != "" && sha256Hex(data) == uf.metaSHA {
		if err := wheelhouse.WriteFileAtomic(p, data, 0o644); err != nil {
			return "", ""
		}
		return p, uf.metaSHA
	}
	data, err := wheelMetadata(wheel, uf.filename)
	if err != nil {
		s.log.Warn("cannot read a fall-through wheel's metadata", "file", uf.filename, "err", err)
		return "", ""
	}
	sum := sha256.Sum256(data)
	got := hex.EncodeToString(sum[:])
	if uf.metaSHA != "" && got != uf.metaSHA {
		s.log.Warn("a fall-through wheel's METADATA does not match the listed metadata hash; not advertising it", "file", uf.filename)
		return "", ""
	}
	if err := wheelhouse.WriteFileAtomic(p, data, 0o644); err != nil {
		return "", ""
	}
	return p, got
}

// wheelMetadata reads NAME-VERSION.dist-info/METADATA from a wheel.
func wheelMetadata(wheel, filename string) ([]byte, error) {
	f, size, err := wheelhouse.OpenRegularSize(wheel)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", filename, err)
	}
	defer f.Close()
	zr, err := readlimit.OpenZip(f, size, readlimit.MaxZipMembers)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", filename, err)
	}
	project, version, _ := splitFilename(filename, "")
	want := strings.ToLower(project + "-" + version + ".dist-info/METADATA")
	var found *zip.File
	for _, f := range zr.File {
		dir, base, ok := strings.Cut(f.Name, "/")
		if !ok || base != "METADATA" || !strings.HasSuffix(dir, ".dist-info") {
			continue
		}
		if strings.ToLower(f.Name) == want || found == nil {
			found = f
		}
	}
	if found == nil {
		return nil, fmt.Errorf("reading %s: no .dist-info/METADATA", filename)
	}
	rc, err := found.Open()
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", filename, err)
	}
	defer rc.Close()
	data, err := readlimit.ReadAll(rc, maxMetadataSize)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %s: %w", filename, found.Name, err)
	}
	return data, nil
}

// proxyMetadata serves an upstream file's PEP 658 metadata: from the cache
// when a verified copy is there, else fetched, verified against the listing
// and kept.
func (s *Server) proxyMetadata(w http.ResponseWriter, r *http.Request, uf *upstreamFile) {
	if !uf.meta {
		http.NotFound(w, r)
		return
	}
	var data []byte
	if uf.metaSHA != "" {
		if b := s.metas.get(uf.filename); b != nil && sha256Hex(b) == uf.metaSHA {
			data = b
		}
	}
	if data == nil {
		// One of the client's fetch slots, as a page's, held while the
		// metadata is fetched.
		client := requestKey(r, s.o.trustedProxies)
		if err := s.up.fetches.acquire(r.Context(), client); err != nil {
			return // the client went away
		}
		defer s.up.fetches.release(client)
		ctx, cancel := context.WithTimeout(r.Context(), s.o.pageTimeout)
		defer cancel()
		resp := s.answerUpstream(ctx, w, uf.url+".metadata", "fall-through metadata failed", uf.filename)
		if resp == nil {
			return
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			http.Error(w, "upstream: "+resp.Status, http.StatusBadGateway)
			return
		}
		var err error
		data, err = readlimit.ReadAll(resp.Body, maxMetadataSize)
		if err != nil {
			http.Error(w, "upstream metadata unreadable", http.StatusBadGateway)
			return
		}
		if uf.metaSHA != "" {
			if sha256Hex(data) != uf.metaSHA {
				s.stats.hashMismatches.Add(1)
				s.log.Error("upstream metadata does not match its listing; not serving it", "file", uf.filename)
				http.Error(w, "upstream metadata does not match its hash", http.StatusBadGateway)
				return
			}
			// Kept in memory until its wheel is cached: a sidecar on disk
			// without its wheel would be an orphan in the cache.
			s.metas.put(uf.filename, data)
		}
	}
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	if uf.metaSHA != "" {
		h.Set("ETag", `"`+uf.metaSHA+`"`)
		h.Set("Cache-Control", immutable)
	}
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// metaMemo keeps verified upstream metadata in memory, up to
// metaMemoBytes, until its wheel is cached beside it (pip reads the
// metadata of many versions and downloads one).
type metaMemo struct {
	mu    sync.Mutex
	m     map[string][]byte
	bytes int
}

const metaMemoBytes = 4 << 20

func (c *metaMemo) get(name string) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[name]
}

// take returns and forgets an entry.
func (c *metaMemo) take(name string) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	b := c.m[name]
	if b != nil {
		delete(c.m, name)
		c.bytes -= len(b)
	}
	return b
}

func (c *metaMemo) put(name string, b []byte) {
	if len(b) > metaMemoBytes/4 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || c.bytes+len(b) > metaMemoBytes {
		c.m, c.bytes = map[string][]byte{}, 0
	}
	if old := c.m[name]; old != nil {
		c.bytes -= len(old)
	}
	c.m[name] = b
	c.bytes += len(b)
}
