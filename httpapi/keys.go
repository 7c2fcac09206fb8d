package httpapi

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/espresso-auth/espresso/auth"
	"github.com/espresso-auth/espresso/store"
)

// newAPIKeyResponse is the seed's CreateNewAPIKeyResponse, byte for byte:
// exactly these two fields.
type newAPIKeyResponse struct {
	APIKey    string `json:"api_key"`
	CreatedAt string `json:"created_at"`
}

// handleNewAPIKey rotates the caller's key: the key presented stops working
// at the instant the new one is committed, and the new key is answered only
// after that commit.
func handleNewAPIKey(keys *auth.Service, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := principal(r)
		var current = &p.Key.Hash
		if !p.HasKey() {
			current = nil
		}
		issued, err := keys.Rotate(r.Context(), p.AccountID, current)
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		info(r).maskedKey = issued.Key.Mask()
		writeJSON(w, http.StatusOK, newAPIKeyResponse{APIKey: issued.Key.String(), CreatedAt: timestamp(issued.CreatedAt)})
	})
}

// keyInfoResponse describes the live key without revealing it.
type keyInfoResponse struct {
	AccountID  string  `json:"account_id"`
	MaskedKey  string  `json:"masked_key"`
	CreatedAt  string  `json:"created_at"`
	LastUsedAt *string `json:"last_used_at"`
}

// handleGetAPIKey answers "is this key valid, and whose is it?" from the
// replica alone when the caller presented the key.
func handleGetAPIKey(keys *auth.Service, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := principal(r)
		k := p.Key
		if !p.HasKey() {
			var err error
			if k, err = keys.LiveKey(r.Context(), p.AccountID); err != nil {
				writeError(w, r, log, noKey(err))
				return
			}
		}
		writeJSON(w, http.StatusOK, keyInfoResponse{
			AccountID:  p.AccountID,
			MaskedKey:  k.Masked,
			CreatedAt:  timestamp(k.CreatedAt),
			LastUsedAt: nullableTimestamp(k.LastUsedAt),
		})
	})
}

type revokeResponse struct {
	MaskedKey string `json:"masked_key"`
	RevokedAt string `json:"revoked_at"`
}

// handleRevokeAPIKey is the kill switch for a leaked key: it stops working
// before the answer is sent.
func handleRevokeAPIKey(keys *auth.Service, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := principal(r)
		var current = &p.Key.Hash
		if !p.HasKey() {
			current = nil
		}
		revoked, err := keys.Revoke(r.Context(), p.AccountID, current)
		if err != nil {
			writeError(w, r, log, noKey(err))
			return
		}
		writeJSON(w, http.StatusOK, revokeResponse{MaskedKey: revoked.Masked, RevokedAt: timestamp(revoked.RevokedAt)})
	})
}

// noKey says "API key not found" rather than "User not found" when the
// account exists but has no live key.
func noKey(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return errNoKey
	}
	return err
}
