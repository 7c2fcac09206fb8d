package main

import (
	"context"
	"errors"
	"io"
	"strings"
)

// command is one thing espresso does. Its run function declares its flags
// with newFlagSet and parses them with parseFlags before anything else, so
// that `espresso help NAME` is `espresso NAME --help`.
type command struct {
	name     string // "serve", or "group verb" as in "key rotate"
	synopsis string // its arguments, e.g. "--wallet ADDR"
	summary  string // one line, for the overview
	about    string // a paragraph for its own help; summary if empty
	run      func(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error
}

// commands lists every command, in the order the overview shows them.
func commands() []command {
	return []command{
		{name: "serve", summary: "run the server",
			about: "Run the server until SIGINT or SIGTERM. It checks its flags and binds --addr before it\n" +
				"opens the database (creating and migrating it if needed), so a mistake changes no data.\n" +
				"ESPRESSO_JWT_SECRET (environment only) sets the sign-in token secret; without it the\n" +
				"secret is generated once and kept in the database.",
			run: serve},
		{name: "migrate", summary: "apply the database's migrations (creating it if needed) and exit",
			about: `Apply the migrations the database lacks, creating it if needed, and print
{"database", "applied", "version"} as JSON. serve does the same at start-up.`,
			run: migrate},
		{name: "account create", synopsis: "--wallet ADDR", summary: "create a wallet's account and its first key",
			about: "Create the wallet's account and its first key (creating the database if needed), and\n" +
				"print the key: the only time it is shown.",
			run: accountCreate},
		{name: "key rotate", synopsis: "--wallet ADDR", summary: "re-issue a wallet's key (the old one stops working)",
			about: "Revoke the wallet's live key, if any, issue a new one and print it. The database must exist.",
			run:   keyRotate},
		{name: "key revoke", synopsis: "--wallet ADDR", summary: "revoke a wallet's key",
			about: "Revoke the wallet's live key and print its masked form. The database must exist.",
			run:   keyRevoke},
		{name: "account delete", synopsis: "--wallet ADDR", summary: "erase a wallet's account: key, sessions, address",
			about: "Revoke the wallet's key and end its sessions on every running server (through the feed,\n" +
				"as a key revocation), then remove the account, its wallet address, keys, sessions and\n" +
				"operation key from the database, and print what was erased. The database must exist.",
			run: accountDelete},
		{name: "session revoke", synopsis: "--wallet ADDR", summary: "end every sign-in session of a wallet's account",
			about: "End every sign-in session of the wallet's account: its tokens are refused by every running\n" +
				"server from then on (through the feed, as a key revocation). Its API key stays valid.\n" +
				"Print how many ended. The database must exist.",
			run: sessionRevoke},
		{name: "wallet new", synopsis: "[--out FILE]", summary: "create a test wallet (its signing key saved to FILE)",
			about: "Create a test wallet for trying sign-in without a browser wallet: a fresh Ed25519 key\n" +
				"saved to --out (mode 0600, never overwritten), and its address, printed. Not for real funds.",
			run: func(_ context.Context, args []string, getenv func(string) string, _ io.Reader, stdout, stderr io.Writer) error {
				return walletNew(args, getenv, stdout, stderr)
			}},
		{name: "wallet sign", synopsis: "--message TEXT | --message-file FILE", summary: "sign TEXT as a CIP-30 wallet's signData would",
			run: func(_ context.Context, args []string, getenv func(string) string, _ io.Reader, stdout, stderr io.Writer) error {
				return walletSign(args, getenv, stdout, stderr)
			}},
		walletOperationKeyCommand(),
		walletDecryptOperationKeyCommand(),
		{name: "version", summary: "print the version, as JSON",
			about: `Print {"version", "revision", "time", "modified", "go"} as JSON: the module version and,
when the binary was built from a checkout, its VCS revision and commit time.`,
			run: version},
	}
}

// lookup returns the command called name.
func lookup(name string) (command, bool) {
	for _, c := range commands() {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

// isGroup reports whether word starts two-word commands (account, key,
// session, wallet).
func isGroup(word string) bool {
	for _, c := range commands() {
		if g, _, ok := strings.Cut(c.name, " "); ok && g == word {
			return true
		}
	}
	return false
}

// isHelp reports whether arg asks for help, as the flag package reads it.
func isHelp(arg string) bool {
	return arg == "-h" || arg == "--help" || arg == "-help" || arg == "--h"
}

// run is the whole program: main only supplies the process's context,
// arguments, environment and standard streams, so tests can run it
// in-process.
// Help goes to stdout and returns nil; a mistake in the command line is a
// usage error (see usagef), which main reports in one line and exits 2 for.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		args = args[1:] // the program's name
	}
	if len(args) == 0 || args[0] == "help" || isHelp(args[0]) {
		if len(args) > 0 && args[0] == "help" {
			return help(ctx, args[1:], getenv, stdout, stderr)
		}
		return writeOverview(stdout)
	}
	name, rest := args[0], args[1:]
	if name == "--version" {
		name = "version"
	}
	if isGroup(name) {
		if len(rest) == 0 {
			return withHint(usagef("%q needs a command: %s", name, strings.Join(groupVerbs(name), ", ")), name)
		}
		if isHelp(rest[0]) {
			return writeGroupHelp(stdout, name)
		}
		name, rest = name+" "+rest[0], rest[1:]
	}
	cmd, ok := lookup(name)
	if !ok {
		return withHint(usagef("unknown command %q", name), groupOf(name))
	}
	err := cmd.run(ctx, rest, getenv, stdin, stdout, stderr)
	if errors.Is(err, errHelpShown) {
		return nil
	}
	return withHint(err, name)
}

// help is `espresso help [COMMAND]`.
func help(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	name := strings.Join(args, " ")
	switch {
	case name == "" || name == "help":
		return writeOverview(stdout)
	case isGroup(name):
		return writeGroupHelp(stdout, name)
	}
	cmd, ok := lookup(name)
	if !ok {
		return withHint(usagef("unknown command %q", name), groupOf(name))
	}
	err := cmd.run(ctx, []string{"--help"}, getenv, strings.NewReader(""), stdout, stderr)
	if errors.Is(err, errHelpShown) {
		return nil
	}
	return err
}

// groupOf returns the group of a two-word command name that is not a
// command ("key frob" is in the key group), or "" (the overview).
func groupOf(name string) string {
	if g, _, ok := strings.Cut(name, " "); ok && isGroup(g) {
		return g
	}
	return ""
}

// groupVerbs returns the second words of a group's commands.
func groupVerbs(group string) []string {
	var verbs []string
	for _, c := range commands() {
		if g, v, ok := strings.Cut(c.name, " "); ok && g == group {
			verbs = append(verbs, v)
		}
	}
	return verbs
}
