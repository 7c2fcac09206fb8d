package httpapi

import (
	"log/slog"
	"net/http"

	"github.com/espresso-auth/espresso"
	"github.com/espresso-auth/espresso/spot"
	"github.com/espresso-auth/espresso/store"
)

// operationKeyResponse is what a bot loads at start-up (the platform's
// clients' load_operation_key): the sealed key and its hash.
type operationKeyResponse struct {
	EncryptedOperationKey string `json:"encrypted_operation_key"`
	OperationKeyHash      string `json:"operation_key_hash"`
}

// handleGetOperationKey hands a bot its operation key, as stored, byte for
// byte: the bot opens it with its owner's password.
func handleGetOperationKey(s *spot.Service, log *slog.Logger) authedHandler {
	return func(w http.ResponseWriter, r *http.Request, p Principal) {
		k, err := s.OperationKey(r.Context(), p.AccountID)
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		writeJSON(w, http.StatusOK, operationKeyResponse{EncryptedOperationKey: k.Encrypted, OperationKeyHash: k.Hash})
	}
}

// spotAccountResponse is the platform's spot account answer. An account
// has one spot account, whose account_id is the account's own id (the
// user_id of sign-in). updated_at is only in the answer to a change.
type spotAccountResponse struct {
	AccountID             string `json:"account_id"`
	AccountType           string `json:"account_type"`
	EncryptedOperationKey string `json:"encrypted_operation_key"`
	OperationKeyHash      string `json:"operation_key_hash"`
	CreatedAt             string `json:"created_at"`
	UpdatedAt             string `json:"updated_at,omitempty"`
}

func spotAccountOf(a store.SpotAccount) spotAccountResponse {
	return spotAccountResponse{AccountID: a.AccountID, AccountType: "spot", EncryptedOperationKey: a.Encrypted,
		OperationKeyHash: a.Hash, CreatedAt: timestamp(a.CreatedAt)}
}

func handleGetSpotAccount(s *spot.Service, log *slog.Logger) authedHandler {
	return func(w http.ResponseWriter, r *http.Request, p Principal) {
		a, err := s.Get(r.Context(), p.AccountID)
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		writeJSON(w, http.StatusOK, spotAccountOf(a))
	}
}

type createSpotAccountRequest struct {
	UserID                *string `json:"user_id"`
	EncryptedOperationKey *string `json:"encrypted_operation_key"`
	OperationKeyHash      *string `json:"operation_key_hash"`
	IsScriptOperationKey  *bool   `json:"is_script_operation_key"`
}

// handleCreateSpotAccount onboards the caller's account: it stores the
// operation key the user's browser (or the CLI) sealed. Only once: 409 if
// the account has one.
func handleCreateSpotAccount(s *spot.Service, log *slog.Logger) authedHandler {
	return func(w http.ResponseWriter, r *http.Request, p Principal) {
		var req createSpotAccountRequest
		if err := decodeJSON(w, r, &req); err != nil {
			writeError(w, r, log, err)
			return
		}
		if req.EncryptedOperationKey == nil || req.OperationKeyHash == nil || req.IsScriptOperationKey == nil {
			writeError(w, r, log, errInvalid)
			return
		}
		if err := ownAccount(req.UserID, p); err != nil {
			writeError(w, r, log, err)
			return
		}
		a, err := s.Create(r.Context(), p.AccountID, store.OperationKey{Encrypted: *req.EncryptedOperationKey,
			Hash: *req.OperationKeyHash, Script: *req.IsScriptOperationKey})
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		writeJSON(w, http.StatusOK, spotAccountOf(a))
	}
}

type reencryptRequest struct {
	UserID                *string `json:"user_id"`
	EncryptedOperationKey *string `json:"encrypted_operation_key"`
}

// handleReencryptOperationKey stores the caller's operation key sealed
// anew, as after a password change. The key is the same, so its hash stays;
// any other field sent is ignored, like every unknown field.
func handleReencryptOperationKey(s *spot.Service, log *slog.Logger) authedHandler {
	return func(w http.ResponseWriter, r *http.Request, p Principal) {
		var req reencryptRequest
		if err := decodeJSON(w, r, &req); err != nil {
			writeError(w, r, log, err)
			return
		}
		if req.EncryptedOperationKey == nil {
			writeError(w, r, log, errInvalid)
			return
		}
		if err := ownAccount(req.UserID, p); err != nil {
			writeError(w, r, log, err)
			return
		}
		a, err := s.Reencrypt(r.Context(), p.AccountID, *req.EncryptedOperationKey)
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		resp := spotAccountOf(a)
		resp.UpdatedAt = timestamp(a.UpdatedAt)
		writeJSON(w, http.StatusOK, resp)
	}
}

// ownAccount checks a request's optional user_id: where sent, it must be
// the caller's own account id, else espresso.ErrOtherAccount (403). No
// caller may act on another account, and the answer does not say whether
// that account exists.
func ownAccount(userID *string, p Principal) error {
	if userID != nil && *userID != p.AccountID {
		return espresso.ErrOtherAccount
	}
	return nil
}
