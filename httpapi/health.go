package httpapi

import (
	"context"
	"net/http"
	"time"
)

type statusResponse struct {
	Status string `json:"status"`
}

// handleHealthz answers 200 while the process serves HTTP at all.
func handleHealthz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, statusResponse{"ok"})
	})
}

// handleReadyz answers 200 only while the store answers and the key replica
// is fresh; a load balancer should stop sending traffic otherwise.
func handleReadyz(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := d.Keys.Ready(ctx); err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		writeJSON(w, http.StatusOK, statusResponse{"ready"})
	})
}
