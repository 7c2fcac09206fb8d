package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/espresso-auth/espresso/opkey"
	"github.com/espresso-auth/espresso/wallet"
)

// maxSecretInput bounds what is read for a password or an operation key
// answer: a mistaken file (a disk image, /dev/zero) fails fast instead of
// filling memory.
const maxSecretInput = 64 << 10

// operationKeyJSON is GET /accounts/operation-key's answer, and what
// `wallet operation-key` prints.
type operationKeyJSON struct {
	EncryptedOperationKey string `json:"encrypted_operation_key"`
	OperationKeyHash      string `json:"operation_key_hash"`
}

// walletOperationKey makes an operation key for a bot: a fresh root key,
// sealed with the password as the platform's clients open it.
func walletOperationKey(args []string, getenv func(string) string, stdin io.Reader, stdout io.Writer) error {
	var passwordFile, keyOut string
	fs := newFlagSet("wallet operation-key", stdout)
	fs.StringVar(&passwordFile, "password-file", "", "read the password from this `file` (one line) instead of standard input's first line")
	fs.StringVar(&keyOut, "key-out", "", "also write the plain key to this `file` (mode 0600; must not exist), for the bot's operator")
	if err := parseFlags(fs, args, getenv); err != nil {
		return err
	}
	password, err := readPassword(passwordFile, stdin)
	if err != nil {
		return err
	}
	rk, err := wallet.GenerateRootKey(nil)
	if err != nil {
		return err
	}
	key := []byte(rk.Bech32())
	defer clear(key)
	blob, err := opkey.Seal(key, password)
	if err != nil {
		return err
	}
	if keyOut != "" {
		if err := writeNew(keyOut, append(key, '\n')); err != nil {
			return err
		}
	}
	return printJSON(stdout, operationKeyJSON{EncryptedOperationKey: blob, OperationKeyHash: opkey.Hash(key)})
}

// walletDecryptOperationKey is a bot's side: it opens the operation key
// GET /accounts/operation-key answered with, as the platform's clients'
// load_operation_key does.
func walletDecryptOperationKey(args []string, getenv func(string) string, stdin io.Reader, stdout io.Writer) error {
	var passwordFile, in, keyOut string
	fs := newFlagSet("wallet decrypt-operation-key", stdout)
	fs.StringVar(&in, "in", "", "read the answer of GET /accounts/operation-key (or the encrypted key alone) from this `file` instead of standard input")
	fs.StringVar(&passwordFile, "password-file", "", "read the password from this `file` (one line) instead of standard input's first line")
	fs.StringVar(&keyOut, "key-out", "", "write the key to this `file` (mode 0600; must not exist) instead of printing it")
	if err := parseFlags(fs, args, getenv); err != nil {
		return err
	}
	if in == "" && passwordFile == "" {
		return usagef("standard input can carry the answer or the password, not both: give --in or --password-file")
	}
	var raw []byte
	var err error
	if in == "" {
		raw, err = readAtMost(stdin, "standard input")
	} else {
		raw, err = readFileAtMost(in)
	}
	if err != nil {
		return err
	}
	loaded, err := parseOperationKeyInput(raw)
	if err != nil {
		return err
	}
	password, err := readPassword(passwordFile, stdin)
	if err != nil {
		return err
	}
	key, err := opkey.Open(loaded.EncryptedOperationKey, password)
	if err != nil {
		return err
	}
	defer clear(key)
	hash := opkey.Hash(key)
	if loaded.OperationKeyHash != "" && !strings.EqualFold(loaded.OperationKeyHash, hash) {
		return errors.New("the key opened, but its SHA-256 is not operation_key_hash: the key was sealed by a tool that hashes otherwise, or the answer was altered")
	}
	if _, err := wallet.ParseRootKey(string(key)); err != nil {
		return errors.New("the key opened, but it is not a root key (xprv1…), which the platform's clients load")
	}
	if keyOut != "" {
		if err := writeNew(keyOut, append(key, '\n')); err != nil {
			return err
		}
		return printJSON(stdout, struct {
			KeyFile          string `json:"key_file"`
			OperationKeyHash string `json:"operation_key_hash"`
		}{keyOut, hash})
	}
	return printJSON(stdout, struct {
		OperationKey     string `json:"operation_key"`
		OperationKeyHash string `json:"operation_key_hash"`
	}{string(key), hash})
}

