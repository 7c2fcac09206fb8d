package httpapi

import (
	"encoding/json"
	"net/http"
	"time"
)

// writeJSON answers status with v as JSON. Every answer is JSON and none may
// be cached: some carry keys, and a stale verification answer is wrong.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		// Only our own response types reach here; they always marshal.
		body = []byte(`{"code":5000,"error":"Internal Server Error"}`)
		status = http.StatusInternalServerError
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

// timestamp formats t as the platform does: RFC 3339, UTC, whole seconds
// ("2024-01-01T00:00:00Z"), which clients with fixed-layout parsers accept.
func timestamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// nullableTimestamp is timestamp, or null for the zero time.
func nullableTimestamp(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := timestamp(t)
	return &s
}
