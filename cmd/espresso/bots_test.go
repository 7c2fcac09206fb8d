package main

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/espresso-auth/espresso/httpapi"
	"github.com/espresso-auth/espresso/wallet"
)

// apiCaller sends the end-to-end requests of one test through one client.
type apiCaller struct {
	t      testing.TB
	client *http.Client
	base   string
}

// do sends method path with the given headers ("X-API-KEY" and
// "Authorization" values, "" for none) and a JSON body (nil for none), and
// returns the status and the decoded answer (nil if not a JSON object).
func (c apiCaller) do(method, path, key, token string, body any) (int, map[string]any) {
	c.t.Helper()
	status, raw := c.raw(method, path, key, token, body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return status, out
}

func (c apiCaller) raw(method, path, key, token string, body any) (int, []byte) {
	c.t.Helper()
	status, raw, err := c.try(method, path, key, token, body)
	if err != nil {
		c.t.Fatal(err)
	}
	return status, raw
}

// try is raw for any goroutine: it returns its failure (a transport
// error, or an answer the OpenAPI document does not allow) instead of
// failing the test.
func (c apiCaller) try(method, path, key, token string, body any) (int, []byte, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, r)
	if err != nil {
		return 0, nil, err
	}
	// The platform's clients send this on every request, GETs included.
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("X-API-KEY", key)
	}
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	return resp.StatusCode, raw, err
}

// want fails the test unless the answer has the status (and, for an
// error, the code).
func (c apiCaller) want(what string, status int, out map[string]any, wantStatus, wantCode int) {
	c.t.Helper()
	if status != wantStatus || (wantCode != 0 && out["code"] != float64(wantCode)) {
		c.t.Fatalf("%s: %d %v, want %d %d", what, status, out, wantStatus, wantCode)
	}
}

// signIn signs a fresh test wallet in, with extra fields in the sign-in
// body, and returns the wallet's key, its address and the answer.
func (c apiCaller) signIn(priv ed25519.PrivateKey, extra map[string]any) map[string]any {
	c.t.Helper()
	addr := wallet.NewEnterpriseAddress(priv.Public().(ed25519.PublicKey), wallet.Mainnet)
	status, ch := c.do("POST", "/accounts/signin/challenge", "", "", map[string]string{"wallet_address": addr.String()})
	c.want("challenge", status, ch, 200, 0)
	sig, key, err := wallet.SignData(priv, addr, []byte(ch["message"].(string)))
	if err != nil {
		c.t.Fatal(err)
	}
	req := map[string]any{"wallet_address": addr.String(), "nonce": ch["nonce"], "signature": sig, "key": key}
	for k, v := range extra {
		req[k] = v
	}
	status, out := c.do("POST", "/accounts/signin", "", "", req)
	c.want("sign-in", status, out, 200, 0)
	return out
}

// botFlow is the flow of docs/clients.md's "A bot's start, step by step":
// 1. the owner signs in with the wallet; 2. onboards an operation key made
// by the CLI; 3. makes an API key; 4. a bot holding only the API key and
// the password loads the operation key and opens it; 5. the key is
// rotated; 6. the old key is refused. It returns the bot's current key.
func botFlow(t *testing.T, c apiCaller, dir string) (key, token string) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	// 1.
	signed := c.signIn(priv, nil)
	token = signed["token"].(string)
	if signed["is_onboarding_ready"] != false {
		t.Errorf("a new account is onboarding ready: %v", signed)
	}
	// 2.
	printed, plain := operationKey(t, dir, "the owner's password")
	status, out := c.do("POST", "/accounts/spot-account", "", token, map[string]any{
		"user_id": signed["user_id"], "encrypted_operation_key": printed.EncryptedOperationKey,
		"operation_key_hash": printed.OperationKeyHash, "is_script_operation_key": false})
	c.want("onboarding", status, out, 200, 0)
	if again := c.signIn(priv, nil); again["is_onboarding_ready"] != true {
		t.Errorf("sign-in after onboarding: %v", again)
	}
	// 3.
	status, out = c.do("GET", "/accounts/new-api-key", "", token, nil)
	c.want("the first API key", status, out, 200, 0)
	key = out["api_key"].(string)
	// 4. The bot has the key and the password, nothing else.
	status, raw := c.raw("GET", "/accounts/operation-key", key, "", nil)
	var loaded operationKeyJSON
	if status != 200 || json.Unmarshal(raw, &loaded) != nil {
		t.Fatalf("the bot's GET operation-key: %d %s", status, raw)
	}
	if loaded != printed {
		t.Errorf("operation-key answered %+v, want what the CLI made, byte for byte", loaded)
	}
	if got := openOperationKey(t, loaded.EncryptedOperationKey, "the owner's password"); got != plain {
		t.Error("the bot opened another key than the one the CLI made")
	}
	answer := filepath.Join(dir, "answer.json")
	if err := os.WriteFile(answer, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, errOut, err := cliIn(t, nil, "the owner's password\n", "wallet", "decrypt-operation-key", "--in", answer); err != nil || !strings.Contains(out, plain) {
		t.Errorf("decrypt-operation-key on the answer: %v %s", err, errOut)
	}
	status, out = c.do("GET", "/accounts/api-key", key, "", nil)
	if status != 200 || out["api_key"] != out["masked_key"] || strings.Contains(out["api_key"].(string), key[12:40]) {
		t.Errorf("GET api-key: %d %v, want api_key masked", status, out)
	}
	// 5.
	status, out = c.do("GET", "/accounts/new-api-key", key, "", nil)
	c.want("the rotation", status, out, 200, 0)
	old := key
	key = out["api_key"].(string)
	// 6.
	status, out = c.do("GET", "/accounts/operation-key", old, "", nil)
	c.want("the old key after the rotation", status, out, 401, 4010)
	if out["msg"] != "Unauthorized access" {
		t.Errorf("the 401 has no msg for the Python client: %v", out)
	}
	status, out = c.do("GET", "/accounts/operation-key", key, "", nil)
	c.want("the new key", status, out, 200, 0)
	return key, token
}