// parseOperationKeyInput reads GET /accounts/operation-key's answer, or a
// blob alone (whose JSON has no encrypted_operation_key).
func parseOperationKeyInput(raw []byte) (operationKeyJSON, error) {
	var loaded operationKeyJSON
	if err := json.Unmarshal(raw, &loaded); err != nil {
		return loaded, errors.New("the input is not JSON: want the answer of GET /accounts/operation-key or an encrypted operation key")
	}
	if loaded.EncryptedOperationKey == "" {
		loaded = operationKeyJSON{EncryptedOperationKey: strings.TrimSpace(string(raw))}
	}
	return loaded, nil
}

// readPassword reads the password from file, which must be one line, or
// from stdin's first line when file is empty; the line's end is not part of
// it. An empty password, and a file of more than one line (likely the
// wrong file), are refused.
func readPassword(file string, stdin io.Reader) (string, error) {
	var (
		raw  []byte
		err  error
		from = "standard input"
	)
	if file == "" {
		// Only the first line: a person typing it ends it with Enter.
		var line string
		line, err = bufio.NewReaderSize(io.LimitReader(stdin, maxSecretInput), 4096).ReadString('\n')
		if errors.Is(err, io.EOF) {
			err = nil
		}
		raw = []byte(line)
	} else {
		from = file
		raw, err = readFileAtMost(file)
	}
	if err != nil {
		return "", err
	}
	s := strings.TrimSuffix(strings.TrimSuffix(string(raw), "\n"), "\r")
	switch {
	case strings.ContainsAny(s, "\r\n"):
		return "", fmt.Errorf("%s: the password must be one line", from)
	case s == "":
		return "", fmt.Errorf("%s: the password is empty", from)
	}
	return s, nil
}

func readFileAtMost(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readAtMost(f, path)
}

func readAtMost(r io.Reader, what string) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxSecretInput+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxSecretInput {
		return nil, fmt.Errorf("%s: over %d KiB, not a password or an operation key", what, maxSecretInput>>10)
	}
	return b, nil
}

// writeNew writes a secret to a new file, readable by its owner only; it
// never overwrites one.
func writeNew(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return fmt.Errorf("%s already exists; not overwriting a key", path)
	}
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// walletOperationKeyCommand is `wallet operation-key`'s entry in the
// command table.
func walletOperationKeyCommand() command {
	return command{name: "wallet operation-key", synopsis: "[--password-file FILE]",
		summary: "make a bot's operation key, sealed with a password",
		about: "Make an operation key for a bot: a fresh Cardano root key (BIP32-Ed25519, 24 words of\n" +
			"entropy, as Icarus wallets derive it), sealed with the password (PBKDF2-HMAC-SHA256 and\n" +
			"AES-256-GCM, a 12-byte IV every platform client opens), and print\n" +
			`{"encrypted_operation_key", "operation_key_hash"} for POST /accounts/spot-account.` + "\n" +
			"The password is --password-file's one line or standard input's first line, never a flag.",
		run: func(_ context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, _ io.Writer) error {
			return walletOperationKey(args, getenv, stdin, stdout)
		}}
}

// walletDecryptOperationKeyCommand is `wallet decrypt-operation-key`'s
// entry in the command table.
func walletDecryptOperationKeyCommand() command {
	return command{name: "wallet decrypt-operation-key", synopsis: "[--in FILE]",
		summary: "open an operation key with its password, as a bot does",
		about: "Open the operation key GET /accounts/operation-key answers with (or an encrypted key\n" +
			"alone), as the platform's clients do at a bot's start-up, check it against its hash, and\n" +
			`print {"operation_key", "operation_key_hash"}, or write the key to --key-out.` + "\n" +
			"Standard input carries the answer (without --in) or the password (without --password-file).",
		run: func(_ context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, _ io.Writer) error {
			return walletDecryptOperationKey(args, getenv, stdin, stdout)
		}}
}
