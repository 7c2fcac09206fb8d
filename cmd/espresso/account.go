package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/espresso-auth/espresso"
	"github.com/espresso-auth/espresso/keys"
	"github.com/espresso-auth/espresso/store"
	"github.com/espresso-auth/espresso/wallet"
)

// issuedOutput is what account create and key rotate print: the one time the
// key is shown.
type issuedOutput struct {
	AccountID     string `json:"account_id"`
	WalletAddress string `json:"wallet_address"`
	APIKey        string `json:"api_key"`
	CreatedAt     string `json:"created_at"`
}

type revokedOutput struct {
	AccountID     string `json:"account_id"`
	WalletAddress string `json:"wallet_address"`
	MaskedKey     string `json:"masked_key"`
	RevokedAt     string `json:"revoked_at"`
}

// operatorCommand parses the flags shared by the operator commands, checks
// the wallet address against the network and opens the database, which only
// a command that may create it (account create) creates.
func operatorCommand(ctx context.Context, name string, create bool, args []string, getenv func(string) string, stdout io.Writer) (*config, string, *store.Store, error) {
	var c config
	var addr string
	fs := newFlagSet(name, stdout)
	c.storeFlags(fs)
	fs.StringVar(&addr, "wallet", "", "the account's Cardano wallet `address` (bech32), required")
	if err := parseFlags(fs, args, getenv); err != nil {
		return nil, "", nil, err
	}
	network, _, err := c.networks()
	if err != nil {
		return nil, "", nil, err
	}
	if addr == "" {
		return nil, "", nil, usagef("--wallet is required")
	}
	parsed, err := wallet.ParsePaymentAddress(addr, network)
	if err != nil {
		return nil, "", nil, usagef("--wallet: not a %s payment-key address: %v", c.Network, err)
	}
	addr = parsed.String() // the canonical (lower-case) form, as sign-in stores it
	st, _, err := openStore(ctx, &c, create, nil)
	if err != nil {
		return nil, "", nil, err
	}
	return &c, addr, st, nil
}

func accountCreate(ctx context.Context, args []string, getenv func(string) string, _ io.Reader, stdout, stderr io.Writer) error {
	c, addr, st, err := operatorCommand(ctx, "account create", true, args, getenv, stdout)
	if err != nil {
		return err
	}
	defer st.Close()
	_, env, _ := c.networks()
	issued, err := keys.New(st, keys.Options{Env: env}).CreateAccount(ctx, addr)
	if errors.Is(err, espresso.ErrAccountExists) {
		return fmt.Errorf("%s already has an account (use `espresso key rotate` to re-issue its key)", addr)
	}
	if err != nil {
		return err
	}
	return printJSON(stdout, issuedOutput{issued.AccountID, addr, issued.Key.String(), timestamp(issued.CreatedAt)})
}

func keyRotate(ctx context.Context, args []string, getenv func(string) string, _ io.Reader, stdout, stderr io.Writer) error {
	c, addr, st, err := operatorCommand(ctx, "key rotate", false, args, getenv, stdout)
	if err != nil {
		return err
	}
	defer st.Close()
	_, env, _ := c.networks()
	acct, err := account(ctx, st, addr)
	if err != nil {
		return err
	}
	issued, err := keys.New(st, keys.Options{Env: env}).Rotate(ctx, acct.ID, nil)
	if err != nil {
		return err
	}
	return printJSON(stdout, issuedOutput{acct.ID, acct.WalletAddress, issued.Key.String(), timestamp(issued.CreatedAt)})
}

func keyRevoke(ctx context.Context, args []string, getenv func(string) string, _ io.Reader, stdout, stderr io.Writer) error {
	c, addr, st, err := operatorCommand(ctx, "key revoke", false, args, getenv, stdout)
	if err != nil {
		return err
	}
	defer st.Close()
	_, env, _ := c.networks()
	acct, err := account(ctx, st, addr)
	if err != nil {
		return err
	}
	revoked, err := keys.New(st, keys.Options{Env: env}).Revoke(ctx, acct.ID, nil)
	if errors.Is(err, espresso.ErrNoKey) {
		return fmt.Errorf("%s has no live key", addr)
	}
	if err != nil {
		return err
	}
	return printJSON(stdout, revokedOutput{acct.ID, acct.WalletAddress, revoked.Masked, timestamp(revoked.RevokedAt)})
}

func account(ctx context.Context, st *store.Store, addr string) (store.Account, error) {
	acct, err := st.AccountByWallet(ctx, addr)
	if errors.Is(err, espresso.ErrUserNotFound) {
		return store.Account{}, fmt.Errorf("%s has no account (use `espresso account create`)", addr)
	}
	return acct, err
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

type sessionsRevokedOutput struct {
	AccountID     string `json:"account_id"`
	WalletAddress string `json:"wallet_address"`
	Ended         int    `json:"ended"`
}

// sessionRevoke ends every session of the wallet's account. Running
// servers learn of it from the feed, as of a key revocation.
func sessionRevoke(ctx context.Context, args []string, getenv func(string) string, _ io.Reader, stdout, stderr io.Writer) error {
	_, addr, st, err := operatorCommand(ctx, "session revoke", false, args, getenv, stdout)
	if err != nil {
		return err
	}
	defer st.Close()
	acct, err := account(ctx, st, addr)
	if err != nil {
		return err
	}
	ended, _, err := st.EndSessions(ctx, acct.ID)
	if err != nil {
		return err
	}
	return printJSON(stdout, sessionsRevokedOutput{acct.ID, acct.WalletAddress, len(ended)})
}

type accountDeletedOutput struct {
	AccountID     string  `json:"account_id"`
	WalletAddress string  `json:"wallet_address"`
	MaskedKey     *string `json:"masked_key"` // the key revoked; null if it had none
	EndedSessions int     `json:"ended_sessions"`
}

// accountDelete erases the wallet's account: its key revoked and its
// sessions ended, with events every running server follows, then the
// account, its wallet address, keys, sessions and spot account removed.
func accountDelete(ctx context.Context, args []string, getenv func(string) string, _ io.Reader, stdout, stderr io.Writer) error {
	_, addr, st, err := operatorCommand(ctx, "account delete", false, args, getenv, stdout)
	if err != nil {
		return err
	}
	defer st.Close()
	del, err := st.DeleteAccount(ctx, addr)
	if errors.Is(err, espresso.ErrUserNotFound) {
		return fmt.Errorf("%s has no account", addr)
	}
	if err != nil {
		return err
	}
	out := accountDeletedOutput{AccountID: del.Account.ID, WalletAddress: del.Account.WalletAddress, EndedSessions: len(del.Ended)}
	if del.Key.Masked != "" {
		out.MaskedKey = &del.Key.Masked
	}
	return printJSON(stdout, out)
}
