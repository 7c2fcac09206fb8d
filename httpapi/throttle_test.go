package httpapi

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/espresso-auth/espresso/apikey"
	"github.com/espresso-auth/espresso/ratelimit"
)

// TestThrottle_RefusedCredentialsPastTheBudgetGet429BeforeAnyLookup spends
// a client's budget of refused credentials with a bad token, an unknown
// key and a malformed one (requests without a credential cost nothing):
// then even its valid key is 429 4290 with Retry-After on every
// authenticated route, while another client's key answers 200, until a
// token comes back. The refusals have no access-log lines of their own;
// the other requests' lines name their client.
func TestThrottle_RefusedCredentialsPastTheBudgetGet429BeforeAnyLookup(t *testing.T) {
	e := newTestEnv(t)
	_, key := e.newAccount()
	unknown, err := apikey.New(apikey.Live)
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	d := e.deps
	d.Logger = slog.New(slog.NewJSONHandler(logs, nil))
	d.FailureRate = ratelimit.Rate{PerMinute: 6, Burst: 3}
	h := NewServer(d)
	send := func(remote, path string, header http.Header) *httptest.ResponseRecorder {
		t.Helper()
		req := httptest.NewRequest("GET", path, nil)
		req.RemoteAddr = remote
		for k, v := range header {
			req.Header[k] = v
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	const flooder, other = "203.0.113.5:4000", "198.51.100.7:4000"
	for range 5 {
		if rec := send(flooder, "/accounts/api-key", nil); rec.Code != 401 {
			t.Fatalf("no credential: %d", rec.Code)
		}
	}
	for _, h := range []http.Header{
		{"Authorization": {"Bearer not-a-token"}},
		keyHeader(unknown.String()),
		keyHeader("dk_live_short"),
	} {
		if rec := send(flooder, "/auth/verify", h); rec.Code != 401 {
			t.Fatalf("a refused credential within the budget: %d", rec.Code)
		}
	}
	for _, path := range []string{"/accounts/api-key", "/auth/verify", "/accounts/operation-key", "/accounts/new-api-key"} {
		rec := send(flooder, path, keyHeader(key))
		if code, _ := errorBody(t, rec.Body.Bytes()); rec.Code != 429 || code != 4290 || rec.Header().Get("Retry-After") != "10" {
			t.Errorf("the flooder's valid key on %s: %d %s, Retry-After %q; want 429 4290, 10", path, rec.Code, rec.Body, rec.Header().Get("Retry-After"))
		}
	}
	if rec := send(other, "/accounts/api-key", keyHeader(key)); rec.Code != 200 {
		t.Errorf("another client's valid key: %d", rec.Code)
	}
	e.clock.Advance(10 * time.Second) // 6 a minute: one token back
	if rec := send(flooder, "/accounts/api-key", keyHeader(key)); rec.Code != 200 {
		t.Errorf("the flooder's valid key a token later: %d", rec.Code)
	}

	var lines int
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatal(err)
		}
		if m["msg"] != "request" {
			continue
		}
		lines++
		if m["status"] != float64(200) {
			t.Errorf("a refusal has a line of its own: %s", line)
		}
		if c := m["client"]; c != "203.0.113.5" && c != "198.51.100.7" {
			t.Errorf("a request line's client is %v: %s", c, line)
		}
	}
	if lines != 2 {
		t.Errorf("%d request lines, want the two 200s:\n%s", lines, logs)
	}
	if strings.Contains(logs.String(), key) {
		t.Error("the log holds the key")
	}
}

// TestServer_ClosesTheConnectionAfterAChunkedRequest: net/http drops a
// Content-Length sent with Transfer-Encoding before the handler sees it, so
// every chunked request is answered with Connection: close (the end-to-end
// test speaks raw TCP).
func TestServer_ClosesTheConnectionAfterAChunkedRequest(t *testing.T) {
	e := newTestEnv(t)
	req, _ := http.NewRequest("POST", e.srv.URL+"/accounts/signin/challenge", io.NopCloser(strings.NewReader(`{}`)))
	req.ContentLength = -1 // chunked
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if !resp.Close {
		t.Errorf("a chunked request's answer (%d) keeps the connection", resp.StatusCode)
	}
	resp, err = e.srv.Client().Post(e.srv.URL+"/accounts/signin/challenge", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Close {
		t.Error("a request with Content-Length closes its connection")
	}
}
