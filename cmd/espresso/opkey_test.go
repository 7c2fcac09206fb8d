package main

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/espresso-auth/espresso/internal/platformclient"
	"github.com/espresso-auth/espresso/wallet"
)

// openOperationKey opens blob as the platform's Go client would.
func openOperationKey(t testing.TB, blob, password string) string {
	t.Helper()
	plain, err := platformclient.OpenOperationKey(blob, password)
	if err != nil {
		t.Fatal(err)
	}
	return string(plain)
}

// operationKey runs `wallet operation-key` with the password on stdin and
// --key-out in dir, and returns what it printed and the key file's text.
func operationKey(t testing.TB, dir, password string) (operationKeyJSON, string) {
	t.Helper()
	keyFile := filepath.Join(dir, "operation.key")
	out, errOut, err := cliIn(t, nil, password+"\n", "wallet", "operation-key", "--key-out", keyFile)
	if err != nil {
		t.Fatalf("wallet operation-key: %v (%s)", err, errOut)
	}
	var printed operationKeyJSON
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&printed); err != nil || dec.More() {
		t.Fatalf("wallet operation-key printed %q: want one {encrypted_operation_key, operation_key_hash}", out)
	}
	raw, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(keyFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the key file's mode is %v (%v), want 0600", fi.Mode().Perm(), err)
	}
	return printed, strings.TrimSuffix(string(raw), "\n")
}

