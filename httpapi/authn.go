package httpapi

import (
	"log/slog"
	"net/http"

	"github.com/espresso-auth/espresso/auth"
)

// principal returns the account an authenticated request acts for. It
// lives in the request's log record, which saves a request copy per call.
func principal(r *http.Request) auth.Principal { return info(r).principal }

// requireAuth lets a request through only with a valid X-API-KEY. A missing,
// repeated, malformed, unknown or revoked key gets 4010, whatever the reason:
// the answer must not help anyone probe for keys.
func requireAuth(keys *auth.Service, log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		values := r.Header.Values("X-Api-Key")
		if len(values) != 1 {
			writeError(w, r, log, errUnauthorized)
			return
		}
		p, err := keys.VerifyKey(r.Context(), values[0])
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		info(r).principal = p
		next.ServeHTTP(w, r)
	})
}
