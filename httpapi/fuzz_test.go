package httpapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
)

// knownCodes maps every code the server may answer with to its status.
func knownCodes() map[int]int {
	codes := map[int]int{}
	for _, e := range allErrors {
		codes[e.Code] = e.Status
	}
	return codes
}

// FuzzRequest drives the whole request path, from the request line and the
// X-API-KEY header to the answer, against a real store: whatever arrives,
// the answer is never a 5xx and is always JSON, in the {code, error, msg}
// format with a known code when it is not a success. The environment belongs to f:
// its cleanup runs when fuzzing ends.
func FuzzRequest(f *testing.F) {
	e := newTestEnv(f)
	_, key := e.newAccount()
	codes := knownCodes()
	f.Add("GET", "/accounts/new-api-key", key)
	f.Add("GET", "/accounts/api-key", key)
	f.Add("DELETE", "/accounts/api-key", key)
	f.Add("GET", "/accounts/operation-key", key)
	f.Add("PATCH", "/accounts/spot-account", key)
	f.Add("GET", "/accounts/api-key", "dk_live_abc123def456ghi789jkl012mno345")
	f.Add("POST", "/accounts/new-api-key", "")
	f.Add("GET", "/accounts/../healthz", "\xff")
	f.Add("POST", "/auth/verify/orders", key)
	f.Fuzz(func(t *testing.T, method, path, header string) {
		req := &http.Request{
			Method:     method,
			URL:        &url.URL{Path: path},
			RequestURI: path,
			Proto:      "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header: http.Header{"X-Api-Key": {header}},
			Host:   "espresso",
		}
		rec := httptest.NewRecorder()
		e.h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%q %q: status %d: %s", method, path, rec.Code, rec.Body)
		}
		if method == "HEAD" && rec.Body.Len() == 0 {
			return
		}
		if rec.Code < 400 && rec.Header().Get("Content-Security-Policy") != "" {
			return // the dashboard's page and assets, not JSON
		}
		if rec.Code == 200 && rec.Header().Get("X-Espresso-Account-Id") != "" {
			if rec.Body.Len() != 0 {
				t.Fatalf("%q %q: the forward-auth check answered a body: %q", method, path, rec.Body)
			}
			return // the forward-auth check: headers only
		}
		var m map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
			t.Fatalf("%q %q: answer is not JSON: %q", method, path, rec.Body)
		}
		if rec.Code >= 400 {
			code, _, err := parseErrorBody(rec.Body.Bytes())
			if status, ok := codes[code]; err != nil || !ok || status != rec.Code {
				t.Fatalf("%q %q: %d %s is not a known {code, error, msg} (%v)", method, path, rec.Code, rec.Body, err)
			}
		}
	})
}
