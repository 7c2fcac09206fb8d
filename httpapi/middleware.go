package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"path"
	"runtime/debug"
	"time"

	"github.com/espresso-auth/espresso/auth"
)

// requestInfo collects what the access log says about a request. Handlers
// and the authentication step fill it in; only masked keys go in it.
type requestInfo struct {
	status    int
	principal auth.Principal // set by the authentication step
	newKey    string         // masked: the key a rotation issued
	err       error
}

type infoKey struct{}

// info returns the request's log record (a throwaway one outside logRequests,
// so handlers never need to check).
func info(r *http.Request) *requestInfo {
	if ri, ok := r.Context().Value(infoKey{}).(*requestInfo); ok {
		return ri
	}
	return &requestInfo{}
}

// statusWriter remembers the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	ri *requestInfo
}

func (w *statusWriter) WriteHeader(code int) {
	if w.ri.status == 0 {
		w.ri.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.ri.status == 0 {
		w.ri.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// logRequests writes one JSON line per request. It logs the route pattern,
// never the path or query: a client may put its key in either.
func logRequests(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ri := &requestInfo{}
		r = r.WithContext(context.WithValue(r.Context(), infoKey{}, ri))
		next.ServeHTTP(&statusWriter{ResponseWriter: w, ri: ri}, r)
		attrs := make([]slog.Attr, 0, 8) // room for all: no regrowth per request
		attrs = append(attrs,
			slog.String("method", r.Method),
			slog.String("route", routeOf(r)),
			slog.Int("status", ri.status),
			// An integer: slog encodes floats through encoding/json.
			slog.Int64("duration_us", time.Since(start).Microseconds()),
		)
		if p := ri.principal; p.AccountID != "" {
			attrs = append(attrs, slog.String("account_id", p.AccountID))
		}
		if p := ri.principal; p.HasKey() {
			attrs = append(attrs, slog.String("key", p.Key.Masked))
		}
		if ri.newKey != "" {
			attrs = append(attrs, slog.String("new_key", ri.newKey))
		}
		if ri.err != nil && ri.status < 500 {
			// 5xx details were logged where they happened.
			attrs = append(attrs, slog.String("reason", ri.err.Error()))
		}
		log.LogAttrs(r.Context(), slog.LevelInfo, "request", attrs...)
	})
}

func routeOf(r *http.Request) string {
	if r.Pattern == "" {
		return "unmatched"
	}
	return r.Pattern
}

// recoverPanics turns a panic into a logged 500 so one bad request cannot
// take the server down.
func recoverPanics(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				log.ErrorContext(r.Context(), "panic serving request", "route", routeOf(r), "panic", v, "stack", string(debug.Stack()))
				writeJSON(w, errInternal.Status, errInternal)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// route dispatches to mux, answering unknown paths (404) and wrong methods
// (405, with Allow) in the platform's error format instead of ServeMux's
// plain text, and refusing non-canonical paths instead of redirecting them.
func route(mux *http.ServeMux, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		if p == "" || p[0] != '/' || path.Clean(p) != p {
			writeError(w, r, log, errNotFound)
			return
		}
		h, pattern := mux.Handler(r)
		if pattern == "" {
			rec := &headerRecorder{header: http.Header{}}
			h.ServeHTTP(rec, r)
			if rec.status == http.StatusMethodNotAllowed {
				w.Header()["Allow"] = rec.header["Allow"]
				writeError(w, r, log, errMethodNotAllowed)
				return
			}
			writeError(w, r, log, errNotFound)
			return
		}
		r.Pattern = pattern
		h.ServeHTTP(w, r)
	})
}

// headerRecorder captures the status and headers of ServeMux's own 404 and
// 405 handlers and drops their plain-text bodies.
type headerRecorder struct {
	header http.Header
	status int
}

func (h *headerRecorder) Header() http.Header         { return h.header }
func (h *headerRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (h *headerRecorder) WriteHeader(code int)        { h.status = code }

// methodNotAllowed answers 405 for a method that a pattern would otherwise
// accept.
func methodNotAllowed(log *slog.Logger, allow string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		writeError(w, r, log, errMethodNotAllowed)
	})
}
