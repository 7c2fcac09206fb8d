package httpapi

import (
	"log/slog"
	"net/http"
	"strings"

	"github.com/espresso-auth/espresso/auth"
)

// principal returns the account an authenticated request acts for. It
// lives in the request's log record, which saves a request copy per call.
func principal(r *http.Request) auth.Principal { return info(r).principal }

// requireAuth lets a request through only with valid credentials: an API key
// in X-API-KEY, a session token in Authorization (bare, as the platform's web
// app sends it, or after "Bearer "), or both, in which case both must be
// valid and belong to the same account. Anything else, a repeated header
// included, gets 4010 whatever the reason: the answer must not help anyone
// probe for keys.
func requireAuth(keys *auth.Service, tokens *auth.Tokens, log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		apiKeys, authz := r.Header.Values("X-Api-Key"), r.Header.Values("Authorization")
		if len(apiKeys) > 1 || len(authz) > 1 || len(apiKeys)+len(authz) == 0 {
			writeError(w, r, log, errUnauthorized)
			return
		}
		var p auth.Principal
		if len(apiKeys) == 1 {
			var err error
			if p, err = keys.VerifyKey(r.Context(), apiKeys[0]); err != nil {
				writeError(w, r, log, err)
				return
			}
		}
		if len(authz) == 1 {
			c, err := tokens.Verify(bearer(authz[0]))
			if err != nil || (p.AccountID != "" && p.AccountID != c.AccountID) {
				writeError(w, r, log, errUnauthorized)
				return
			}
			p.AccountID = c.AccountID
		}
		info(r).principal = p
		next.ServeHTTP(w, r)
	})
}

// bearer strips an optional, case-insensitive "Bearer " scheme.
func bearer(v string) string {
	const scheme = "bearer "
	if len(v) > len(scheme) && strings.EqualFold(v[:len(scheme)], scheme) {
		return v[len(scheme):]
	}
	return v
}
