package httpapi

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/espresso-auth/espresso/opkey"
	"github.com/espresso-auth/espresso/wallet"
)

// randomB64 returns n random bytes in standard base64.
func randomB64(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// fakeOperationKey returns a blob and hash of the right form that nobody
// can open: for the tests that only store and read them (sealing costs
// 100,000 PBKDF2 iterations).
func fakeOperationKey() (blob, hash string) {
	h := make([]byte, 32)
	_, _ = rand.Read(h)
	return `{"iv":"` + randomB64(12) + `","salt":"` + randomB64(16) + `","ciphertext":"` + randomB64(181) + `"}`, hex.EncodeToString(h)
}

// send sends method path with a JSON body (a string is sent as it is) and
// the given headers, and returns the status and the raw answer.
func (e *testEnv) send(method, path string, header http.Header, body any) (int, []byte) {
	e.t.Helper()
	var buf bytes.Buffer
	if s, ok := body.(string); ok {
		buf.WriteString(s)
	} else if err := json.NewEncoder(&buf).Encode(body); err != nil {
		e.t.Fatal(err)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, &buf)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header = header.Clone()
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out bytes.Buffer
	_, _ = out.ReadFrom(resp.Body)
	return resp.StatusCode, out.Bytes()
}

// fields decodes a JSON object answer.
func fields(t testing.TB, body []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("not a JSON object: %q", body)
	}
	return m
}

// wantError fails the test unless the answer is status with code.
func wantError(t testing.TB, what string, status int, body []byte, wantStatus, wantCode int) {
	t.Helper()
	if status != wantStatus {
		t.Errorf("%s: %d %s, want %d %d", what, status, body, wantStatus, wantCode)
		return
	}
	if code, _ := errorBody(t, body); code != wantCode {
		t.Errorf("%s: code %d, want %d", what, code, wantCode)
	}
}

// keyFor issues the account's API key with its token.
func (e *testEnv) keyFor(token string) string {
	e.t.Helper()
	status, body := e.send("GET", "/accounts/new-api-key", authHeader(token), "")
	var out newAPIKeyResponse
	if status != 200 || json.Unmarshal(body, &out) != nil {
		e.t.Fatalf("new-api-key: %d %s", status, body)
	}
	return out.APIKey
}

func createBody(blob, hash string) map[string]any {
	return map[string]any{"encrypted_operation_key": blob, "operation_key_hash": hash, "is_script_operation_key": false}
}

// TestOperationKey_ABotWithOnlyItsAPIKeyLoadsWhatTheWalletStored is the
// bot's flow: the owner signs in and onboards a sealed key with the token;
// the bot, holding only the API key and the password, loads and opens it.
func TestOperationKey_ABotWithOnlyItsAPIKeyLoadsWhatTheWalletStored(t *testing.T) {
	e := newTestEnv(t)
	w := newTestWallet(t, wallet.Mainnet)
	signed := e.signIn(w)
	token, userID := signed["token"].(string), signed["user_id"].(string)

	rk, err := wallet.GenerateRootKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	plain := rk.Bech32()
	blob, err := opkey.Seal([]byte(plain), "the owner's password")
	if err != nil {
		t.Fatal(err)
	}
	status, body := e.send("GET", "/accounts/operation-key", authHeader(token), "")
	wantError(t, "operation-key before onboarding", status, body, 404, 4405)
	status, body = e.send("GET", "/accounts/spot-account", authHeader(token), "")
	wantError(t, "spot-account before onboarding", status, body, 404, 4406)

	req := createBody(blob, opkey.Hash([]byte(plain)))
	req["user_id"] = userID
	status, body = e.send("POST", "/accounts/spot-account", authHeader(token), req)
	if status != 200 {
		t.Fatalf("POST spot-account: %d %s", status, body)
	}
	created := fields(t, body)
	if len(created) != 5 || created["account_id"] != userID || created["account_type"] != "spot" ||
		created["encrypted_operation_key"] != blob || created["operation_key_hash"] != opkey.Hash([]byte(plain)) ||
		created["created_at"] == "" {
		t.Errorf("POST spot-account answered %s", body)
	}

	key := e.keyFor(token)
	status, body = e.send("GET", "/accounts/operation-key", keyHeader(key), "")
	if status != 200 {
		t.Fatalf("operation-key with the API key: %d %s", status, body)
	}
	var loaded operationKeyResponse
	if err := json.Unmarshal(body, &loaded); err != nil || len(fields(t, body)) != 2 {
		t.Fatalf("operation-key answered %s", body)
	}
	if loaded.EncryptedOperationKey != blob || loaded.OperationKeyHash != opkey.Hash([]byte(plain)) {
		t.Errorf("operation-key answered another key: %s", body)
	}
	opened, err := opkey.Open(loaded.EncryptedOperationKey, "the owner's password")
	if err != nil || string(opened) != plain || opkey.Hash(opened) != loaded.OperationKeyHash {
		t.Errorf("the bot opened %v: %v", len(opened), err)
	}
	status, body = e.send("GET", "/accounts/spot-account", keyHeader(key), "")
	if status != 200 || !reflect.DeepEqual(fields(t, body), created) {
		t.Errorf("GET spot-account: %d %s, want what POST answered", status, body)
	}
	if again := e.signIn(w); again["is_onboarding_ready"] != true {
		t.Errorf("sign-in after onboarding: is_onboarding_ready %v", again["is_onboarding_ready"])
	}
	if strings.Contains(e.logs.String(), token) || strings.Contains(e.logs.String(), plain) {
		t.Error("the log holds the token or the operation key")
	}
}

