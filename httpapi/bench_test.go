package httpapi

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkServeHTTP compares the whole in-process request path (logging,
// routing, authentication, JSON) of GET /accounts/api-key and of the
// forward-auth check GET /auth/verify with a valid key against GET /healthz
// on the same handler: the cost a key adds to a request, without the
// network. (httptest's recorder allocates on its own; TestVerify_
// AllocatesNothing measures the check without it.)
func BenchmarkServeHTTP(b *testing.B) {
	e := newTestEnv(b)
	_, key := e.newAccount()
	d := e.deps
	d.Logger = slog.New(slog.NewJSONHandler(io.Discard, nil))
	h := NewServer(d)
	for _, bc := range []struct {
		name, path string
		header     http.Header
	}{
		{"healthz", "/healthz", http.Header{}},
		{"api-key", "/accounts/api-key", http.Header{"X-Api-Key": {key}}},
		// The forward-auth check: no body, no log line.
		{"verify", "/auth/verify", http.Header{"X-Api-Key": {key}}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			req := httptest.NewRequest("GET", bc.path, nil)
			req.Header = bc.header
			b.ReportAllocs()
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != 200 {
					b.Fatalf("status %d", rec.Code)
				}
			}
		})
	}
}
