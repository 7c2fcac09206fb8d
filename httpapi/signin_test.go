package httpapi

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/espresso-auth/espresso/sessions"
	"github.com/espresso-auth/espresso/wallet"
)

// testWallet is a wallet a test controls: a key and its mainnet address.
type testWallet struct {
	priv ed25519.PrivateKey
	addr wallet.Address
}

func newTestWallet(t testing.TB, n wallet.Network) testWallet {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	return testWallet{priv, wallet.NewEnterpriseAddress(pub, n)}
}

// sign returns the CIP-30 signData answer for message.
func (w testWallet) sign(t testing.TB, message string) (sig, key string) {
	t.Helper()
	sig, key, err := wallet.SignData(w.priv, w.addr, []byte(message))
	if err != nil {
		t.Fatal(err)
	}
	return sig, key
}

// post sends a JSON body and returns the status and decoded answer.
func (e *testEnv) post(path string, body any) (int, map[string]any) {
	e.t.Helper()
	var buf bytes.Buffer
	if s, ok := body.(string); ok {
		buf.WriteString(s)
	} else if err := json.NewEncoder(&buf).Encode(body); err != nil {
		e.t.Fatal(err)
	}
	resp, err := e.srv.Client().Post(e.srv.URL+path, "application/json", &buf)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		e.t.Fatalf("POST %s: answer is not a JSON object: %q", path, raw)
	}
	return resp.StatusCode, out
}

// challenge asks for a challenge for addr, failing on anything but 200.
func (e *testEnv) challenge(addr string) (nonce, message string) {
	e.t.Helper()
	status, out := e.post("/accounts/signin/challenge", map[string]string{"wallet_address": addr})
	if status != 200 {
		e.t.Fatalf("challenge: %d %v", status, out)
	}
	return out["nonce"].(string), out["message"].(string)
}

func proof(addr, nonce, sig, key string) map[string]string {
	return map[string]string{"wallet_address": addr, "nonce": nonce, "signature": sig, "key": key}
}

// signIn runs challenge → sign → sign-in for w and returns the answer.
func (e *testEnv) signIn(w testWallet) map[string]any {
	e.t.Helper()
	nonce, msg := e.challenge(w.addr.String())
	sig, key := w.sign(e.t, msg)
	status, out := e.post("/accounts/signin", proof(w.addr.String(), nonce, sig, key))
	if status != 200 {
		e.t.Fatalf("signin: %d %v", status, out)
	}
	return out
}

func authHeader(token string) http.Header { return http.Header{"Authorization": {token}} }

