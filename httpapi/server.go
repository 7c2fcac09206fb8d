// Package httpapi is espresso's HTTP interface: the route table, the
// handlers, authentication of requests, and the table that turns errors
// into the platform's {"code", "error", "msg"} answers.
package httpapi

import (
	"log"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/espresso-auth/espresso/keys"
	"github.com/espresso-auth/espresso/metrics"
	"github.com/espresso-auth/espresso/ratelimit"
	"github.com/espresso-auth/espresso/sessions"
	"github.com/espresso-auth/espresso/spot"
)

// Deps are what the HTTP interface needs.
type Deps struct {
	Keys     *keys.Service
	Sessions *sessions.Service
	Spot     *spot.Service
	Logger   *slog.Logger
	// Metrics receives the server's measurements; if nil, a registry of its
	// own that nobody reads.
	Metrics *metrics.Metrics
	// SignInRate is how many challenge and sign-in requests a client may
	// make a minute (each has its own budget); default 30. FailureRate is
	// the budget of failed credentials; default 20 a minute, burst 20.
	// Both are ignored when Limits is given.
	SignInRate  int
	FailureRate ratelimit.Rate
	// Limits are the budgets; if nil, node-local ones of the rates above,
	// whose failure log is never written (the caller that wants it makes
	// Limits and runs it).
	Limits *ratelimit.Limits
	// TrustedProxies are the peers whose X-Forwarded-For names the client.
	TrustedProxies []netip.Prefix
	Now            func() time.Time // default time.Now
}

// NewServer returns the handler for every route, with request logging,
// request metrics and panic recovery around it.
func NewServer(d Deps) http.Handler {
	d = d.withDefaults()
	table := routes(d)
	s := &server{}
	counts := map[string]*metrics.Route{unmatched: d.Metrics.Route(unmatched)}
	for _, r := range table {
		if r.quiet {
			s.quietPath, s.quiet = r.path, recoverPanics(d.Logger, r.handler)
			continue
		}
		counts[r.pattern()] = d.Metrics.Route(r.pattern())
	}
	s.rest = logRequests(d.Logger, d.TrustedProxies, counts, recoverPanics(d.Logger, newRouter(table, d.Logger)))
	if len(d.TrustedProxies) == 0 {
		s.hint = &proxyHint{log: d.Logger}
	}
	return s
}

// newHandler is NewServer without the access log and the dispatch of the
// forward-auth check: the routes alone, as the router serves them.
func newHandler(d Deps) http.Handler {
	d = d.withDefaults()
	return recoverPanics(d.Logger, newRouter(routes(d), d.Logger))
}

func (d Deps) withDefaults() Deps {
	if d.SignInRate <= 0 {
		d.SignInRate = 30
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Metrics == nil {
		d.Metrics = metrics.New()
	}
	if d.Limits == nil {
		d.Limits = ratelimit.New(ratelimit.Config{SignIn: ratelimit.Rate{PerMinute: d.SignInRate, Burst: d.SignInRate},
			Failures: d.FailureRate, Logger: d.Logger, Now: d.Now})
	}
	return d
}

// server sends the forward-auth check (the quiet route) straight to its
// handler, and every other request through the access log to the router.
// A gateway asks the check on every request it passes: most of espresso's
// traffic behind one, and the log line, its context value and the request
// copy would cost more than the check itself. The check is counted in the
// metrics instead, and its failures that matter (5xx) are logged where
// they happen, as for every route.
type server struct {
	quietPath string // the check's path; it answers every path below it too
	quiet     http.Handler
	rest      http.Handler
	hint      *proxyHint // nil when some proxy is trusted
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.TransferEncoding != nil {
		// RFC 9112 §6.3: after a request with both Transfer-Encoding and
		// Content-Length, the connection must close, lest a proxy that read
		// the body by the other header smuggle a request in. net/http drops
		// Content-Length before a handler sees it, so every chunked request
		// closes its connection: chunked requests are rare here.
		w.Header().Set("Connection", "close")
	}
	if s.hint != nil {
		s.hint.check(r)
	}
	if p := r.URL.Path; s.quiet != nil && strings.HasPrefix(p, s.quietPath) &&
		(len(p) == len(s.quietPath) || p[len(s.quietPath)] == '/') {
		r.Pattern = s.quietPath
		s.quiet.ServeHTTP(w, r)
		return
	}
	s.rest.ServeHTTP(w, r)
}

// NewHTTPServer returns the http.Server espresso runs h with: timeouts so a
// slow client cannot hold a connection, a 64 KiB header limit (larger
// headers get net/http's own 431), and no built-in answer to "OPTIONS *".
func NewHTTPServer(h http.Handler, errorLog *log.Logger) *http.Server {
	return &http.Server{
		Handler:                      h,
		ReadHeaderTimeout:            5 * time.Second,
		ReadTimeout:                  10 * time.Second,
		WriteTimeout:                 10 * time.Second,
		IdleTimeout:                  2 * time.Minute,
		MaxHeaderBytes:               64 << 10,
		DisableGeneralOptionsHandler: true,
		ErrorLog:                     errorLog,
	}
}
