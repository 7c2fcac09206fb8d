package httpapi

import (
	"net/http"
)

// addRoutes lists every route the server answers.
func addRoutes(mux *http.ServeMux, d Deps) {
	a := authenticator{keys: d.Keys, sessions: d.Sessions, log: d.Logger}
	limit := func(h http.Handler) http.Handler {
		return limited(newRateLimiter(d.SignInRate, d.Now), d.TrustedProxies, d.Logger, h)
	}

	mux.Handle("GET /healthz", handleHealthz())
	mux.Handle("GET /readyz", handleReadyz(d))
	mux.Handle("GET /openapi.json", handleOpenAPI())

	mux.Handle("GET /accounts/new-api-key", a.authed(handleNewAPIKey(d.Keys, d.Logger)))
	// A GET pattern also answers HEAD, which would rotate the key and throw
	// the new one away with the body: refuse it.
	mux.Handle("HEAD /accounts/new-api-key", methodNotAllowed(d.Logger, "GET"))
	mux.Handle("GET /accounts/api-key", a.authed(handleGetAPIKey(d.Keys, d.Logger)))
	mux.Handle("DELETE /accounts/api-key", a.authed(handleRevokeAPIKey(d.Keys, d.Logger)))

	mux.Handle("POST /accounts/signin/challenge", limit(handleChallenge(d.Sessions, d.Logger)))
	mux.Handle("POST /accounts/signin", limit(handleSignIn(d.Sessions, d.Logger)))
}