func TestSignIn_AWalletGetsATokenAndWithItItsFirstKey(t *testing.T) {
	e := newTestEnv(t)
	w := newTestWallet(t, wallet.Mainnet)

	nonce, msg := e.challenge(w.addr.String())
	for _, want := range []string{
		"api.example.test wants you to sign in with your Cardano account:\n" + w.addr.String() + "\n",
		"\nURI: https://api.example.test\n", "\nNetwork: mainnet\n", "\nNonce: " + nonce + "\n",
		"\nIssued At: ", "\nExpiration Time: ",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("the message lacks %q:\n%s", want, msg)
		}
	}
	if len(nonce) < 32 {
		t.Errorf("nonce %q carries fewer than 128 bits", nonce)
	}
	sig, key := w.sign(t, msg)
	status, out := e.post("/accounts/signin", proof(w.addr.String(), nonce, sig, key))
	if status != 200 || len(out) != 4 || out["is_first_time"] != true || out["is_onboarding_ready"] != false ||
		out["user_id"] == "" || out["token"] == "" {
		t.Fatalf("first sign-in: %d %v", status, out)
	}
	token := out["token"].(string)

	if resp, body := e.do("GET", "/accounts/api-key", authHeader(token)); resp.StatusCode != 404 || !strings.Contains(string(body), `"code":4404`) {
		t.Errorf("api-key before any key: %d %s", resp.StatusCode, body)
	}
	resp, body := e.do("GET", "/accounts/new-api-key", authHeader(token))
	if resp.StatusCode != 200 {
		t.Fatalf("new-api-key with a token: %d %s", resp.StatusCode, body)
	}
	var first newAPIKeyResponse
	if err := json.Unmarshal(body, &first); err != nil {
		t.Fatal(err)
	}
	if resp, _ := e.do("GET", "/accounts/api-key", keyHeader(first.APIKey)); resp.StatusCode != 200 {
		t.Errorf("the key issued with a token: %d", resp.StatusCode)
	}
	// The platform's web app sends the token bare; "Bearer" works too.
	resp, body = e.do("GET", "/accounts/api-key", http.Header{"Authorization": {"Bearer " + token}})
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"account_id":"`+out["user_id"].(string)+`"`) {
		t.Errorf("api-key with a Bearer token: %d %s", resp.StatusCode, body)
	}
	// A token-authenticated rotation replaces whatever key is live.
	resp, body = e.do("GET", "/accounts/new-api-key", authHeader(token))
	if resp.StatusCode != 200 {
		t.Fatalf("second new-api-key: %d %s", resp.StatusCode, body)
	}
	if resp, _ := e.do("GET", "/accounts/api-key", keyHeader(first.APIKey)); resp.StatusCode != 401 {
		t.Errorf("the first key still works after a token rotation: %d", resp.StatusCode)
	}

	// An API key is not onboarding: that takes an operation key.
	again := e.signIn(w)
	if again["is_first_time"] != false || again["is_onboarding_ready"] != false || again["user_id"] != out["user_id"] {
		t.Errorf("second sign-in: first time %v, onboarding ready %v", again["is_first_time"], again["is_onboarding_ready"])
	}
	if resp, _ := e.do("DELETE", "/accounts/api-key", authHeader(token)); resp.StatusCode != 200 {
		t.Errorf("revoke with a token: %d", resp.StatusCode)
	}
	if resp, body := e.do("DELETE", "/accounts/api-key", authHeader(token)); resp.StatusCode != 404 || !strings.Contains(string(body), "4404") {
		t.Errorf("revoke with no live key: %d %s", resp.StatusCode, body)
	}
	if strings.Contains(e.logs.String(), token) || strings.Contains(e.logs.String(), first.APIKey) {
		t.Error("the log contains a token or a key")
	}
}

// TestSignIn_EveryFailedProofIs4010AndChangesNothing tries each way a
// sign-in can fail to prove control of the wallet.
func TestSignIn_EveryFailedProofIs4010AndChangesNothing(t *testing.T) {
	e := newTestEnv(t)
	w := newTestWallet(t, wallet.Mainnet)
	other := newTestWallet(t, wallet.Mainnet)
	addr := w.addr.String()

	fresh := func() (string, string) { return e.challenge(addr) }
	cases := map[string]func() map[string]string{
		"tampered signature": func() map[string]string {
			n, m := fresh()
			sig, key := w.sign(t, m)
			return proof(addr, n, sig[:len(sig)-2]+flipHex(sig[len(sig)-2:]), key)
		},
		"signed by another wallet": func() map[string]string {
			n, m := fresh()
			sig, key, err := wallet.SignData(other.priv, other.addr, []byte(m))
			if err != nil {
				t.Fatal(err)
			}
			return proof(addr, n, sig, key)
		},
		"another message signed": func() map[string]string {
			n, m := fresh()
			sig, key := w.sign(t, m+" ")
			return proof(addr, n, sig, key)
		},
		"nonce of another address": func() map[string]string {
			n, m := e.challenge(other.addr.String())
			sig, key := w.sign(t, strings.ReplaceAll(m, other.addr.String(), addr))
			return proof(addr, n, sig, key)
		},
		"made-up nonce": func() map[string]string {
			n, m := fresh()
			made := strings.Repeat("ab", len(n)/2)
			sig, key := w.sign(t, strings.ReplaceAll(m, n, made))
			return proof(addr, made, sig, key)
		},
		"nonce with its expiry moved": func() map[string]string {
			n, m := fresh()
			forged := n[:40] + "ffffffff" + n[48:]
			sig, key := w.sign(t, strings.ReplaceAll(m, n, forged))
			return proof(addr, forged, sig, key)
		},
		"upper-case nonce": func() map[string]string {
			n, m := fresh()
			sig, key := w.sign(t, m)
			return proof(addr, strings.ToUpper(n), sig, key)
		},
		"testnet address": func() map[string]string {
			tw := newTestWallet(t, wallet.Testnet)
			n, m := fresh()
			sig, key := tw.sign(t, m)
			return proof(tw.addr.String(), n, sig, key)
		},
		"empty fields": func() map[string]string { return proof("", "", "", "") },
	}
	for name, mk := range cases {
		t.Run(name, func(t *testing.T) {
			status, out := e.post("/accounts/signin", mk())
			if status != 401 || out["code"] != float64(4010) {
				t.Errorf("%d %v, want 401 4010", status, out)
			}
		})
	}

	t.Run("expired challenge", func(t *testing.T) {
		n, m := fresh()
		sig, key := w.sign(t, m)
		e.clock.Advance(5*time.Minute + time.Second)
		defer e.clock.Advance(-5*time.Minute - time.Second)
		if status, out := e.post("/accounts/signin", proof(addr, n, sig, key)); status != 401 {
			t.Errorf("%d %v", status, out)
		}
	})
	t.Run("used nonce", func(t *testing.T) {
		n, m := fresh()
		sig, key := w.sign(t, m)
		if status, _ := e.post("/accounts/signin", proof(addr, n, sig, key)); status != 200 {
			t.Fatalf("first use: %d", status)
		}
		if status, out := e.post("/accounts/signin", proof(addr, n, sig, key)); status != 401 {
			t.Errorf("second use: %d %v", status, out)
		}
	})
	// Only the one successful sign-in left an account.
	if _, err := e.st.AccountByWallet(context.Background(), other.addr.String()); err == nil {
		t.Error("a failed proof created an account for the other wallet")
	}
}

func flipHex(s string) string {
	if s[1] == '0' {
		return s[:1] + "1"
	}
	return s[:1] + "0"
}

func TestSignIn_MalformedBodiesAre400Or413(t *testing.T) {
	e := newTestEnv(t)
	for name, body := range map[string]string{
		"not JSON":            "wallet_address=addr1",
		"an array":            `["addr1"]`,
		"a number for a text": `{"wallet_address": 1, "nonce": "n", "signature": "s", "key": "k"}`,
		"missing key":         `{"wallet_address": "a", "nonce": "n", "signature": "s"}`,
		"trailing data":       `{"wallet_address": "a", "nonce": "n", "signature": "s", "key": "k"} {}`,
		"invalid UTF-8":       "{\"wallet_address\": \"\xff\"}",
		"empty":               "",
	} {
		for _, path := range []string{"/accounts/signin", "/accounts/signin/challenge"} {
			if status, out := e.post(path, body); status != 400 || out["code"] != float64(4000) {
				if !(path == "/accounts/signin/challenge" && name == "missing key") {
					t.Errorf("%s to %s: %d %v", name, path, status, out)
				}
			}
		}
	}
	// Oversized is 413 whatever the body holds: it is not parsed at all.
	for name, big := range map[string]string{
		"20 KB of JSON":           `{"wallet_address": "` + strings.Repeat("a", 20<<10) + `"}`,
		"20 KB of text":           strings.Repeat("not JSON ", 20<<10/9),
		"a JSON error then 20 KB": "}" + strings.Repeat(" ", 20<<10),
		"an object then 20 KB":    `{"wallet_address": "a"}` + strings.Repeat(" ", 20<<10),
	} {
		for _, path := range []string{"/accounts/signin", "/accounts/signin/challenge"} {
			if status, out := e.post(path, big); status != 413 || out["code"] != float64(4130) {
				t.Errorf("%s to %s: %d %v", name, path, status, out)
			}
		}
	}
}

func TestChallenge_RefusesAddressesThatCannotSignIn(t *testing.T) {
	e := newTestEnv(t)
	for name, addr := range map[string]string{
		"testnet":  newTestWallet(t, wallet.Testnet).addr.String(),
		"stake":    "stake1uyvfslqkzgrf6syq5r4jg7pqewv8l65phh024lw5r7vk9qgznhyty",
		"garbage":  "hello",
		"empty":    "",
		"SQL":      "addr1' OR 1=1 --",
		"too long": "addr1" + strings.Repeat("q", 5000),
	} {
		if status, out := e.post("/accounts/signin/challenge", map[string]string{"wallet_address": addr}); status != 400 || out["code"] != float64(4000) {
			t.Errorf("%s: %d %v", name, status, out)
		}
	}
}

// TestChallenge_AFloodWritesNothingAndIsRateLimitedPerClient asks for many
// challenges: after the budget the answer is 429 4290, a forged
// X-Forwarded-For from an untrusted peer does not help, and storage is
// untouched.
func TestChallenge_AFloodWritesNothingAndIsRateLimitedPerClient(t *testing.T) {
	e := newTestEnvWith(t, 10)
	before := dbFingerprint(t, e)
	addr := newTestWallet(t, wallet.Mainnet).addr.String()
	ok, limited := 0, 0
	for i := range 200 {
		req, _ := http.NewRequest("POST", e.srv.URL+"/accounts/signin/challenge", strings.NewReader(`{"wallet_address":"`+addr+`"}`))
		req.Header.Set("X-Forwarded-For", "10.0.0."+string(rune('0'+i%10)))
		resp, err := e.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch resp.StatusCode {
		case 200:
			ok++
		case 429:
			limited++
			if !strings.Contains(string(body), `"code":4290`) {
				t.Fatalf("429 body %s", body)
			}
		default:
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	if ok != 10 || limited != 190 {
		t.Errorf("%d answered, %d limited; want 10 and 190", ok, limited)
	}
	e.clock.Advance(time.Minute)
	if status, _ := e.post("/accounts/signin/challenge", map[string]string{"wallet_address": addr}); status != 200 {
		t.Errorf("after a minute: %d", status)
	}
	if after := dbFingerprint(t, e); after != before {
		t.Errorf("challenges changed the database: %v -> %v", before, after)
	}
}

// dbFingerprint counts what sign-in could write: accounts, used nonces and
// the key feed's position.
func dbFingerprint(t testing.TB, e *testEnv) [3]int64 {
	t.Helper()
	db := openRaw(t, e)
	var f [3]int64
	for i, q := range []string{"SELECT count(*) FROM accounts", "SELECT count(*) FROM used_nonces", "SELECT coalesce(max(seq), 0) FROM key_events"} {
		if err := db.QueryRow(q).Scan(&f[i]); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// TestSignIn_ConcurrentUsesOfOneNonceYieldOneToken races the same proof.
func TestSignIn_ConcurrentUsesOfOneNonceYieldOneToken(t *testing.T) {
	e := newTestEnv(t)
	w := newTestWallet(t, wallet.Mainnet)
	for round := range 5 {
		n, m := e.challenge(w.addr.String())
		sig, key := w.sign(t, m)
		body, _ := json.Marshal(proof(w.addr.String(), n, sig, key))
		var mu sync.Mutex
		statuses := map[int]int{}
		var wg sync.WaitGroup
		for range 16 {
			wg.Go(func() {
				resp, err := e.srv.Client().Post(e.srv.URL+"/accounts/signin", "application/json", bytes.NewReader(body))
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				mu.Lock()
				statuses[resp.StatusCode]++
				mu.Unlock()
			})
		}
		wg.Wait()
		if statuses[200] != 1 || statuses[401] != 15 {
			t.Fatalf("round %d: %v, want one 200 and 15 401", round, statuses)
		}
	}
}

// TestCredentials_AKeyAndATokenMustBothBeValidAndAgree covers requests that
// carry both an X-API-KEY and a token.
func TestCredentials_AKeyAndATokenMustBothBeValidAndAgree(t *testing.T) {
	e := newTestEnv(t)
	alice, bob := newTestWallet(t, wallet.Mainnet), newTestWallet(t, wallet.Mainnet)
	aliceToken := e.signIn(alice)["token"].(string)
	bobToken := e.signIn(bob)["token"].(string)
	issue := func(token string) string {
		resp, body := e.do("GET", "/accounts/new-api-key", authHeader(token))
		var out newAPIKeyResponse
		if resp.StatusCode != 200 || json.Unmarshal(body, &out) != nil {
			t.Fatalf("new-api-key: %d %s", resp.StatusCode, body)
		}
		return out.APIKey
	}
	aliceKey, bobKey := issue(aliceToken), issue(bobToken)

	// Alice signs in, over the same data, on a server with another secret.
	otherServer, err := sessions.New(e.st, []byte("another server's secret, 32 bytes+"),
		sessions.Options{Network: wallet.Mainnet, PublicURL: "https://api.example.test", TokenTTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	c, err := otherServer.Challenge(alice.addr.String())
	if err != nil {
		t.Fatal(err)
	}
	sig, key := alice.sign(t, c.Message)
	sess, err := otherServer.SignIn(t.Context(), sessions.Proof{Wallet: alice.addr.String(), Nonce: c.Nonce, Signature: sig, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	if sess.AccountID != principalOf(t, e, aliceKey) {
		t.Fatalf("the other server signed alice in as %s", sess.AccountID)
	}
	foreign := sess.Token

	for name, c := range map[string]struct {
		header http.Header
		status int
	}{
		"key and token of one account":  {http.Header{"X-Api-Key": {aliceKey}, "Authorization": {aliceToken}}, 200},
		"key and token of two accounts": {http.Header{"X-Api-Key": {aliceKey}, "Authorization": {bobToken}}, 401},
		"valid key, bad token":          {http.Header{"X-Api-Key": {aliceKey}, "Authorization": {aliceToken + "x"}}, 401},
		"valid key, empty token":        {http.Header{"X-Api-Key": {aliceKey}, "Authorization": {""}}, 401},
		"bad key, valid token":          {http.Header{"X-Api-Key": {"dk_live_nope"}, "Authorization": {aliceToken}}, 401},
		"token twice":                   {http.Header{"Authorization": {aliceToken, aliceToken}}, 401},
		"token of another server":       {http.Header{"Authorization": {foreign}}, 401},
		"bob's key alone":               {http.Header{"X-Api-Key": {bobKey}}, 200},
	} {
		if resp, body := e.do("GET", "/accounts/api-key", c.header); resp.StatusCode != c.status {
			t.Errorf("%s: %d %s, want %d", name, resp.StatusCode, body, c.status)
		}
	}
}

// principalOf returns the account id a key belongs to.
func principalOf(t testing.TB, e *testEnv, key string) string {
	t.Helper()
	p, err := e.keys.Verify(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	return p.AccountID
}
