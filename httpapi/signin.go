package httpapi

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/espresso-auth/espresso/ratelimit"
	"github.com/espresso-auth/espresso/sessions"
	"github.com/espresso-auth/espresso/store"
)

// maxBody bounds every request body: a sign-in's signature is at most 8 KiB
// of hex.
const maxBody = 16 << 10

// decodeJSON reads a JSON object into v. The body is read whole, up to
// the limit, before any of it is parsed: an oversized body is errTooLarge
// whatever it contains. Anything else that is not a single value of the
// right field types is errInvalid. Unknown fields are ignored, as the
// platform's clients may send more than we read.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return errTooLarge
	case err != nil:
		return errInvalid
	}
	if json.Unmarshal(body, v) != nil {
		return errInvalid
	}
	return nil
}

// limited answers 429 4290, with Retry-After, for a client over l's
// budget, after holding the answer a while (ratelimit.Limits.Hold). Its
// refusals are logged in aggregate (see Tally), not a line each.
func limited(l *ratelimit.Limiter, lim *ratelimit.Limits, trusted []netip.Prefix, log *slog.Logger, refused prometheus.Counter, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ip := ratelimit.IP(r, trusted)
		if err := l.Allow(r.Context(), ip); err != nil {
			refused.Inc()
			lim.Log.Throttled(ip)
			logRecord(r).setAggregated()
			lim.Hold(r.Context(), err)
			writeError(w, r, log, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

type challengeRequest struct {
	WalletAddress *string `json:"wallet_address"`
}

type challengeResponse struct {
	Nonce     string `json:"nonce"`
	Message   string `json:"message"`
	ExpiresAt string `json:"expires_at"`
}

// handleChallenge hands out a message for the wallet to sign. It writes
// nothing to storage.
func handleChallenge(s *sessions.Service, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req challengeRequest
		if err := decodeJSON(w, r, &req); err != nil {
			writeError(w, r, log, err)
			return
		}
		if req.WalletAddress == nil {
			writeError(w, r, log, errInvalid)
			return
		}
		c, err := s.Challenge(*req.WalletAddress)
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		writeJSON(w, http.StatusOK, challengeResponse{Nonce: c.Nonce, Message: c.Message, ExpiresAt: timestamp(c.ExpiresAt)})
	})
}

type signInRequest struct {
	WalletAddress *string `json:"wallet_address"`
	Nonce         *string `json:"nonce"`
	Signature     *string `json:"signature"`
	Key           *string `json:"key"`

	// The platform's web app onboards the account with its sign-in: the
	// operation key it sealed in the browser. Optional; the key and its
	// hash come together or not at all.
	EncryptedOperationKey *string `json:"encrypted_operation_key"`
	OperationKeyHash      *string `json:"operation_key_hash"`
	IsScriptOperationKey  *bool   `json:"is_script_operation_key"`
}

// onboarding returns the operation key the request carries, nil if none,
// or errInvalid if it carries half of one.
func (req signInRequest) onboarding() (*store.OperationKey, error) {
	if (req.EncryptedOperationKey == nil) != (req.OperationKeyHash == nil) {
		return nil, errInvalid
	}
	if req.EncryptedOperationKey == nil {
		return nil, nil
	}
	k := &store.OperationKey{Encrypted: *req.EncryptedOperationKey, Hash: *req.OperationKeyHash}
	if req.IsScriptOperationKey != nil {
		k.Script = *req.IsScriptOperationKey
	}
	return k, nil
}

// signInResponse is the platform's sign-in answer.
type signInResponse struct {
	UserID            string `json:"user_id"`
	Token             string `json:"token"`
	IsFirstTime       bool   `json:"is_first_time"`
	IsOnboardingReady bool   `json:"is_onboarding_ready"`
}

// handleSignIn checks a wallet's signature of a challenge and answers with a
// session token.
func handleSignIn(s *sessions.Service, took prometheus.Observer, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		defer func() { took.Observe(time.Since(start).Seconds()) }()
		var req signInRequest
		if err := decodeJSON(w, r, &req); err != nil {
			writeError(w, r, log, err)
			return
		}
		if req.WalletAddress == nil || req.Nonce == nil || req.Signature == nil || req.Key == nil {
			writeError(w, r, log, errInvalid)
			return
		}
		onboarding, err := req.onboarding()
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		sess, err := s.SignIn(r.Context(), sessions.Proof{Wallet: *req.WalletAddress, Nonce: *req.Nonce,
			Signature: *req.Signature, Key: *req.Key, Onboarding: onboarding})
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		logRecord(r).setPrincipal(Principal{AccountID: sess.AccountID})
		writeJSON(w, http.StatusOK, signInResponse{UserID: sess.AccountID, Token: sess.Token,
			IsFirstTime: sess.FirstTime, IsOnboardingReady: sess.OnboardingReady})
	})
}
