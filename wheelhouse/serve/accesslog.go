package serve

import (
	"io"
	"log/slog"
	"net/http"
	"time"
)

// accessLog logs every request at Info level, keeping the writer's
// io.ReaderFrom so that files still go out through sendfile.
func accessLog(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		lw := &loggingWriter{ResponseWriter: w, status: http.StatusOK}
		defer func() {
			log.LogAttrs(r.Context(), slog.LevelInfo, "request",
				slog.String("method", r.Method), slog.String("path", r.URL.EscapedPath()),
				slog.Int("status", lw.status), slog.Int64("bytes", lw.n),
				slog.Duration("duration", time.Since(start)), slog.String("remote", r.RemoteAddr),
				slog.String("user_agent", r.UserAgent()))
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
