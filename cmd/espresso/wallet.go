package main

import (
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/espresso-auth/espresso/wallet"
)

// walletFile is a test wallet on disk. It exists so that people can try the
// sign-in flow without a browser wallet; it is not a wallet for real funds.
type walletFile struct {
	Network    string `json:"network"`
	Address    string `json:"address"`
	SigningKey string `json:"signing_key"` // Ed25519 seed, hex
}

// walletNew creates a test wallet: a fresh Ed25519 key, saved to --out with
// owner-only permissions, and its enterprise address, printed.
func walletNew(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var network, out string
	fs := newFlagSet("wallet new", stdout)
	fs.StringVar(&network, "network", "mainnet", "Cardano `network` of the address: mainnet or testnet")
	fs.StringVar(&out, "out", "wallet.json", "`file` to save the signing key to (mode 0600; must not exist)")
	if err := parseFlags(fs, args, getenv); err != nil {
		return err
	}
	net, err := wallet.ParseNetwork(network)
	if err != nil {
		return usagef("--network: %v", err)
	}
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		return err
	}
	w := walletFile{Network: net.String(), Address: wallet.NewEnterpriseAddress(pub, net).String(), SigningKey: hex.EncodeToString(priv.Seed())}
	body, err := json.MarshalIndent(w, "", "  ")
	if err != nil {
		return err
	}
	f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return fmt.Errorf("%s already exists; not overwriting a signing key", out)
	}
	if err != nil {
		return err
	}
	if _, err := f.Write(append(body, '\n')); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return printJSON(stdout, struct {
		Address string `json:"address"`
		KeyFile string `json:"key_file"`
	}{w.Address, out})
}

// walletSign signs a message exactly as a CIP-30 wallet's
// signData(address, hex(message)) would, and prints the signature and key.
func walletSign(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var keyFile, message, messageFile string
	fs := newFlagSet("wallet sign", stdout)
	fs.StringVar(&keyFile, "key", "wallet.json", "the `file` espresso wallet new wrote")
	fs.StringVar(&message, "message", "", "the `text` to sign (the sign-in challenge's message)")
	fs.StringVar(&messageFile, "message-file", "", "read the text to sign from this `file` instead")
	if err := parseFlags(fs, args, getenv); err != nil {
		return err
	}
	if (message == "") == (messageFile == "") {
		return usagef("give exactly one of --message and --message-file")
	}
	if messageFile != "" {
		b, err := os.ReadFile(messageFile)
		if err != nil {
			return err
		}
		message = string(b)
	}
	w, priv, addr, err := readWallet(keyFile)
	if err != nil {
		return err
	}
	sig, key, err := wallet.SignData(priv, addr, []byte(message))
	if err != nil {
		return err
	}
	return printJSON(stdout, struct {
		WalletAddress string `json:"wallet_address"`
		Signature     string `json:"signature"`
		Key           string `json:"key"`
	}{w.Address, sig, key})
}

func readWallet(path string) (walletFile, ed25519.PrivateKey, wallet.Address, error) {
	var w walletFile
	body, err := os.ReadFile(path)
	if err != nil {
		return w, nil, wallet.Address{}, err
	}
	if err := json.Unmarshal(body, &w); err != nil {
		return w, nil, wallet.Address{}, fmt.Errorf("%s is not a wallet file: %v", path, err)
	}
	seed, err := hex.DecodeString(w.SigningKey)
	if err != nil || len(seed) != ed25519.SeedSize {
		return w, nil, wallet.Address{}, fmt.Errorf("%s: signing_key is not a 32-byte hex seed", path)
	}
	net, err := wallet.ParseNetwork(w.Network)
	if err != nil {
		return w, nil, wallet.Address{}, fmt.Errorf("%s: %v", path, err)
	}
	priv := ed25519.NewKeyFromSeed(seed)
	addr := wallet.NewEnterpriseAddress(priv.Public().(ed25519.PublicKey), net)
	if addr.String() != w.Address {
		return w, nil, wallet.Address{}, fmt.Errorf("%s: the address does not belong to the signing key", path)
	}
	return w, priv, addr, nil
}
