package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"runtime/debug"
	"time"

	"github.com/espresso-auth/espresso/metrics"
	"github.com/espresso-auth/espresso/ratelimit"
)

// requestInfo collects what the access log says about a request. Only
// logRequests makes one; the steps that know something (authentication,
// handlers, writeError) record it there if it exists, through methods that
// do nothing on a nil record. Only masked keys go in it.
type requestInfo struct {
	status  int
	account string // the principal's, as authentication decided
	key     string // masked: the key the principal presented
	newKey  string // masked: the key a rotation issued
	err     error
	// aggregated marks a refusal that ratelimit.Tally logs with others of
	// its client, instead of a line of its own.
	aggregated bool
}

type infoKey struct{}

// logRecord returns the request's log record, or nil outside logRequests.
func logRecord(r *http.Request) *requestInfo {
	ri, _ := r.Context().Value(infoKey{}).(*requestInfo)
	return ri
}

func (ri *requestInfo) setPrincipal(p Principal) {
	if ri != nil {
		ri.account, ri.key = p.AccountID, p.Key.Masked
	}
}

func (ri *requestInfo) setNewKey(masked string) {
	if ri != nil {
		ri.newKey = masked
	}
}

func (ri *requestInfo) setAggregated() {
	if ri != nil {
		ri.aggregated = true
	}
}

func (ri *requestInfo) setErr(err error) {
	if ri != nil {
		ri.err = err
	}
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

// logRequests writes one JSON line per request, with the client's IP (as
// seen after the trusted proxies), and counts it in its route's counter
// (counts, by pattern; "unmatched" for none). It logs the route pattern,
// never the path or query: a client may put its key in either. Refusals
// that ratelimit.Tally logs in aggregate get no line of their own, so that
// a flood cannot fill the disk.
func logRequests(log *slog.Logger, trusted []netip.Prefix, counts map[string]*metrics.Route, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ri := &requestInfo{}
		r = r.WithContext(context.WithValue(r.Context(), infoKey{}, ri))
		next.ServeHTTP(&statusWriter{ResponseWriter: w, ri: ri}, r)
		if c := counts[routeOf(r)]; c != nil {
			c.Count(ri.status)
		}
		if ri.aggregated {
			return
		}
		attrs := make([]slog.Attr, 0, 9) // room for all: no regrowth per request
		attrs = append(attrs,
			slog.String("client", clientString(ratelimit.IP(r, trusted))),
			slog.String("method", r.Method),
			slog.String("route", routeOf(r)),
			slog.Int("status", ri.status),
			// An integer: slog encodes floats through encoding/json.
			slog.Int64("duration_us", time.Since(start).Microseconds()),
		)
		if ri.account != "" {
			attrs = append(attrs, slog.String("account_id", ri.account))
		}
		if ri.key != "" {
			attrs = append(attrs, slog.String("key", ri.key))
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

// clientString is ip as the log shows it.
func clientString(ip netip.Addr) string {
	if !ip.IsValid() {
		return "unknown"
	}
	return ip.String()
}

// unmatched is the route of a request no route matched.
const unmatched = "unmatched"

func routeOf(r *http.Request) string {
	if r.Pattern == "" {
		return unmatched
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
