package httpapi

import (
	"log/slog"
	"net/http"
	"path"
	"slices"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/espresso-auth/espresso/dashboard"
	"github.com/espresso-auth/espresso/ratelimit"
)

// route is one entry of the server's route table.
type route struct {
	method, path string // method "": every method
	handler      http.Handler
	// refused marks a method refused on purpose: it answers 405 and is not
	// served, documented or listed in Allow. It exists to override what
	// ServeMux would otherwise do (a GET pattern also answers HEAD).
	refused bool
	// page marks the dashboard's HTML and assets: served, but not API
	// routes, so not in the OpenAPI document.
	page bool
	// quiet marks the forward-auth check, which a gateway asks on every
	// request it passes: it is answered before the access log and counted
	// in metrics only (see server), and it answers every path below its
	// own too, since Envoy's ext_authz appends the original request's path.
	quiet bool
}

func (rt route) pattern() string {
	if rt.method == "" {
		return rt.path
	}
	return rt.method + " " + rt.path
}

// routes is every route the server answers, in one table: the mux is
// built from it, and the tests read it (every served route is documented).
func routes(d Deps) []route {
	d = d.withDefaults()
	a := authenticator{keys: d.Keys, sessions: d.Sessions, log: d.Logger,
		verifyKey: d.Metrics.VerifyKey, verifyToken: d.Metrics.VerifyToken,
		limits: d.Limits, trusted: d.TrustedProxies, throttled: d.Metrics.RateLimited("credentials")}
	limit := func(l *ratelimit.Limiter, h http.Handler, refused prometheus.Counter) http.Handler {
		return limited(l, d.Limits, d.TrustedProxies, d.Logger, refused, h)
	}
	challengeLimited, signInLimited := d.Metrics.RateLimited("challenge"), d.Metrics.RateLimited("signin")
	table := []route{
		// Every method: gateways forward the original request's.
		{path: "/auth/verify", handler: handleVerify(a, d.Metrics.Route("/auth/verify"), d.Logger), quiet: true},

		{method: "GET", path: "/healthz", handler: handleHealthz()},
		{method: "GET", path: "/readyz", handler: handleReadyz(d)},
		{method: "GET", path: "/openapi.json", handler: handleOpenAPI()},

		{method: "GET", path: "/accounts/new-api-key", handler: a.authed(handleNewAPIKey(d.Keys, d.Metrics.Rotation, d.Logger))},
		// HEAD would rotate the key and throw the new one away with the
		// body.
		{method: "HEAD", path: "/accounts/new-api-key", refused: true},
		{method: "GET", path: "/accounts/api-key", handler: a.authed(handleGetAPIKey(d.Keys, d.Logger))},
		{method: "DELETE", path: "/accounts/api-key", handler: a.authed(handleRevokeAPIKey(d.Keys, d.Logger))},

		{method: "POST", path: "/accounts/signin/challenge", handler: limit(d.Limits.Challenge, handleChallenge(d.Sessions, d.Logger), challengeLimited)},
		{method: "POST", path: "/accounts/signin", handler: limit(d.Limits.SignIn, handleSignIn(d.Sessions, d.Metrics.SignIn, d.Logger), signInLimited)},
		// A key has no session to end; it may end them all.
		{method: "POST", path: "/accounts/signout", handler: a.signedIn(handleSignOut(d.Sessions, d.Logger))},
		{method: "GET", path: "/accounts/sessions", handler: a.authed(handleListSessions(d.Sessions, d.Logger))},
		{method: "DELETE", path: "/accounts/sessions", handler: a.authed(handleEndSessions(d.Sessions, d.Logger))},

		// A bot reads its operation key with its API key; changing it
		// takes a sign-in token (a wallet's proof).
		{method: "GET", path: "/accounts/operation-key", handler: a.authed(handleGetOperationKey(d.Spot, d.Logger))},
		{method: "GET", path: "/accounts/spot-account", handler: a.authed(handleGetSpotAccount(d.Spot, d.Logger))},
		{method: "POST", path: "/accounts/spot-account", handler: a.signedIn(handleCreateSpotAccount(d.Spot, d.Logger))},
		{method: "PATCH", path: "/accounts/spot-account", handler: a.signedIn(handleReencryptOperationKey(d.Spot, d.Logger))},
		{method: "PUT", path: "/accounts/spot-account", handler: a.signedIn(handleReencryptOperationKey(d.Spot, d.Logger))},
	}
	// The web page (GET / and its assets): not part of the API, so not in
	// its OpenAPI document.
	for _, p := range dashboard.Routes() {
		table = append(table, route{method: "GET", path: p.Path, handler: p.Handler, page: true})
	}
	return table
}

// router dispatches requests along a route table, answering unknown paths
// (404) and wrong methods (405, with Allow) in the platform's error format
// instead of ServeMux's plain text, and refusing non-canonical paths
// instead of redirecting them.
type router struct {
	mux   *http.ServeMux
	allow map[string]string // path → the Allow header of its 405s
	log   *slog.Logger
}

// newRouter registers every route of table on a new ServeMux.
func newRouter(table []route, log *slog.Logger) *router {
	rt := &router{mux: http.NewServeMux(), allow: allowed(table), log: log}
	for _, r := range table {
		h := r.handler
		if r.refused {
			h = rt.methodNotAllowed(r.path)
		}
		rt.mux.Handle(r.pattern(), h)
	}
	return rt
}

// allowed returns, for each path of table, the methods it serves: a GET
// also serves HEAD, unless HEAD is refused.
func allowed(table []route) map[string]string {
	methods := map[string][]string{}
	refused := map[string]bool{}
	for _, r := range table {
		if r.refused {
			refused[r.pattern()] = true
			continue
		}
		if r.method == "" {
			continue // every method: never 405
		}
		methods[r.path] = append(methods[r.path], r.method)
		if r.method == http.MethodGet {
			methods[r.path] = append(methods[r.path], http.MethodHead)
		}
	}
	allow := map[string]string{}
	for p, ms := range methods {
		ms = slices.DeleteFunc(ms, func(m string) bool { return refused[m+" "+p] })
		slices.Sort(ms)
		allow[p] = strings.Join(slices.Compact(ms), ", ")
	}
	return allow
}

func (rt *router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	if p == "" || p[0] != '/' || path.Clean(p) != p {
		writeError(w, r, rt.log, errNotFound)
		return
	}
	h, pattern := rt.mux.Handler(r)
	if pattern == "" {
		rec := &headerRecorder{header: http.Header{}}
		h.ServeHTTP(rec, r)
		if rec.status != http.StatusMethodNotAllowed {
			writeError(w, r, rt.log, errNotFound)
			return
		}
		if allow, ok := rt.allow[p]; ok {
			w.Header().Set("Allow", allow)
		} else {
			w.Header()["Allow"] = rec.header["Allow"]
		}
		writeError(w, r, rt.log, errMethodNotAllowed)
		return
	}
	r.Pattern = pattern
	h.ServeHTTP(w, r)
}

// methodNotAllowed answers 405 for a method refused on path.
func (rt *router) methodNotAllowed(path string) http.Handler {
	allow := rt.allow[path]
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		writeError(w, r, rt.log, errMethodNotAllowed)
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

// APIRoutes returns the "METHOD /path" pattern of every API route the
// server answers: what its OpenAPI document describes, without the
// dashboard's pages and the methods refused on purpose. It exists for
// tests that must cover every route.
func APIRoutes() []string {
	var patterns []string
	for _, r := range routes(Deps{}) {
		if !r.refused && !r.page {
			patterns = append(patterns, r.pattern())
		}
	}
	return patterns
}
