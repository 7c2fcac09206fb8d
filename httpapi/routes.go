package httpapi

import (
	"net/http"

	"github.com/espresso-auth/espresso/dashboard"
)

// addRoutes lists every route the server answers.
func addRoutes(mux *http.ServeMux, d Deps) {
	authed := func(h http.Handler) http.Handler { return requireAuth(d.Keys, d.Tokens, d.Logger, h) }
	limit := func(h http.Handler) http.Handler {
		return limited(newRateLimiter(d.SignInRate, d.Now), d.TrustedProxies, d.Logger, h)
	}

	mux.Handle("GET /healthz", handleHealthz())
	mux.Handle("GET /readyz", handleReadyz(d))
	mux.Handle("GET /openapi.json", handleOpenAPI())

	mux.Handle("GET /accounts/new-api-key", authed(handleNewAPIKey(d.Keys, d.Logger)))
	// A GET pattern also answers HEAD, which would rotate the key and throw
	// the new one away with the body: refuse it.
	mux.Handle("HEAD /accounts/new-api-key", methodNotAllowed(d.Logger, "GET"))
	mux.Handle("GET /accounts/api-key", authed(handleGetAPIKey(d.Keys, d.Logger)))
	mux.Handle("DELETE /accounts/api-key", authed(handleRevokeAPIKey(d.Keys, d.Logger)))

	mux.Handle("POST /accounts/signin/challenge", limit(handleChallenge(d.SignIn, d.Logger)))
	mux.Handle("POST /accounts/signin", limit(handleSignIn(d.SignIn, d.Logger)))

	dashboard.Register(mux) // GET / and GET /assets/…: the web page
}
