package httpapi

import (
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/espresso-auth/espresso"
	"github.com/espresso-auth/espresso/apikey"
	"github.com/espresso-auth/espresso/keys"
	"github.com/espresso-auth/espresso/ratelimit"
	"github.com/espresso-auth/espresso/sessions"
)

// Principal is whom an authenticated request acts for: the account, the
// API key it presented, if it presented one, and whether it presented a
// sign-in token.
type Principal struct {
	AccountID string
	Wallet    string    // the account's wallet address
	Key       keys.Info // zero when the request presented only a session token
	// Signed is true when the request presented a valid sign-in token: a
	// recent proof of the wallet, which some changes require (signedIn).
	Signed bool
	// token is what the sign-in token said, its session id included; zero
	// without one. The id is as secret as the token: never logged.
	token sessions.Claims
}

// HasKey reports whether the principal presented an API key.
func (p Principal) HasKey() bool { return p.Key.Masked != "" }

// Presented returns the hash of the key the principal presented, or nil if
// it presented none: the current key that a rotation or revocation must
// find live.
func (p Principal) Presented() *apikey.Hash {
	if !p.HasKey() {
		return nil
	}
	return &p.Key.Hash
}

// authedHandler is a handler that acts for an authenticated principal,
// which it receives as an argument: it never looks for it elsewhere.
type authedHandler func(w http.ResponseWriter, r *http.Request, p Principal)

// authenticator checks the credentials of requests.
type authenticator struct {
	keys     *keys.Service
	sessions *sessions.Service
	log      *slog.Logger
	// verifyKey and verifyToken observe how long authenticate took, by the
	// credential that decided it.
	verifyKey, verifyToken prometheus.Observer
	// limits holds the budget of failed credentials, and their log.
	limits    *ratelimit.Limits
	trusted   []netip.Prefix
	throttled prometheus.Counter
}

// authed lets a request through to h only with valid credentials, and
// hands h the principal they name. It also records the principal in the
// access log's record, when the request has one: the log reads what
// authentication decided, never the other way round.
func (a authenticator) authed(h authedHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := a.admit(r)
		if err != nil {
			writeError(w, r, a.log, err)
			return
		}
		logRecord(r).setPrincipal(p)
		h(w, r, p)
	})
}

// signedIn is authed for changes that an API key alone may not make: the
// request must also present a sign-in token (a key with it is fine), else
// espresso.ErrTokenRequired. A key leaks more easily than a wallet: it sits
// in a bot's configuration, and must not be enough to replace the bot's
// trading key.
func (a authenticator) signedIn(h authedHandler) http.Handler {
	return a.authed(func(w http.ResponseWriter, r *http.Request, p Principal) {
		if !p.Signed {
			writeError(w, r, a.log, espresso.ErrTokenRequired)
			return
		}
		h(w, r, p)
	})
}

// admit is authenticate behind the client's budget of refused
// credentials: a client that spent it gets a *ratelimit.Refused instead,
// before any lookup, whatever it presents; a refused credential spends it.
// A request that presents no credential guesses nothing, and spends
// nothing. Refusals are logged in aggregate (ratelimit.Tally), so the
// request's own log line is dropped.
func (a authenticator) admit(r *http.Request) (Principal, error) {
	presented := len(r.Header.Values("X-Api-Key"))+len(r.Header.Values("Authorization")) > 0
	ip := ratelimit.IP(r, a.trusted)
	if presented {
		if err := a.limits.Failures.Check(ip); err != nil {
			return Principal{}, a.refused(r, ip, err)
		}
	}
	p, err := a.authenticate(r)
	if errors.Is(err, espresso.ErrUnauthorized) {
		if presented {
			if terr := a.limits.Failures.Fail(r.Context(), ip); terr != nil {
				return Principal{}, a.refused(r, ip, terr)
			}
		}
		a.limits.Log.Failed(ip)
		logRecord(r).setAggregated()
	}
	return p, err
}

// refused answers a client over its budget of failed credentials, after
// holding the answer a while (ratelimit.Limits.Hold).
func (a authenticator) refused(r *http.Request, ip netip.Addr, err error) error {
	a.throttled.Inc()
	a.limits.Log.Throttled(ip)
	logRecord(r).setAggregated()
	a.limits.Hold(r.Context(), err)
	return err
}

// authenticate accepts an API key in X-API-KEY, a session token in
// Authorization (bare, as the platform's web app sends it, or after
// "Bearer "), or both, in which case both must be valid and belong to the
// same account. Anything else, a repeated header included, is
// espresso.ErrUnauthorized whatever the reason: the answer must not help
// anyone probe for keys.
func (a authenticator) authenticate(r *http.Request) (Principal, error) {
	apiKeys, authz := r.Header.Values("X-Api-Key"), r.Header.Values("Authorization")
	if len(apiKeys) > 1 || len(authz) > 1 || len(apiKeys)+len(authz) == 0 {
		return Principal{}, espresso.ErrUnauthorized
	}
	start := time.Now()
	took := a.verifyToken
	if len(apiKeys) == 1 {
		took = a.verifyKey
	}
	defer func() { took.Observe(time.Since(start).Seconds()) }()
	var p Principal
	if len(apiKeys) == 1 {
		k, err := a.keys.Verify(r.Context(), apiKeys[0])
		if err != nil {
			return Principal{}, err
		}
		p = Principal{AccountID: k.AccountID, Wallet: k.WalletAddress, Key: k}
	}
	if len(authz) == 1 {
		c, err := a.sessions.VerifyToken(r.Context(), bearer(authz[0]))
		if espresso.KindOf(err) == espresso.Unavailable {
			return Principal{}, err
		}
		if err != nil || (p.AccountID != "" && p.AccountID != c.AccountID) {
			return Principal{}, espresso.ErrUnauthorized
		}
		if !p.HasKey() {
			p.AccountID, p.Wallet = c.AccountID, c.Wallet
		}
		p.Signed, p.token = true, c
	}
	return p, nil
}

// bearer strips an optional, case-insensitive "Bearer " scheme.
func bearer(v string) string {
	const scheme = "bearer "
	if len(v) > len(scheme) && strings.EqualFold(v[:len(scheme)], scheme) {
		return v[len(scheme):]
	}
	return v
}