// mustJSON encodes v as the server does.
func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSpotAccount_WritesNeedASignInTokenReadsTakeTheKey(t *testing.T) {
	e := newTestEnv(t)
	signed := e.signIn(newTestWallet(t, wallet.Mainnet))
	token := signed["token"].(string)
	key := e.keyFor(token)
	blob, hash := fakeOperationKey()

	for _, method := range []string{"POST", "PATCH", "PUT"} {
		status, body := e.send(method, "/accounts/spot-account", keyHeader(key), createBody(blob, hash))
		wantError(t, method+" with the API key only", status, body, 403, 4031)
	}
	status, body := e.send("GET", "/accounts/spot-account", keyHeader(key), "")
	wantError(t, "GET after the refused writes", status, body, 404, 4406)
	if n := rowCount(t, e, "spot_accounts"); n != 0 {
		t.Errorf("the refused writes stored %d spot accounts", n)
	}

	// A key with its account's token is a signed request.
	both := http.Header{"X-Api-Key": {key}, "Authorization": {token}}
	if status, body := e.send("POST", "/accounts/spot-account", both, createBody(blob, hash)); status != 200 {
		t.Fatalf("POST with the key and the token: %d %s", status, body)
	}
	next, _ := fakeOperationKey()
	status, body = e.send("PATCH", "/accounts/spot-account", keyHeader(key), map[string]string{"encrypted_operation_key": next})
	wantError(t, "PATCH with the API key only", status, body, 403, 4031)
	for _, h := range []http.Header{keyHeader(key), authHeader(token)} {
		if status, body := e.send("GET", "/accounts/operation-key", h, ""); status != 200 || fields(t, body)["encrypted_operation_key"] != blob {
			t.Errorf("GET operation-key: %d %s, want the first blob", status, body)
		}
	}
	for _, h := range []http.Header{{}, keyHeader("dk_live_abc123def456ghi789jkl012mno345"), authHeader(token + "x")} {
		for _, method := range []string{"GET", "POST", "PATCH", "PUT"} {
			status, body := e.send(method, "/accounts/spot-account", h, createBody(blob, hash))
			wantError(t, method+" spot-account with bad credentials", status, body, 401, 4010)
		}
		status, body := e.send("GET", "/accounts/operation-key", h, "")
		wantError(t, "operation-key with bad credentials", status, body, 401, 4010)
	}
}

