package httpapi

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/espresso-auth/espresso/keys"
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
func handleNewAPIKey(ks *keys.Service, took prometheus.Observer, log *slog.Logger) authedHandler {
	return func(w http.ResponseWriter, r *http.Request, p Principal) {
		start := time.Now()
		issued, err := ks.Rotate(r.Context(), p.AccountID, p.Presented())
		took.Observe(time.Since(start).Seconds())
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		logRecord(r).setNewKey(issued.Masked)
		writeJSON(w, http.StatusOK, newAPIKeyResponse{APIKey: issued.Key.String(), CreatedAt: timestamp(issued.CreatedAt)})
	}
}

// keyInfo describes the live key without revealing it. It encodes itself:
// other services ask this endpoint about every request they serve, and
// encoding/json's reflection was a measurable part of its cost (see
// BenchmarkServeHTTP). The answer is
//
//	{"account_id": "…", "masked_key": "dk_live_Ab3d…9xYz",
//	 "api_key": "dk_live_Ab3d…9xYz",
//	 "created_at": "2026-11-27T18:00:00Z", "last_used_at": null | "…"}
//
// api_key is the masked form again: the platform's Python and TypeScript
// clients declare this answer as {"api_key", "created_at"}. Keys are hashed
// at rest, so the key itself is shown once, by the answer that creates it,
// and never again.
type keyInfo struct {
	accountID  string
	maskedKey  string
	createdAt  time.Time
	lastUsedAt time.Time // zero: null
}

func (k keyInfo) appendJSON(b []byte) []byte {
	b = append(b, `{"account_id":`...)
	b = appendJSONString(b, k.accountID)
	b = append(b, `,"masked_key":`...)
	b = appendJSONString(b, k.maskedKey)
	b = append(b, `,"api_key":`...)
	b = appendJSONString(b, k.maskedKey)
	b = append(b, `,"created_at":`...)
	b = appendTimestamp(b, k.createdAt)
	b = append(b, `,"last_used_at":`...)
	if k.lastUsedAt.IsZero() {
		b = append(b, "null"...)
	} else {
		b = appendTimestamp(b, k.lastUsedAt)
	}
	return append(b, '}')
}

// handleGetAPIKey answers "is this key valid, and whose is it?" from the
// replica alone when the caller presented the key.
func handleGetAPIKey(ks *keys.Service, log *slog.Logger) authedHandler {
	return func(w http.ResponseWriter, r *http.Request, p Principal) {
		k := p.Key
		if !p.HasKey() {
			var err error
			if k, err = ks.LiveKey(r.Context(), p.AccountID); err != nil {
				writeError(w, r, log, err)
				return
			}
		}
		writeJSON(w, http.StatusOK, keyInfo{p.AccountID, k.Masked, k.CreatedAt, k.LastUsedAt})
	}
}

type revokeResponse struct {
	MaskedKey string `json:"masked_key"`
	RevokedAt string `json:"revoked_at"`
}

// handleRevokeAPIKey is the kill switch for a leaked key: it stops working
// before the answer is sent.
func handleRevokeAPIKey(ks *keys.Service, log *slog.Logger) authedHandler {
	return func(w http.ResponseWriter, r *http.Request, p Principal) {
		revoked, err := ks.Revoke(r.Context(), p.AccountID, p.Presented())
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		writeJSON(w, http.StatusOK, revokeResponse{MaskedKey: revoked.Masked, RevokedAt: timestamp(revoked.RevokedAt)})
	}
}
