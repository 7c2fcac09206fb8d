package httpapi

import (
	"log/slog"
	"net/http"

	"github.com/espresso-auth/espresso/sessions"
)

// handleSignOut ends the session of the token presented: from the answer
// on, this node refuses the token, and the others within the feed's bound.
func handleSignOut(ss *sessions.Service, log *slog.Logger) authedHandler {
	return func(w http.ResponseWriter, r *http.Request, p Principal) {
		if err := ss.SignOut(r.Context(), p.token); err != nil {
			writeError(w, r, log, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

// sessionJSON is one session in GET /accounts/sessions: no id, which is as
// secret as a token.
type sessionJSON struct {
	CreatedAt  string `json:"created_at"`
	LastUsedAt string `json:"last_used_at"`
	ExpiresAt  string `json:"expires_at"`
	Current    bool   `json:"current"`
}

type sessionsResponse struct {
	Sessions []sessionJSON `json:"sessions"`
}

// handleListSessions lists the account's live sessions, newest first, the
// presenting token's marked current. The sign-in counts as a session's
// first use, so last_used_at is never empty.
func handleListSessions(ss *sessions.Service, log *slog.Logger) authedHandler {
	return func(w http.ResponseWriter, r *http.Request, p Principal) {
		list, err := ss.List(r.Context(), p.AccountID, p.token.ID)
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		out := sessionsResponse{Sessions: make([]sessionJSON, 0, len(list))}
		for _, s := range list {
			used := s.LastUsedAt
			if used.Before(s.CreatedAt) {
				used = s.CreatedAt
			}
			out.Sessions = append(out.Sessions, sessionJSON{CreatedAt: timestamp(s.CreatedAt),
				LastUsedAt: timestamp(used), ExpiresAt: timestamp(s.ExpiresAt), Current: s.Current})
		}
		writeJSON(w, http.StatusOK, out)
	}
}

type endSessionsResponse struct {
	Ended int `json:"ended"`
}

// handleEndSessions signs the account out everywhere: every session ends,
// the presenting one included. A key may do it: whoever holds the key can
// mint keys anyway, and ending sessions only takes access away.
func handleEndSessions(ss *sessions.Service, log *slog.Logger) authedHandler {
	return func(w http.ResponseWriter, r *http.Request, p Principal) {
		n, err := ss.EndAll(r.Context(), p.AccountID)
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		writeJSON(w, http.StatusOK, endSessionsResponse{Ended: n})
	}
}