// rowCount counts a table's rows in the test database.
func rowCount(t testing.TB, e *testEnv, table string) int {
	t.Helper()
	var n int
	if err := openRaw(t, e).QueryRow("SELECT count(*) FROM " + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// badOperationKeys are bodies of POST /accounts/spot-account that must be
// refused with 400 4000, by what is wrong.
func badOperationKeys() map[string]string {
	blob, hash := fakeOperationKey()
	quoted := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	body := func(blob, hash, script string) string {
		return `{"encrypted_operation_key":` + blob + `,"operation_key_hash":` + hash + `,"is_script_operation_key":` + script + `}`
	}
	iv, salt, ct := randomB64(12), randomB64(16), randomB64(32)
	blobOf := func(s string) string { return body(quoted(s), quoted(hash), "false") }
	return map[string]string{
		"no blob":                    `{"operation_key_hash":` + quoted(hash) + `,"is_script_operation_key":false}`,
		"no hash":                    `{"encrypted_operation_key":` + quoted(blob) + `,"is_script_operation_key":false}`,
		"no is_script_operation_key": `{"encrypted_operation_key":` + quoted(blob) + `,"operation_key_hash":` + quoted(hash) + `}`,
		"a string for the boolean":   body(quoted(blob), quoted(hash), `"false"`),
		"a number for the boolean":   body(quoted(blob), quoted(hash), `0`),
		"a null boolean":             body(quoted(blob), quoted(hash), `null`),
		"an object for the blob":     body(blob, quoted(hash), "false"),
		"a number for the hash":      body(quoted(blob), "12", "false"),
		"a blob that is not JSON":    blobOf("not a blob"),
		"an empty blob":              blobOf(""),
		"an unknown blob field":      blobOf(`{"iv":"` + iv + `","salt":"` + salt + `","ciphertext":"` + ct + `","mac":"` + ct + `"}`),
		"a blob without an iv":       blobOf(`{"salt":"` + salt + `","ciphertext":"` + ct + `"}`),
		"an 8-byte IV":               blobOf(`{"iv":"` + randomB64(8) + `","ciphertext":"` + ct + `"}`),
		"a 24-byte IV":               blobOf(`{"iv":"` + randomB64(24) + `","ciphertext":"` + ct + `"}`),
		"an 8-byte salt":             blobOf(`{"iv":"` + iv + `","salt":"` + randomB64(8) + `","ciphertext":"` + ct + `"}`),
		"a ciphertext under the tag": blobOf(`{"iv":"` + iv + `","ciphertext":"` + randomB64(15) + `"}`),
		"URL-safe base64":            blobOf(`{"iv":"` + strings.NewReplacer("+", "-", "/", "_").Replace(randomB64(12)+"+/") + `","ciphertext":"` + ct + `"}`),
		"a blob over 4 KiB":          blobOf(`{"iv":"` + iv + `","ciphertext":"` + randomB64(3100) + `"}`),
		"an empty hash":              body(quoted(blob), `""`, "false"),
		"a hash that is not hex":     body(quoted(blob), `"not hex"`, "false"),
		"an odd hash":                body(quoted(blob), `"abc"`, "false"),
		"a hash of 130 digits":       body(quoted(blob), quoted(strings.Repeat("a", 130)), "false"),
		"not JSON":                   "encrypted_operation_key=x",
		"an array":                   "[]",
	}
}

func TestSpotAccount_EveryBadBlobAndHashIs4000AndStoresNothing(t *testing.T) {
	e := newTestEnv(t)
	w := newTestWallet(t, wallet.Mainnet)
	token := e.signIn(w)["token"].(string)
	for name, body := range badOperationKeys() {
		status, answer := e.send("POST", "/accounts/spot-account", authHeader(token), body)
		wantError(t, "POST with "+name, status, answer, 400, 4000)
	}
	if n := rowCount(t, e, "spot_accounts"); n != 0 {
		t.Fatalf("the refused creations stored %d spot accounts", n)
	}

	// The same at sign-in: refused before the proof is looked at, so that
	// not even the nonce is used.
	blob, hash := fakeOperationKey()
	for name, onboarding := range map[string]map[string]any{
		"a blob that is not one":   {"encrypted_operation_key": "not a blob", "operation_key_hash": hash},
		"a 24-byte IV":             {"encrypted_operation_key": `{"iv":"` + randomB64(24) + `","ciphertext":"` + randomB64(32) + `"}`, "operation_key_hash": hash},
		"a blob over 4 KiB":        {"encrypted_operation_key": `{"iv":"` + randomB64(12) + `","ciphertext":"` + randomB64(3100) + `"}`, "operation_key_hash": hash},
		"an object for the blob":   {"encrypted_operation_key": map[string]string{"iv": randomB64(12)}, "operation_key_hash": hash},
		"a hash that is not hex":   {"encrypted_operation_key": blob, "operation_key_hash": "not hex"},
		"a string for the boolean": {"encrypted_operation_key": blob, "operation_key_hash": hash, "is_script_operation_key": "true"},
		"a blob without its hash":  {"encrypted_operation_key": blob},
	} {
		nonce, msg := e.challenge(w.addr.String())
		sig, key := w.sign(t, msg)
		proof := map[string]any{"wallet_address": w.addr.String(), "nonce": nonce, "signature": sig, "key": key}
		req := map[string]any{}
		for k, v := range proof {
			req[k] = v
		}
		for k, v := range onboarding {
			req[k] = v
		}
		if status, out := e.post("/accounts/signin", req); status != 400 || out["code"] != float64(4000) {
			t.Errorf("sign-in with %s: %d %v, want 400 4000", name, status, out)
			continue
		}
		if status, _ := e.post("/accounts/signin", proof); status != 200 {
			t.Errorf("sign-in with %s used the nonce: the same proof alone then got %d", name, status)
		}
	}
	if n := rowCount(t, e, "spot_accounts"); n != 0 {
		t.Fatalf("the refused sign-ins stored %d spot accounts", n)
	}

	// And when re-encrypting.
	if status, body := e.send("POST", "/accounts/spot-account", authHeader(token), createBody(blob, hash)); status != 200 {
		t.Fatalf("POST: %d %s", status, body)
	}
	before := fields(t, mustGet(t, e, "/accounts/spot-account", token))
	for name, body := range map[string]string{
		"no blob":              `{}`,
		"a null blob":          `{"encrypted_operation_key":null}`,
		"a blob without an iv": `{"encrypted_operation_key":"{\"ciphertext\":\"` + randomB64(32) + `\"}"}`,
		"a 20-byte salt":       `{"encrypted_operation_key":"{\"iv\":\"` + randomB64(12) + `\",\"salt\":\"` + randomB64(20) + `\",\"ciphertext\":\"` + randomB64(32) + `\"}"}`,
		"a number":             `{"encrypted_operation_key":7}`,
	} {
		for _, method := range []string{"PATCH", "PUT"} {
			status, answer := e.send(method, "/accounts/spot-account", authHeader(token), body)
			wantError(t, method+" with "+name, status, answer, 400, 4000)
		}
	}
	if after := fields(t, mustGet(t, e, "/accounts/spot-account", token)); after["encrypted_operation_key"] != before["encrypted_operation_key"] {
		t.Error("a refused re-encryption changed the blob")
	}
}

// mustGet GETs path with the token and returns the 200 answer.
func mustGet(t testing.TB, e *testEnv, path, token string) []byte {
	t.Helper()
	status, body := e.send("GET", path, authHeader(token), "")
	if status != 200 {
		t.Fatalf("GET %s: %d %s", path, status, body)
	}
	return body
}

// TestSpotAccount_TheOlderNoSaltFormIsReturnedByteForByte stores a blob as
// the web app's older code wrote it (a 16-byte IV, no salt), spaced as
// Python's json.dumps spaces it, and reads back exactly that text.
func TestSpotAccount_TheOlderNoSaltFormIsReturnedByteForByte(t *testing.T) {
	e := newTestEnv(t)
	token := e.signIn(newTestWallet(t, wallet.Mainnet))["token"].(string)
	older := `{"iv": "` + randomB64(16) + `", "ciphertext": "` + randomB64(181) + `"}`
	_, hash := fakeOperationKey()
	hash = strings.ToUpper(hash)
	if status, body := e.send("POST", "/accounts/spot-account", authHeader(token), createBody(older, hash)); status != 200 {
		t.Fatalf("POST: %d %s", status, body)
	}
	key := e.keyFor(token)
	status, body := e.send("GET", "/accounts/operation-key", keyHeader(key), "")
	var got operationKeyResponse
	if status != 200 || json.Unmarshal(body, &got) != nil {
		t.Fatalf("GET operation-key: %d %s", status, body)
	}
	if got.EncryptedOperationKey != older || got.OperationKeyHash != hash {
		t.Errorf("got %q %q, want %q %q byte for byte", got.EncryptedOperationKey, got.OperationKeyHash, older, hash)
	}
}

func TestSpotAccount_OnePerAccountOfConcurrentCreationsOneWins(t *testing.T) {
	e := newTestEnv(t)
	token := e.signIn(newTestWallet(t, wallet.Mainnet))["token"].(string)
	const callers = 16
	statuses := make([]int, callers)
	blobs := make([]string, callers)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range callers {
		blob, hash := fakeOperationKey()
		blobs[i] = blob
		body := mustJSON(t, createBody(blob, hash))
		wg.Go(func() {
			<-start
			req, _ := http.NewRequest("POST", e.srv.URL+"/accounts/spot-account", bytes.NewReader(body))
			req.Header.Set("Authorization", token)
			resp, err := e.srv.Client().Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			statuses[i] = resp.StatusCode
		})
	}
	close(start)
	wg.Wait()
	winner, conflicts := -1, 0
	for i, s := range statuses {
		switch s {
		case 200:
			if winner >= 0 {
				t.Fatalf("two creations succeeded (%d and %d)", winner, i)
			}
			winner = i
		case 409:
			conflicts++
		default:
			t.Errorf("caller %d: %d, want 200 or 409", i, s)
		}
	}
	if winner < 0 || conflicts != callers-1 {
		t.Fatalf("%v: want one 200 and %d 409", statuses, callers-1)
	}
	if got := fields(t, mustGet(t, e, "/accounts/operation-key", token)); got["encrypted_operation_key"] != blobs[winner] {
		t.Error("the stored key is not the winner's")
	}
	blob, hash := fakeOperationKey()
	status, body := e.send("POST", "/accounts/spot-account", authHeader(token), createBody(blob, hash))
	wantError(t, "a later POST", status, body, 409, 4090)
}

func TestSpotAccount_AnotherUsersIDIs403AndChangesNothing(t *testing.T) {
	e := newTestEnv(t)
	alice := e.signIn(newTestWallet(t, wallet.Mainnet))
	bob := e.signIn(newTestWallet(t, wallet.Mainnet))
	token := alice["token"].(string)
	blob, hash := fakeOperationKey()
	for _, other := range []any{bob["user_id"], "", "00000000-0000-4000-8000-000000000000"} {
		req := createBody(blob, hash)
		req["user_id"] = other
		status, body := e.send("POST", "/accounts/spot-account", authHeader(token), req)
		wantError(t, "POST naming another user", status, body, 403, 4030)
	}
	status, body := e.send("POST", "/accounts/spot-account", authHeader(token), map[string]any{
		"user_id": 7, "encrypted_operation_key": blob, "operation_key_hash": hash, "is_script_operation_key": false})
	wantError(t, "a number for user_id", status, body, 400, 4000)
	if n := rowCount(t, e, "spot_accounts"); n != 0 {
		t.Fatalf("%d spot accounts stored", n)
	}
	req := createBody(blob, hash)
	req["user_id"] = alice["user_id"]
	if status, body := e.send("POST", "/accounts/spot-account", authHeader(token), req); status != 200 {
		t.Fatalf("POST naming the caller: %d %s", status, body)
	}
	next, _ := fakeOperationKey()
	for _, method := range []string{"PATCH", "PUT"} {
		status, body := e.send(method, "/accounts/spot-account", authHeader(token), map[string]any{"user_id": bob["user_id"], "encrypted_operation_key": next})
		wantError(t, method+" naming another user", status, body, 403, 4030)
	}
	if got := fields(t, mustGet(t, e, "/accounts/operation-key", token)); got["encrypted_operation_key"] != blob {
		t.Error("a refused re-encryption changed the key")
	}
}

func TestSpotAccount_ReencryptingKeepsTheHashAndSaysWhen(t *testing.T) {
	e := newTestEnv(t)
	signed := e.signIn(newTestWallet(t, wallet.Mainnet))
	token := signed["token"].(string)
	next, _ := fakeOperationKey()
	status, body := e.send("PATCH", "/accounts/spot-account", authHeader(token), map[string]string{"encrypted_operation_key": next})
	wantError(t, "PATCH before onboarding", status, body, 404, 4406)
	if n := rowCount(t, e, "spot_accounts"); n != 0 {
		t.Fatalf("PATCH before onboarding stored %d spot accounts", n)
	}

	blob, hash := fakeOperationKey()
	if status, body := e.send("POST", "/accounts/spot-account", authHeader(token), createBody(blob, hash)); status != 200 {
		t.Fatalf("POST: %d %s", status, body)
	}
	created := fields(t, mustGet(t, e, "/accounts/spot-account", token))
	for _, method := range []string{"PATCH", "PUT"} {
		next, otherHash := fakeOperationKey()
		// A hash sent along is ignored: the key is the same, re-sealed.
		status, body := e.send(method, "/accounts/spot-account", authHeader(token), map[string]any{
			"user_id": signed["user_id"], "encrypted_operation_key": next, "operation_key_hash": otherHash})
		if status != 200 {
			t.Fatalf("%s: %d %s", method, status, body)
		}
		got := fields(t, body)
		if len(got) != 6 || got["encrypted_operation_key"] != next || got["operation_key_hash"] != hash ||
			got["account_id"] != signed["user_id"] || got["account_type"] != "spot" ||
			got["created_at"] != created["created_at"] || got["updated_at"] == nil {
			t.Errorf("%s answered %s", method, body)
		}
		loaded := fields(t, mustGet(t, e, "/accounts/operation-key", token))
		if loaded["encrypted_operation_key"] != next || loaded["operation_key_hash"] != hash {
			t.Errorf("after %s, operation-key answers %v", method, loaded)
		}
	}
}

func TestSignIn_OnboardsAtTheFirstSignInThatCarriesAKey(t *testing.T) {
	e := newTestEnv(t)
	w := newTestWallet(t, wallet.Mainnet)
	blob, hash := fakeOperationKey()
	signInWith := func(extra map[string]any) (int, map[string]any) {
		nonce, msg := e.challenge(w.addr.String())
		sig, key := w.sign(t, msg)
		req := map[string]any{"wallet_address": w.addr.String(), "nonce": nonce, "signature": sig, "key": key}
		for k, v := range extra {
			req[k] = v
		}
		return e.post("/accounts/signin", req)
	}
	status, out := signInWith(map[string]any{"encrypted_operation_key": blob})
	if status != 400 || out["code"] != float64(4000) {
		t.Errorf("a blob without its hash: %d %v, want 400 4000", status, out)
	}
	status, out = signInWith(map[string]any{"operation_key_hash": hash, "is_script_operation_key": true})
	if status != 400 || out["code"] != float64(4000) {
		t.Errorf("a hash without its blob: %d %v, want 400 4000", status, out)
	}
	if _, err := e.st.AccountByWallet(t.Context(), w.addr.String()); err == nil {
		t.Fatal("a refused sign-in created the account")
	}

	status, out = signInWith(map[string]any{"encrypted_operation_key": blob, "operation_key_hash": hash, "is_script_operation_key": true})
	if status != 200 || out["is_first_time"] != true || out["is_onboarding_ready"] != true || len(out) != 4 {
		t.Fatalf("the onboarding sign-in: %d %v", status, out)
	}
	token := out["token"].(string)
	loaded := fields(t, mustGet(t, e, "/accounts/operation-key", token))
	if loaded["encrypted_operation_key"] != blob || loaded["operation_key_hash"] != hash {
		t.Errorf("operation-key after the onboarding sign-in: %v", loaded)
	}
	spot, err := e.st.SpotAccount(t.Context(), out["user_id"].(string))
	if err != nil || !spot.Script {
		t.Errorf("is_script_operation_key was not kept: %+v, %v", spot, err)
	}

	// A later sign-in's key is not the first onboarding: ignored.
	other, otherHash := fakeOperationKey()
	status, out = signInWith(map[string]any{"encrypted_operation_key": other, "operation_key_hash": otherHash})
	if status != 200 || out["is_first_time"] != false || out["is_onboarding_ready"] != true {
		t.Errorf("a later sign-in: %d %v", status, out)
	}
	if loaded := fields(t, mustGet(t, e, "/accounts/operation-key", token)); loaded["encrypted_operation_key"] != blob {
		t.Error("a later sign-in replaced the operation key")
	}
	if status, out = signInWith(nil); status != 200 || out["is_onboarding_ready"] != true {
		t.Errorf("a plain sign-in after onboarding: %d %v", status, out)
	}
}
