package httpapi

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"

	"github.com/espresso-auth/espresso/wallet"
)

// TestVerify_AnswersWhoseTheCredentialIsInHeadersOnly checks the
// forward-auth answer for every kind of credential: 200 with an empty body
// and the three headers, or the platform's error, exactly as the other
// routes decide; and no access-log line, only metrics.
func TestVerify_AnswersWhoseTheCredentialIsInHeadersOnly(t *testing.T) {
	e := newTestEnv(t)
	alice, bob := newTestWallet(t, wallet.Mainnet), newTestWallet(t, wallet.Mainnet)
	aliceToken := e.signIn(alice)["token"].(string)
	bobToken := e.signIn(bob)["token"].(string)
	aliceID, aliceKey := principalOfToken(t, e, aliceToken)
	_, revokedKey := e.newAccount()
	if resp, body := e.do("DELETE", "/accounts/api-key", keyHeader(revokedKey)); resp.StatusCode != 200 {
		t.Fatalf("revoking: %d %s", resp.StatusCode, body)
	}
	logLines := strings.Count(e.logs.String(), "\n")

	for name, c := range map[string]struct {
		header     http.Header
		credential string // "" : refused with 401 4010
	}{
		"key":                                {keyHeader(aliceKey), "key"},
		"token":                              {authHeader(aliceToken), "token"},
		"bearer token":                       {authHeader("Bearer " + aliceToken), "token"},
		"key and token of one account":       {http.Header{"X-Api-Key": {aliceKey}, "Authorization": {aliceToken}}, "key"},
		"key and token of two accounts":      {http.Header{"X-Api-Key": {aliceKey}, "Authorization": {bobToken}}, ""},
		"no credential":                      {http.Header{}, ""},
		"revoked key":                        {keyHeader(revokedKey), ""},
		"key twice":                          {http.Header{"X-Api-Key": {aliceKey, aliceKey}}, ""},
		"malformed key":                      {keyHeader("dk_live_nope"), ""},
		"tampered token":                     {authHeader(aliceToken + "x"), ""},
		"a spoofed account header, no key":   {http.Header{"X-Espresso-Account-Id": {aliceID}}, ""},
		"a spoofed account header, with key": {http.Header{"X-Api-Key": {aliceKey}, "X-Espresso-Account-Id": {"evil"}}, "key"},
	} {
		resp, body := e.do("GET", "/auth/verify", c.header)
		if c.credential == "" {
			if code, _ := errorBody(t, body); resp.StatusCode != 401 || code != 4010 {
				t.Errorf("%s: %d %s, want 401 4010", name, resp.StatusCode, body)
			}
			if v := resp.Header.Get("X-Espresso-Account-Id"); v != "" {
				t.Errorf("%s: refused, yet X-Espresso-Account-Id %q", name, v)
			}
			continue
		}
		h := resp.Header
		if resp.StatusCode != 200 || len(body) != 0 || h.Get("X-Espresso-Account-Id") != aliceID ||
			h.Get("X-Espresso-Wallet-Address") != alice.addr.String() || h.Get("X-Espresso-Credential") != c.credential ||
			h.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: %d %q, headers %v; want 200, no body, account %s, wallet %s, credential %s, no-store",
				name, resp.StatusCode, body, h, aliceID, alice.addr, c.credential)
		}
	}

	// Every method (gateways forward the original one), and every path
	// below /auth/verify/ (Envoy appends the original path).
	for _, m := range []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"} {
		for _, target := range []string{"/auth/verify", "/auth/verify/", "/auth/verify/orders/7", "/auth/verify//a/../b/?x=1"} {
			resp, body := e.do(m, target, keyHeader(aliceKey))
			if resp.StatusCode != 200 || len(body) != 0 || resp.Header.Get("X-Espresso-Account-Id") != aliceID {
				t.Errorf("%s %s: %d %q, want 200 for alice", m, target, resp.StatusCode, body)
			}
		}
	}
	if resp, _ := e.do("GET", "/auth/verifyx", keyHeader(aliceKey)); resp.StatusCode != 404 {
		t.Errorf("GET /auth/verifyx: %d, want 404", resp.StatusCode)
	}

	if n := strings.Count(e.logs.String(), "\n") - logLines; n != 1 { // the 404 above
		t.Errorf("the checks wrote %d log lines, want only the 404's:\n%s", n, e.logs)
	}
	wantCount := func(code string, want float64) {
		t.Helper()
		if got := sample(t, e, "espresso_http_requests_total", map[string]string{"route": "/auth/verify", "code": code}); got != want {
			t.Errorf("espresso_http_requests_total{route=\"/auth/verify\",code=%q} = %v, want %v", code, got, want)
		}
	}
	wantCount("200", 5+7*4)
	wantCount("401", 7)
}

