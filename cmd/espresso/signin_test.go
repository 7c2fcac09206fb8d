package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// postJSON sends body to url and decodes the JSON answer.
func postJSON(t *testing.T, url string, body any) (int, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(body)
	resp, err := apiClient.Post(url, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("answer is not JSON: %q", raw)
	}
	return resp.StatusCode, out
}

// TestWalletCLI_SignInWalkThrough is the README's sign-in walk-through: a
// test wallet from `espresso wallet new`, a challenge from the server,
// `espresso wallet sign`, sign-in, and a first key generated with the token.
// The token still works after the server restarts (the secret is kept with
// the data).
func TestWalletCLI_SignInWalkThrough(t *testing.T) {
	t.Parallel()
	data, dir := t.TempDir(), t.TempDir()
	n := serveNode(t, nil, "--data", data, "--public-url", "https://espresso.example")
	keyFile := filepath.Join(dir, "wallet.json")
	out, errOut, err := cli(t, nil, "wallet", "new", "--out", keyFile)
	if err != nil {
		t.Fatalf("wallet new: %v %s", err, errOut)
	}
	var w struct{ Address string }
	if err := json.Unmarshal([]byte(out), &w); err != nil || !strings.HasPrefix(w.Address, "addr1") {
		t.Fatalf("wallet new printed %q", out)
	}
	if fi, err := os.Stat(keyFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode: %v %v", fi.Mode(), err)
	}
	if _, _, err := cli(t, nil, "wallet", "new", "--out", keyFile); err == nil {
		t.Error("wallet new overwrote an existing key file")
	}

	status, ch := postJSON(t, n.url+"/accounts/signin/challenge", map[string]string{"wallet_address": w.Address})
	if status != 200 {
		t.Fatalf("challenge: %d %v", status, ch)
	}
	msgFile := filepath.Join(dir, "message.txt")
	if err := os.WriteFile(msgFile, []byte(ch["message"].(string)), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, err = cli(t, nil, "wallet", "sign", "--key", keyFile, "--message-file", msgFile)
	if err != nil {
		t.Fatalf("wallet sign: %v %s", err, errOut)
	}
	var signed struct{ Signature, Key string }
	if err := json.Unmarshal([]byte(out), &signed); err != nil || signed.Signature == "" || signed.Key == "" {
		t.Fatalf("wallet sign printed %q", out)
	}
	status, sess := postJSON(t, n.url+"/accounts/signin", map[string]string{
		"wallet_address": w.Address, "nonce": ch["nonce"].(string), "signature": signed.Signature, "key": signed.Key})
	if status != 200 || sess["is_first_time"] != true {
		t.Fatalf("signin: %d %v", status, sess)
	}
	token := sess["token"].(string)

	req, _ := http.NewRequest("GET", n.url+"/accounts/new-api-key", nil)
	req.Header.Set("Authorization", token)
	resp, err := apiClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var issued struct {
		APIKey string `json:"api_key"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&issued)
	resp.Body.Close()
	if resp.StatusCode != 200 || issued.APIKey == "" {
		t.Fatalf("new-api-key with the token: %d", resp.StatusCode)
	}

	// The same wallet's account is the one the operator CLI knows.
	if _, _, err := cli(t, nil, "account", "create", "--wallet", w.Address, "--data", data); err == nil {
		t.Error("account create for a wallet that signed in succeeded")
	}

	if err := n.stop(); err != nil {
		t.Fatal(err)
	}
	n2 := serveNode(t, nil, "--data", data, "--public-url", "https://espresso.example")
	req, _ = http.NewRequest("GET", n2.url+"/accounts/api-key", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err = apiClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("the token after a restart: %d", resp.StatusCode)
	}
	noKeysLogged(t, []string{issued.APIKey, token}, n, n2)
}

func TestServe_TakesTheTokenSecretFromTheEnvironment(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	if _, _, err := cli(t, map[string]string{"ESPRESSO_JWT_SECRET": "too short"}, "serve", "--data", data, "--addr", freeAddr(t)); err == nil {
		t.Error("a short ESPRESSO_JWT_SECRET was accepted")
	}
}
