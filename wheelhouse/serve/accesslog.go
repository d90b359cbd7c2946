package serve

import (
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"time"
)

// accessLog logs every request at Info level, keeping the writer's
// io.ReaderFrom so that files still go out through sendfile. With trusted
// proxies, a request one of them forwarded also names its client (see
// forwardedClient); remote is always the TCP peer.
func accessLog(log *slog.Logger, next http.Handler, trusted []netip.Prefix) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		lw := &loggingWriter{ResponseWriter: w, status: http.StatusOK}
		defer func() {
			attrs := [...]slog.Attr{
				slog.String("method", r.Method), slog.String("path", r.URL.EscapedPath()),
				slog.Int("status", lw.status), slog.Int64("bytes", lw.n),
				slog.Duration("duration", time.Since(start)), slog.String("remote", r.RemoteAddr),
				slog.String("user_agent", r.UserAgent()), {},
			}
			n := len(attrs) - 1
			if client, ok := forwardedClient(r, trusted); ok {
				attrs[n] = slog.String("client", client.String())
				n++
			}
			log.LogAttrs(r.Context(), slog.LevelInfo, "request", attrs[:n]...)
		}()
		next.ServeHTTP(lw, r)
	})
}

type loggingWriter struct {
	http.ResponseWriter
	status int
	n      int64
	wrote  bool
}

func (l *loggingWriter) WriteHeader(code int) {
	if !l.wrote {
		l.status, l.wrote = code, true
	}
	l.ResponseWriter.WriteHeader(code)
}

func (l *loggingWriter) Write(b []byte) (int, error) {
	l.wrote = true
	n, err := l.ResponseWriter.Write(b)
	l.n += int64(n)
	return n, err
}

func (l *loggingWriter) ReadFrom(r io.Reader) (int64, error) {
	l.wrote = true
	var n int64
	var err error
	if rf, ok := l.ResponseWriter.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(r)
	} else {
		n, err = io.Copy(struct{ io.Writer }{l.ResponseWriter}, r)
	}
	l.n += n
	return n, err
}

func (l *loggingWriter) Flush() {
	if f, ok := l.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (l *loggingWriter) Unwrap() http.ResponseWriter { return l.ResponseWriter }
