package httpapi

import (
	"encoding/json"
	"net/http/httptest"
	"testing"
)

// TestAuthed_HandlersSeeTheirPrincipalWithoutTheAccessLog serves a rotation
// through the server's handler with the logging middleware left out: the
// handler gets its principal as an argument, so it works all the same.
func TestAuthed_HandlersSeeTheirPrincipalWithoutTheAccessLog(t *testing.T) {
	e := newTestEnv(t)
	id, key := e.newAccount()
	h := newHandler(e.deps)

	req := httptest.NewRequest("GET", "/accounts/new-api-key", nil)
	req.Header.Set("X-API-KEY", key)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Fatalf("rotation without the access log: %d %s", rec.Code, rec.Body)
	}
	var out newAPIKeyResponse
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatal(err)
	}

	req = httptest.NewRequest("GET", "/accounts/api-key", nil)
	req.Header.Set("X-API-KEY", out.APIKey)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var info struct {
		AccountID string `json:"account_id"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &info); rec.Code != 200 || err != nil || info.AccountID != id {
		t.Errorf("the new key without the access log: %d %s, want account %s", rec.Code, rec.Body, id)
	}
}
