package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/espresso-auth/espresso/wallet"
)

// TestServe_ReadmeWalkThrough follows the README: create an account with the
// CLI while the server runs, rotate with HTTP, and see the old key refused.
func TestServe_ReadmeWalkThrough(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	n := serveNode(t, nil, "--data", data)
	addr := newWallet(t, wallet.Mainnet)
	acct := mustIssue(t, nil, "account", "create", "--wallet", addr, "--data", data)
	if acct.WalletAddress != addr || acct.AccountID == "" || !strings.HasPrefix(acct.APIKey, "dk_live_") {
		t.Fatalf("account create printed %+v", acct)
	}
	if _, err := time.Parse(time.RFC3339, acct.CreatedAt); err != nil {
		t.Errorf("created_at %q: %v", acct.CreatedAt, err)
	}

	next := rotate(t, n.url, acct.APIKey)
	if status, body := call(t, "GET", n.url+"/accounts/new-api-key", acct.APIKey); status != 401 || !strings.Contains(string(body), `"code":4010`) {
		t.Errorf("old key after rotation: %d %s", status, body)
	}
	if status, _ := call(t, "GET", n.url+"/accounts/api-key", next); status != 200 {
		t.Errorf("new key: %d", status)
	}
	if err := n.stop(); err != nil {
		t.Errorf("graceful stop: %v", err)
	}
	noKeysLogged(t, []string{acct.APIKey, next}, n)
}

func TestCLI_AccountCreateRefusesBadWalletsAndChangesNothing(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	good := newWallet(t, wallet.Mainnet)
	mustIssue(t, nil, "account", "create", "--wallet", good, "--data", data)

	cases := map[string][]string{
		"duplicate wallet":        {"--wallet", good},
		"testnet address":         {"--wallet", newWallet(t, wallet.Testnet)},
		"stake address":           {"--wallet", "stake1uyvfslqkzgrf6syq5r4jg7pqewv8l65phh024lw5r7vk9qgznhyty"},
		"bad checksum":            {"--wallet", good[:len(good)-1] + "q"},
		"garbage":                 {"--wallet", "not-an-address"},
		"no wallet":               {},
		"mainnet address testnet": {"--wallet", good, "--network", "testnet"},
	}
	for name, args := range cases {
		t.Run(name, func(t *testing.T) {
			out, errOut, err := cli(t, nil, append([]string{"account", "create", "--data", data}, args...)...)
			if err == nil {
				t.Fatalf("exit 0, printed %q", out)
			}
			if out != "" {
				t.Errorf("printed %q on stdout", out)
			}
			// main prints the error as one line.
			if msg := err.Error(); strings.Contains(msg, "\n") || msg == "" {
				t.Errorf("reason %q is not one line", msg)
			}
			_ = errOut
		})
	}
	// Only the first account exists: a second rotate/revoke on a refused
	// wallet finds no account.
	if _, _, err := cli(t, nil, "key", "revoke", "--wallet", newWallet(t, wallet.Mainnet), "--data", data); err == nil {
		t.Error("revoke of a wallet without an account succeeded")
	}
}

// TestCLI_ChangesWhileServingAreSeenWithinOneSecond revokes and rotates keys
// from another "process" (the CLI on the same data directory) and measures
// how soon the running server refuses the old key.
func TestCLI_ChangesWhileServingAreSeenWithinOneSecond(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	n := serveNode(t, nil, "--data", data)
	addr := newWallet(t, wallet.Mainnet)
	acct := mustIssue(t, nil, "account", "create", "--wallet", addr, "--data", data)
	if status, _ := call(t, "GET", n.url+"/accounts/api-key", acct.APIKey); status != 200 {
		t.Fatalf("fresh key refused: %d", status)
	}

	refusedWithin := func(key string) time.Duration {
		start := time.Now()
		for time.Since(start) < 5*time.Second {
			if status, _ := call(t, "GET", n.url+"/accounts/api-key", key); status == 401 {
				return time.Since(start)
			}
			time.Sleep(5 * time.Millisecond)
		}
		t.Fatal("the server never refused the key")
		return 0
	}

	rotated := mustIssue(t, nil, "key", "rotate", "--wallet", addr, "--data", data)
	if d := refusedWithin(acct.APIKey); d > time.Second {
		t.Errorf("key rotated by the CLI still accepted for %v", d)
	}
	if status, _ := call(t, "GET", n.url+"/accounts/api-key", rotated.APIKey); status != 200 {
		t.Errorf("key issued by the CLI refused: %d", status)
	}
	out, errOut, err := cli(t, nil, "key", "revoke", "--wallet", addr, "--data", data)
	if err != nil {
		t.Fatalf("revoke: %v %s", err, errOut)
	}
	var revoked map[string]string
	if err := json.Unmarshal([]byte(out), &revoked); err != nil || revoked["revoked_at"] == "" || strings.Contains(out, rotated.APIKey) {
		t.Errorf("revoke printed %q", out)
	}
	if d := refusedWithin(rotated.APIKey); d > time.Second {
		t.Errorf("key revoked by the CLI still accepted for %v", d)
	}
	if _, _, err := cli(t, nil, "key", "revoke", "--wallet", addr, "--data", data); err == nil {
		t.Error("revoking an account without a live key succeeded")
	}
}

func TestServe_RefusesADatabaseOfTheOtherNetwork(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	mustIssue(t, nil, "account", "create", "--wallet", newWallet(t, wallet.Mainnet), "--data", data)
	_, _, err := cli(t, nil, "serve", "--addr", freeAddr(t), "--data", data, "--network", "testnet")
	if err == nil || !strings.Contains(err.Error(), "mainnet") {
		t.Fatalf("serve --network testnet on a mainnet database: %v", err)
	}
}

func TestServe_TakesSettingsFromTheEnvironment(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	env := map[string]string{"ESPRESSO_DATA": data, "ESPRESSO_NETWORK": "testnet"}
	n := serveNode(t, env)
	acct := mustIssue(t, env, "account", "create", "--wallet", newWallet(t, wallet.Testnet))
	if !strings.HasPrefix(acct.APIKey, "dk_test_") {
		t.Errorf("testnet key %q", acct.APIKey[:8])
	}
	if status, _ := call(t, "GET", n.url+"/accounts/api-key", acct.APIKey); status != 200 {
		t.Errorf("testnet key on the testnet server: %d", status)
	}
	if _, err := os.Stat(filepath.Join(data, "espresso.db")); err != nil {
		t.Errorf("ESPRESSO_DATA was not used: %v", err)
	}
	if _, _, err := cli(t, map[string]string{"ESPRESSO_JWT_TTL": "soon"}, "serve"); err == nil || exitCode(err) != 2 {
		t.Errorf("a bad ESPRESSO_JWT_TTL: %v", err)
	}
}
