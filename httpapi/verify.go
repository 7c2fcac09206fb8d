package httpapi

import (
	"log/slog"
	"net/http"

	"github.com/espresso-auth/espresso/metrics"
)

// The forward-auth answer's headers, and the values that never change.
// Header values are slices that net/http only reads, so these are shared.
const (
	headerAccountID  = "X-Espresso-Account-Id"
	headerWallet     = "X-Espresso-Wallet-Address"
	headerCredential = "X-Espresso-Credential"
)

var (
	credentialKey   = []string{"key"}
	credentialToken = []string{"token"}
	noStore         = []string{"no-store"}
)

// handleVerify is the forward-auth check a gateway asks before it passes a
// request on (nginx auth_request, Caddy forward_auth, Traefik forwardAuth,
// Envoy ext_authz): "is this key, or token, valid, and whose is it?". It
// answers from memory with the same rules as every authenticated route:
// 200 with an empty body and the X-Espresso-* headers, or the error every
// route gives (401 4010, 503 5001 when the replica cannot be trusted).
// A request with both a key and a token (both valid, one account) reports
// "key": it acts as the key, as it would on every other route.
//
// It is the hot path of a gateway's every request, so it allocates
// nothing: the account's header values come from the replica's memory
// (keys.Info.OwnerHeaders), and the others are shared constants. It
// writes no access log line (see server); metrics count its answers.
func handleVerify(a authenticator, counts *metrics.Route, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := a.admit(r)
		if err != nil {
			counts.Count(answerFor(err).Status)
			writeError(w, r, log, err)
			return
		}
		h := w.Header()
		if p.HasKey() {
			h[headerAccountID], h[headerWallet] = p.Key.OwnerHeaders()
			h[headerCredential] = credentialKey
		} else {
			h[headerAccountID], h[headerWallet] = []string{p.AccountID}, []string{p.Wallet}
			h[headerCredential] = credentialToken
		}
		h["Cache-Control"] = noStore
		w.WriteHeader(http.StatusOK)
		counts.Count(http.StatusOK)
	})
}