func TestWalletOperationKey_SealsARootKeyEveryClientOpens(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	printed, key := operationKey(t, dir, "correct horse battery staple")
	if _, err := wallet.ParseRootKey(key); err != nil || !strings.HasPrefix(key, "xprv1") || len(key) != 165 {
		t.Fatalf("the key file holds %.12q… (%d characters): want a root key in bech32, %v", key, len(key), err)
	}
	if got := openOperationKey(t, printed.EncryptedOperationKey, "correct horse battery staple"); got != key {
		t.Errorf("the blob opens to %.12q…, the key file holds %.12q…", got, key)
	}
	sum := sha256.Sum256([]byte(key))
	if printed.OperationKeyHash != hex.EncodeToString(sum[:]) {
		t.Errorf("operation_key_hash %s is not the hex SHA-256 of the key's text", printed.OperationKeyHash)
	}
	var fields map[string]string
	if err := json.Unmarshal([]byte(printed.EncryptedOperationKey), &fields); err != nil || len(fields) != 3 {
		t.Fatalf("the blob %s is not {iv, salt, ciphertext}", printed.EncryptedOperationKey)
	}
	if salt, _ := base64.StdEncoding.DecodeString(fields["salt"]); len(salt) != 16 {
		t.Errorf("a %d-byte salt, want 16", len(salt))
	}

	// The same from a password file; the key file is never overwritten.
	pw := filepath.Join(dir, "password.txt")
	if err := os.WriteFile(pw, []byte("from a file\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, _, err := cli(t, nil, "wallet", "operation-key", "--password-file", pw)
	var again operationKeyJSON
	if err != nil || json.Unmarshal([]byte(out), &again) != nil {
		t.Fatalf("with --password-file: %v %q", err, out)
	}
	if _, err := wallet.ParseRootKey(openOperationKey(t, again.EncryptedOperationKey, "from a file")); err != nil {
		t.Errorf("the key sealed with the file's password: %v", err)
	}
	if again.OperationKeyHash == printed.OperationKeyHash {
		t.Error("two runs made the same key")
	}
	if _, _, err := cliIn(t, nil, "pw\n", "wallet", "operation-key", "--key-out", filepath.Join(dir, "operation.key")); err == nil {
		t.Error("--key-out overwrote an existing key file")
	}
	if raw, _ := os.ReadFile(filepath.Join(dir, "operation.key")); strings.TrimSpace(string(raw)) != key {
		t.Error("the key file changed")
	}
}

func TestWalletOperationKey_RefusesAnEmptyOrMultiLinePassword(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	twoLines := filepath.Join(dir, "two-lines")
	if err := os.WriteFile(twoLines, []byte("first\nsecond\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		stdin string
		args  []string
	}{
		"nothing on standard input": {"", nil},
		"an empty line":             {"\n", nil},
		"an empty password file":    {"", []string{"--password-file", empty}},
		"a two-line password file":  {"", []string{"--password-file", twoLines}},
		"a missing password file":   {"", []string{"--password-file", filepath.Join(dir, "nope")}},
	} {
		keyOut := filepath.Join(dir, name)
		out, _, err := cliIn(t, nil, c.stdin, append([]string{"wallet", "operation-key", "--key-out", keyOut}, c.args...)...)
		if err == nil || out != "" {
			t.Errorf("%s: %v, printed %q; want a failure and nothing printed", name, err, out)
		}
		if _, err := os.Stat(keyOut); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: a key file was written", name)
		}
	}
	// Standard input's first line is the password: what follows is not.
	out, _, err := cliIn(t, nil, "line one\nline two\n", "wallet", "operation-key")
	var printed operationKeyJSON
	if err != nil || json.Unmarshal([]byte(out), &printed) != nil {
		t.Fatalf("a password on stdin's first line: %v", err)
	}
	if _, err := wallet.ParseRootKey(openOperationKey(t, printed.EncryptedOperationKey, "line one")); err != nil {
		t.Error(err)
	}
}

func TestWalletDecryptOperationKey_OpensWhatTheServerHandsBack(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	printed, key := operationKey(t, dir, "s3cret pass")
	answer := filepath.Join(dir, "answer.json")
	raw, _ := json.Marshal(printed)
	if err := os.WriteFile(answer, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, err := cliIn(t, nil, "s3cret pass\n", "wallet", "decrypt-operation-key", "--in", answer)
	var opened struct {
		OperationKey     string `json:"operation_key"`
		OperationKeyHash string `json:"operation_key_hash"`
	}
	if err != nil || json.Unmarshal([]byte(out), &opened) != nil {
		t.Fatalf("decrypt-operation-key: %v %s", err, errOut)
	}
	if opened.OperationKey != key || opened.OperationKeyHash != printed.OperationKeyHash {
		t.Errorf("decrypt-operation-key opened %.12q…, want the key file's %.12q…", opened.OperationKey, key)
	}

	// The answer on stdin, the password from a file, the key to a file.
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(pw, []byte("s3cret pass\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	keyOut := filepath.Join(dir, "bot.key")
	out, errOut, err = cliIn(t, nil, string(raw), "wallet", "decrypt-operation-key", "--password-file", pw, "--key-out", keyOut)
	if err != nil || strings.Contains(out, key) {
		t.Fatalf("decrypt-operation-key --key-out: %v %s, printed %q", err, errOut, out)
	}
	if got, _ := os.ReadFile(keyOut); strings.TrimSpace(string(got)) != key {
		t.Error("--key-out does not hold the key")
	}
	// The blob alone.
	if out, _, err := cliIn(t, nil, printed.EncryptedOperationKey, "wallet", "decrypt-operation-key", "--password-file", pw); err != nil || !strings.Contains(out, key) {
		t.Errorf("the blob alone: %v", err)
	}

	tampered, _ := json.Marshal(operationKeyJSON{EncryptedOperationKey: printed.EncryptedOperationKey, OperationKeyHash: strings.Repeat("0", 64)})
	for name, c := range map[string]struct{ stdin, password string }{
		"a wrong password": {string(raw), "wrong\n"},
		"another hash":     {string(tampered), "s3cret pass\n"},
		"not JSON":         {"nope", "s3cret pass\n"},
		"not a blob":       {`{"encrypted_operation_key":"{}"}`, "s3cret pass\n"},
	} {
		pwFile := filepath.Join(dir, strings.ReplaceAll(name, " ", "-"))
		if err := os.WriteFile(pwFile, []byte(c.password), 0o600); err != nil {
			t.Fatal(err)
		}
		if out, _, err := cliIn(t, nil, c.stdin, "wallet", "decrypt-operation-key", "--password-file", pwFile); err == nil || out != "" {
			t.Errorf("%s: %v, printed %q; want a failure", name, err, out)
		}
	}
}