// TestVerify_AllocatesNothing serves a valid key's check through the whole
// server handler (dispatch, recovery, authentication, metrics) with a
// ResponseWriter that is reused: the handler itself must not allocate.
func TestVerify_AllocatesNothing(t *testing.T) {
	e := newTestEnv(t)
	_, key := e.newAccount()
	d := e.deps
	d.Logger = slog.New(slog.NewJSONHandler(io.Discard, nil))
	h := NewServer(d)
	req := httptest.NewRequest("GET", "/auth/verify", nil)
	req.Header.Set("X-API-KEY", key)
	w := &reusedWriter{header: http.Header{}}
	h.ServeHTTP(w, req) // the first request may load what later ones reuse
	if w.status != 200 || w.header.Get("X-Espresso-Credential") != "key" {
		t.Fatalf("check: %d %v", w.status, w.header)
	}
	// AllocsPerRun counts the whole process's allocations (the test
	// server's feed follower polls meanwhile), so other goroutines can only
	// add to the count: the least of a few measurements is the handler's.
	least := 1e9
	for range 5 {
		least = min(least, testing.AllocsPerRun(1000, func() {
			clear(w.header)
			w.status = 0
			h.ServeHTTP(w, req)
		}))
	}
	if w.status != 200 {
		t.Fatalf("check: %d", w.status)
	}
	if least != 0 {
		t.Errorf("a valid key's check allocates %v times, want 0", least)
	}
}

// reusedWriter is a ResponseWriter whose header map the test clears and
// reuses, so that allocations counted are the handler's own.
type reusedWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (w *reusedWriter) Header() http.Header { return w.header }
func (w *reusedWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}
func (w *reusedWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = 200
	}
	return w.body.Write(b)
}

// principalOfToken returns the account a token names and, issued with the
// token, its first key.
func principalOfToken(t testing.TB, e *testEnv, token string) (accountID, key string) {
	t.Helper()
	p, err := e.sessions.VerifyToken(t.Context(), token)
	if err != nil {
		t.Fatal(err)
	}
	resp, body := e.do("GET", "/accounts/new-api-key", authHeader(token))
	var out newAPIKeyResponse
	if resp.StatusCode != 200 || json.Unmarshal(body, &out) != nil {
		t.Fatalf("new-api-key: %d %s", resp.StatusCode, body)
	}
	return p.AccountID, out.APIKey
}

// sample returns the value of the series of the named metric whose labels
// include labels, as the test server's registry exposes it (0 if none).
func sample(t testing.TB, e *testEnv, name string, labels map[string]string) float64 {
	t.Helper()
	families, err := e.deps.Metrics.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	series:
		for _, m := range f.GetMetric() {
			for k, v := range labels {
				if !slices.ContainsFunc(m.GetLabel(), func(l *dto.LabelPair) bool { return l.GetName() == k && l.GetValue() == v }) {
					continue series
				}
			}
			switch {
			case m.Counter != nil:
				return m.Counter.GetValue()
			case m.Gauge != nil:
				return m.Gauge.GetValue()
			case m.Histogram != nil:
				return float64(m.Histogram.GetSampleCount())
			}
		}
	}
	return 0
}
