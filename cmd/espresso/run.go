package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

const usage = `espresso: API keys and wallet sign-in for a trading API.

Usage:
  espresso serve                          run the server
  espresso migrate                        apply database migrations and exit
  espresso account create --wallet ADDR   create a wallet's account and its first key
  espresso key rotate --wallet ADDR       re-issue a wallet's key (the old one stops working)
  espresso key revoke --wallet ADDR       revoke a wallet's key
  espresso wallet new --out FILE          create a test wallet (signing key saved to FILE)
  espresso wallet sign --key FILE --message TEXT
                                          sign TEXT as CIP-30 signData would

Every command takes --help. Every flag can also be set with an ESPRESSO_*
environment variable (e.g. --data is ESPRESSO_DATA).
`

// errUsage marks a mistake in the command line; main exits 2 for it.
var errUsage = errors.New("usage")

func exitCode(err error) int {
	if errors.Is(err, errUsage) || errors.Is(err, flag.ErrHelp) {
		return 2
	}
	return 1
}

// run is the whole program: main only supplies the process's context,
// arguments, environment and output streams, so tests can run it in-process.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := strings.Join(args[1:min(3, len(args))], " ")
	switch {
	case len(args) < 2 || args[1] == "help" || args[1] == "--help" || args[1] == "-h":
		fmt.Fprint(stdout, usage)
		return nil
	case args[1] == "serve":
		return serve(ctx, args[2:], getenv, stdout, stderr)
	case args[1] == "migrate":
		return migrate(ctx, args[2:], getenv, stdout, stderr)
	case cmd == "account create":
		return accountCreate(ctx, args[3:], getenv, stdout, stderr)
	case cmd == "key rotate":
		return keyRotate(ctx, args[3:], getenv, stdout, stderr)
	case cmd == "key revoke":
		return keyRevoke(ctx, args[3:], getenv, stdout, stderr)
	case cmd == "wallet new":
		return walletNew(args[3:], getenv, stdout, stderr)
	case cmd == "wallet sign":
		return walletSign(args[3:], getenv, stdout, stderr)
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("%w: unknown command %q", errUsage, cmd)
}