// TestBots_ThePlatformsFlowWorksWithTheCLI is docs/clients.md's bot flow on the
// served binary's code, every request checked against the OpenAPI
// document.
func TestBots_ThePlatformsFlowWorksWithTheCLI(t *testing.T) {
	t.Parallel()
	n := serveNode(t, nil, "--data", t.TempDir())
	key, token := botFlow(t, apiCaller{t, apiClient, n.url}, t.TempDir())
	if err := n.stop(); err != nil {
		t.Fatal(err)
	}
	noKeysLogged(t, []string{key, token}, n)
}

// TestOpenAPI_EveryRouteIsExercisedAndMatchesTheDocument drives every
// route of the server, its successes and its errors, through a client that
// validates each request and answer against the document (see
// validatingTransport), and fails if a route of the server's table or an
// operation of the document was never exercised. The other end-to-end
// tests use the same validation on everything they send.
func TestOpenAPI_EveryRouteIsExercisedAndMatchesTheDocument(t *testing.T) {
	t.Parallel()
	n := serveNode(t, nil, "--data", t.TempDir())
	seen := newCoverage()
	c := apiCaller{t, newValidatingClient(seen), n.url}

	status, served := c.raw("GET", "/openapi.json", "", "", nil)
	file, err := os.ReadFile(apiDocPath)
	if err != nil || status != 200 || !bytes.Equal(served, file) {
		t.Fatalf("GET /openapi.json: %d, not the document the tests validate against (%v)", status, err)
	}
	for _, p := range []string{"/healthz", "/readyz"} {
		status, out := c.do("GET", p, "", "", nil)
		c.want(p, status, out, 200, 0)
	}

	// Before onboarding, and with a token only.
	_, priv, _ := ed25519.GenerateKey(nil)
	signed := c.signIn(priv, nil)
	token := signed["token"].(string)
	for _, r := range []struct {
		method, path string
		status, code int
	}{
		{"GET", "/accounts/operation-key", 404, 4405},
		{"GET", "/accounts/spot-account", 404, 4406},
		{"PATCH", "/accounts/spot-account", 404, 4406},
		{"PUT", "/accounts/spot-account", 404, 4406},
		{"GET", "/accounts/api-key", 404, 4404},
		{"DELETE", "/accounts/api-key", 404, 4404},
	} {
		blob, _ := fakeOperationKeyN(0)
		status, out := c.do(r.method, r.path, "", token, map[string]any{"encrypted_operation_key": blob})
		c.want(r.method+" "+r.path+" before onboarding", status, out, r.status, r.code)
	}

	// The flow, then what is left: errors of every kind.
	key, token := botFlow(t, c, t.TempDir())
	blob, hash := fakeOperationKeyN(1)
	create := map[string]any{"encrypted_operation_key": blob, "operation_key_hash": hash, "is_script_operation_key": true}
	for _, r := range []struct {
		what, method, path, key, token string
		body                           any
		status, code                   int
	}{
		{"a second onboarding", "POST", "/accounts/spot-account", "", token, create, 409, 4090},
		{"a key-only onboarding", "POST", "/accounts/spot-account", key, "", create, 403, 4031},
		{"a key-only re-encryption", "PATCH", "/accounts/spot-account", key, "", map[string]any{"encrypted_operation_key": blob}, 403, 4031},
		{"another user's id", "PUT", "/accounts/spot-account", "", token, map[string]any{"user_id": "someone", "encrypted_operation_key": blob}, 403, 4030},
		{"a bad blob", "POST", "/accounts/spot-account", "", token, map[string]any{"encrypted_operation_key": "{}", "operation_key_hash": hash, "is_script_operation_key": true}, 400, 4000},
		{"a bad re-encryption", "PATCH", "/accounts/spot-account", "", token, map[string]any{"encrypted_operation_key": "{}"}, 400, 4000},
		{"an oversized body", "POST", "/accounts/spot-account", "", token, map[string]any{"encrypted_operation_key": strings.Repeat("A", 20<<10)}, 413, 4130},
		{"no credential", "GET", "/accounts/spot-account", "", "", nil, 401, 4010},
		{"no credential", "POST", "/accounts/spot-account", "", "", create, 401, 4010},
		{"no credential", "GET", "/accounts/operation-key", "", "", nil, 401, 4010},
		{"no credential", "GET", "/accounts/api-key", "", "", nil, 401, 4010},
		{"no credential", "DELETE", "/accounts/api-key", "", "", nil, 401, 4010},
		{"no credential", "GET", "/accounts/new-api-key", "", "", nil, 401, 4010},
		{"a re-encryption with the token", "PATCH", "/accounts/spot-account", "", token, map[string]any{"encrypted_operation_key": blob}, 200, 0},
		{"a re-encryption with the token", "PUT", "/accounts/spot-account", key, token, map[string]any{"encrypted_operation_key": blob}, 200, 0},
		{"the spot account with the key", "GET", "/accounts/spot-account", key, "", nil, 200, 0},
		{"a gateway's check of the key", "GET", "/auth/verify", key, "", nil, 200, 0},
		{"a gateway's check of the token", "POST", "/auth/verify", "", token, nil, 200, 0},
		{"a gateway's check without a credential", "GET", "/auth/verify", "", "", nil, 401, 4010},
		{"the sessions with the token", "GET", "/accounts/sessions", "", token, nil, 200, 0},
		{"a key-only sign-out", "POST", "/accounts/signout", key, "", nil, 403, 4031},
		{"signing out everywhere with the key", "DELETE", "/accounts/sessions", key, "", nil, 200, 0},
		{"a token after signing out everywhere", "GET", "/accounts/sessions", "", token, nil, 401, 4010},
		{"the key's revocation", "DELETE", "/accounts/api-key", key, "", nil, 200, 0},
		{"a malformed challenge", "POST", "/accounts/signin/challenge", "", "", map[string]any{"wallet_address": "nope"}, 400, 4000},
		{"a failed proof", "POST", "/accounts/signin", "", "", map[string]any{"wallet_address": "addr1", "nonce": "n", "signature": "s", "key": "k"}, 401, 4010},
		{"a half onboarding", "POST", "/accounts/signin", "", "", map[string]any{"wallet_address": "addr1", "nonce": "n", "signature": "s", "key": "k", "encrypted_operation_key": blob}, 400, 4000},
		{"an oversized sign-in", "POST", "/accounts/signin", "", "", map[string]any{"wallet_address": strings.Repeat("a", 20<<10)}, 413, 4130},
	} {
		status, out := c.do(r.method, r.path, r.key, r.token, r.body)
		c.want(r.what+": "+r.method+" "+r.path, status, out, r.status, r.code)
	}
	// A later sign-in carrying an operation key: the account has one, so
	// it is ignored.
	again := c.signIn(priv, create)
	if again["is_onboarding_ready"] != true {
		t.Errorf("a later onboarding sign-in: %v", again)
	}
	status, out := c.do("POST", "/accounts/signout", "", again["token"].(string), nil)
	c.want("signing out", status, out, 204, 0)
	status, raw := c.raw("GET", "/accounts/nope", "", "", nil)
	if status != 404 {
		t.Errorf("an unknown path: %d %s", status, raw)
	}

	// A route without a method (the gateways' check answers every one) is
	// exercised by whatever method reached it.
	routeOf := map[string]string{} // an exercised "METHOD /path" → the server's route
	for _, p := range httpapi.APIRoutes() {
		routeOf[p] = p
		if !strings.Contains(p, " ") {
			for op := range seen.ops {
				if _, path, _ := strings.Cut(op, " "); path == p {
					routeOf[op] = p
				}
			}
		}
	}
	exercised := map[string][]int{}
	for op := range seen.ops {
		if p, ok := routeOf[op]; ok {
			exercised[p] = append(exercised[p], seen.statuses(op)...)
		} else {
			t.Errorf("%s was exercised and validated, but is not a route of the server", op)
		}
	}
	for _, p := range httpapi.APIRoutes() {
		if len(exercised[p]) == 0 {
			t.Errorf("the server's route %s was never exercised", p)
		}
		t.Logf("%-32s %v", p, exercised[p])
	}
}
