package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/espresso-auth/espresso/store/postgres/pgtest"
	"github.com/espresso-auth/espresso/wallet"
)

// result is what one run of the real binary did.
type result struct {
	stdout, stderr string
	code           int
}

// runBinary runs the real binary with args in the directory dir, with only
// PATH and env in its environment, and returns what it printed and its exit
// status. A run that does not end within 30 s fails the test: a command that
// should have refused to start would otherwise hang it.
func runBinary(t testing.TB, dir string, env map[string]string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary(t), args...)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Fatalf("espresso %s did not exit within 30s; stderr:\n%s", strings.Join(args, " "), stderr.String())
	case errors.As(err, &exit):
	case err != nil:
		t.Fatalf("espresso %s: %v", strings.Join(args, " "), err)
	}
	return result{stdout.String(), stderr.String(), cmd.ProcessState.ExitCode()}
}

// mustBeEmpty fails the test if dir holds anything: a command that must not
// create anything created something.
func mustBeEmpty(t testing.TB, dir, what string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("%s: created %s", what, e.Name())
	}
}

// pgTables counts the tables in the schema that dbURL's search_path names.
func pgTables(t testing.TB, dbURL string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatalf("connecting to count tables: %v", err)
	}
	defer func() { _ = conn.Close(ctx) }()
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()`).Scan(&n); err != nil {
		t.Fatalf("counting tables: %v", err)
	}
	return n
}

// commandFlags is every command with the flags its help must list.
var commandFlags = map[string][]string{
	"serve":          {"addr", "auth-failure-burst", "auth-failure-delay", "auth-failure-rate", "data", "database-url", "event-retention", "jwt-ttl", "log-level", "max-staleness", "network", "prune-interval", "public-url", "session-max-lifetime", "signin-rate", "trusted-proxies"},
	"migrate":        {"data", "database-url", "network"},
	"account create": {"data", "database-url", "network", "wallet"},
	"key rotate":     {"data", "database-url", "network", "wallet"},
	"key revoke":     {"data", "database-url", "network", "wallet"},
	"session revoke": {"data", "database-url", "network", "wallet"},
	"account delete": {"data", "database-url", "network", "wallet"},
	"wallet new":     {"network", "out"},
	"wallet sign":    {"key", "message", "message-file"},
	"version":        nil,

	"wallet operation-key":         {"key-out", "password-file"},
	"wallet decrypt-operation-key": {"in", "key-out", "password-file"},
}

func TestHelp_EveryCommandAndGroupPrintsItsHelpOnStdoutAndExitsZero(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	t.Cleanup(func() { mustBeEmpty(t, dir, "help") }) // after the subtests
	ok := func(t *testing.T, args []string, check func(stdout string) error) {
		t.Helper()
		r := runBinary(t, dir, nil, args...)
		if r.code != 0 || r.stderr != "" {
			t.Errorf("espresso %s: exit %d, stderr %q; want 0 and nothing", strings.Join(args, " "), r.code, r.stderr)
		}
		if err := check(r.stdout); err != nil {
			t.Errorf("espresso %s: %v; printed:\n%s", strings.Join(args, " "), err, r.stdout)
		}
	}

	t.Run("overview", func(t *testing.T) {
		t.Parallel()
		for _, args := range [][]string{{}, {"help"}, {"--help"}, {"-h"}, {"help", "help"}} {
			ok(t, args, func(out string) error {
				if !strings.HasPrefix(out, "espresso: ") || !strings.Contains(out, "Usage: espresso COMMAND") {
					return errors.New("not the overview")
				}
				for name := range commandFlags {
					if !strings.Contains(out, "\n  "+name+" ") {
						return errors.New("does not list " + name)
					}
				}
				return nil
			})
		}
	})
	for name, flags := range commandFlags {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			words := strings.Fields(name)
			for _, args := range [][]string{
				append(slices.Clone(words), "--help"),
				append(slices.Clone(words), "-h"),
				append([]string{"help"}, words...),
			} {
				ok(t, args, func(out string) error {
					if !strings.HasPrefix(out, "Usage: espresso "+name+" ") {
						return errors.New("not the command's help")
					}
					for _, f := range flags {
						if !strings.Contains(out, "\n  --"+f+" ") || !strings.Contains(out, envName(f)) {
							return errors.New("does not describe --" + f + " and " + envName(f))
						}
					}
					return nil
				})
			}
		})
	}
	for _, group := range []string{"account", "key", "wallet"} {
		t.Run(group, func(t *testing.T) {
			t.Parallel()
			for _, args := range [][]string{{group, "--help"}, {group, "-h"}, {"help", group}} {
				ok(t, args, func(out string) error {
					if !strings.HasPrefix(out, "Usage: espresso "+group+" COMMAND") {
						return errors.New("not the group's help")
					}
					for name := range commandFlags {
						if strings.HasPrefix(name, group+" ") && !strings.Contains(out, "\n  "+name+" ") {
							return errors.New("does not list " + name)
						}
					}
					return nil
				})
			}
		})
	}
	t.Run("--public-url documents its default", func(t *testing.T) {
		t.Parallel()
		ok(t, []string{"help", "serve"}, func(out string) error {
			if !strings.Contains(out, "Default: http:// and --addr") {
				return errors.New("--public-url does not say how its default follows --addr")
			}
			return nil
		})
	})
}

func TestUsageErrors_AreOneLineAndAHintOnStderrAndExitTwo(t *testing.T) {
	t.Parallel()
	addr := newWallet(t, wallet.Mainnet)
	const secret = "short-secret-do-not-echo"
	cases := []struct {
		args []string
		env  map[string]string
		msg  string // the first line contains it
		help string // the second line points to `espresso help` and this
	}{
		{[]string{"frob"}, nil, `unknown command "frob"`, ""},
		{[]string{"help", "frob"}, nil, `unknown command "frob"`, ""},
		{[]string{"key", "frob"}, nil, `unknown command "key frob"`, "key"},
		{[]string{"account"}, nil, `"account" needs a command: create`, "account"},
		{[]string{"serve", "--nope"}, nil, "unknown flag --nope", "serve"},
		{[]string{"serve", "extra"}, nil, `unexpected argument "extra"`, "serve"},
		{[]string{"serve", "--addr"}, nil, "--addr needs a value", "serve"},
		{[]string{"serve", "--addr", "nonsense"}, nil, `--addr: "nonsense" is not host:port`, "serve"},
		{[]string{"serve", "--max-staleness", "0s"}, nil, "--max-staleness: must be positive", "serve"},
		{[]string{"serve", "--max-staleness", "soon"}, nil, `--max-staleness: "soon" is not a duration`, "serve"},
		{[]string{"serve", "--jwt-ttl", "0"}, nil, "--jwt-ttl: must be positive", "serve"},
		{[]string{"serve", "--jwt-ttl", "-1h"}, nil, "--jwt-ttl: must be positive", "serve"},
		{[]string{"serve", "--signin-rate", "0"}, nil, "--signin-rate: must be positive", "serve"},
		{[]string{"serve", "--signin-rate", "-1"}, nil, "--signin-rate: must be positive", "serve"},
		{[]string{"serve"}, map[string]string{"ESPRESSO_MAX_STALENESS": "0s"}, "ESPRESSO_MAX_STALENESS: must be positive", "serve"},
		{[]string{"serve"}, map[string]string{"ESPRESSO_JWT_TTL": "-5m"}, "ESPRESSO_JWT_TTL: must be positive", "serve"},
		{[]string{"serve"}, map[string]string{"ESPRESSO_SIGNIN_RATE": "-1"}, "ESPRESSO_SIGNIN_RATE: must be positive", "serve"},
		{[]string{"serve"}, map[string]string{"ESPRESSO_SIGNIN_RATE": "0"}, "ESPRESSO_SIGNIN_RATE: must be positive", "serve"},
		{[]string{"serve"}, map[string]string{"ESPRESSO_JWT_SECRET": secret}, "ESPRESSO_JWT_SECRET: must be at least", "serve"},
		{[]string{"serve"}, map[string]string{"ESPRESSO_JWT_SECRET": strings.Repeat(secret, 2)}, "ESPRESSO_JWT_SECRET: refused: the token secret is too easy to guess", "serve"},
		{[]string{"serve", "--network", "moon"}, nil, "--network: must be mainnet or testnet", "serve"},
		{[]string{"serve", "--log-level", "loud"}, nil, "--log-level: must be debug, info, warn or error", "serve"},
		{[]string{"serve", "--trusted-proxies", "10.0.0.0/8,nonsense"}, nil, `--trusted-proxies: "nonsense" is not a CIDR`, "serve"},
		{[]string{"serve", "--public-url", "ftp://example.com"}, nil, "--public-url: ", "serve"},
		{[]string{"serve", "--public-url", "example.com"}, nil, "--public-url: ", "serve"},
		{[]string{"migrate", "--network", "moon"}, nil, "--network: must be mainnet or testnet", "migrate"},
		{[]string{"account", "create"}, nil, "--wallet is required", "account create"},
		{[]string{"key", "rotate", "--wallet", "garbage"}, nil, "--wallet: not a mainnet payment-key address", "key rotate"},
		{[]string{"key", "revoke", "--wallet", addr, "--network", "testnet"}, nil, "--wallet: not a testnet payment-key address", "key revoke"},
		{[]string{"wallet", "sign"}, nil, "give exactly one of --message and --message-file", "wallet sign"},
		{[]string{"wallet", "new", "--network", "moon"}, nil, "--network: ", "wallet new"},
		{[]string{"version", "extra"}, nil, `unexpected argument "extra"`, "version"},
		{[]string{"wallet", "operation-key", "--password", "hunter2"}, nil, "unknown flag --password", "wallet operation-key"},
		{[]string{"wallet", "decrypt-operation-key"}, nil, "give --in or --password-file", "wallet decrypt-operation-key"},
	}
	for _, c := range cases {
		name := strings.Join(c.args, " ")
		for k, v := range c.env {
			name = k + "=" + v + " " + name
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			args := c.args
			if args[0] == "serve" && !slices.Contains(args, "--addr") {
				// Should serve not refuse, it must not take a port in use.
				args = append(slices.Clone(args), "--addr", freeAddr(t))
			}
			r := runBinary(t, dir, c.env, args...)
			lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
			hint := "Run 'espresso help' for usage."
			if c.help != "" {
				hint = "Run 'espresso help " + c.help + "' for usage."
			}
			if r.code != 2 || r.stdout != "" || len(lines) != 2 ||
				!strings.HasPrefix(lines[0], "espresso: ") || !strings.Contains(lines[0], c.msg) || lines[1] != hint {
				t.Errorf("exit %d, stdout %q, stderr:\n%s\nwant exit 2, nothing on stdout, and on stderr one line with %q, then %q",
					r.code, r.stdout, r.stderr, c.msg, hint)
			}
			if strings.Contains(r.stderr, secret) {
				t.Error("the error repeats the secret")
			}
			mustBeEmpty(t, dir, "a usage error")
		})
	}
}

func TestVersion_PrintsTheBuildAsJSON(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	head, gitErr := exec.Command("git", "rev-parse", "HEAD").Output()
	for _, arg := range []string{"version", "--version"} {
		r := runBinary(t, dir, nil, arg)
		if r.code != 0 || r.stderr != "" {
			t.Fatalf("espresso %s: exit %d, stderr %q", arg, r.code, r.stderr)
		}
		var v struct {
			Version  string `json:"version"`
			Revision string `json:"revision"`
			Time     string `json:"time"`
			Modified *bool  `json:"modified"`
			Go       string `json:"go"`
		}
		dec := json.NewDecoder(strings.NewReader(r.stdout))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&v); err != nil || dec.More() {
			t.Fatalf("espresso %s printed %q: want one JSON object (%v)", arg, r.stdout, err)
		}
		if v.Version == "" || v.Go != runtime.Version() {
			t.Errorf("espresso %s printed %q: want a version and go %s", arg, r.stdout, runtime.Version())
		}
		// The VCS stamp is there only when the build had it (-buildvcs);
		// when it is, it must be the checkout's.
		if v.Revision != "" {
			if !hexRevision.MatchString(v.Revision) {
				t.Errorf("revision %q is not a commit id", v.Revision)
			}
			if gitErr == nil && v.Revision != strings.TrimSpace(string(head)) {
				t.Errorf("revision %s, but the checkout is at %s", v.Revision, head)
			}
			if _, err := time.Parse(time.RFC3339, v.Time); err != nil || v.Modified == nil {
				t.Errorf("espresso %s printed %q: a revision without its time or modified flag", arg, r.stdout)
			}
		}
	}
	mustBeEmpty(t, dir, "version")
}

// migrateJSON is what migrate prints.
type migrateJSON struct {
	Database string   `json:"database"`
	Applied  []string `json:"applied"`
	Version  int64    `json:"version"`
}

// mustMigrate runs migrate with args and decodes what it printed.
func mustMigrate(t *testing.T, dir string, args ...string) (migrateJSON, string) {
	t.Helper()
	r := runBinary(t, dir, nil, append([]string{"migrate"}, args...)...)
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("espresso migrate: exit %d, stderr %q", r.code, r.stderr)
	}
	var m migrateJSON
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil || dec.More() || m.Applied == nil {
		t.Fatalf("espresso migrate printed %q: want one JSON object with a list of applied migrations", r.stdout)
	}
	return m, r.stdout
}

// wantMigrated checks migrate's answer on a new database: it applied
// migrations, and its version is the number of the last one.
func wantMigrated(t *testing.T, m migrateJSON, database string) {
	t.Helper()
	if m.Database != database || len(m.Applied) == 0 || m.Version < 1 {
		t.Fatalf("migrate on a new database printed %+v: want %s, some migrations applied, a version", m, database)
	}
	last, _, _ := strings.Cut(m.Applied[len(m.Applied)-1], "_")
	if n, err := strconv.ParseInt(last, 10, 64); err != nil || n != m.Version {
		t.Errorf("version %d, but the last migration applied is %s", m.Version, m.Applied[len(m.Applied)-1])
	}
}

func TestMigrate_PrintsWhatItAppliedAsJSON(t *testing.T) {
	t.Parallel()
	t.Run("embedded", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		first, _ := mustMigrate(t, dir, "--data", "data")
		wantMigrated(t, first, "sqlite:data")
		again, out := mustMigrate(t, dir, "--data", "data")
		if len(again.Applied) != 0 || !strings.Contains(out, `"applied":[]`) || again.Version != first.Version {
			t.Errorf("migrate on a migrated database printed %s: want nothing applied and version %d", out, first.Version)
		}
	})
	t.Run("PostgreSQL, with a password in the URL", func(t *testing.T) {
		t.Parallel()
		u, err := url.Parse(pgtest.URL(t))
		if err != nil {
			t.Fatal(err)
		}
		const password = "s3cret-not-shown" // trust authentication ignores it
		u.User = url.UserPassword(u.User.Username(), password)
		dbURL := u.String()
		first, out := mustMigrate(t, t.TempDir(), "--database-url", dbURL)
		if strings.Contains(out, password) {
			t.Fatalf("migrate printed the database's password: %s", out)
		}
		wantMigrated(t, first, first.Database)
		if !strings.HasPrefix(first.Database, "postgres://") || !strings.Contains(first.Database, u.Host) {
			t.Errorf("database %q: want the URL without credentials", first.Database)
		}
		again, _ := mustMigrate(t, t.TempDir(), "--database-url", dbURL)
		if len(again.Applied) != 0 || again.Version != first.Version {
			t.Errorf("migrate on a migrated database printed %+v", again)
		}
	})
}

func TestNoDatabase_OnlyServeMigrateAndAccountCreateCreateOne(t *testing.T) {
	t.Parallel()
	addr := newWallet(t, wallet.Mainnet)
	refused := func(t *testing.T, dir string, env map[string]string, where string, args ...string) {
		t.Helper()
		for _, cmd := range [][]string{{"key", "rotate"}, {"key", "revoke"}, {"session", "revoke"}, {"account", "delete"}} {
			r := runBinary(t, dir, env, append(append(cmd, "--wallet", addr), args...)...)
			if r.code != 1 || r.stdout != "" || strings.Count(r.stderr, "\n") != 1 ||
				!strings.HasPrefix(r.stderr, "espresso: no database at "+where) || strings.Contains(r.stderr, "password") {
				t.Errorf("espresso %s: exit %d, stdout %q, stderr %q; want exit 1 and one line: no database at %s",
					strings.Join(cmd, " "), r.code, r.stdout, r.stderr, where)
			}
		}
	}

	t.Run("the embedded database", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		refused(t, dir, nil, "sqlite:typo", "--data", "typo")
		refused(t, dir, map[string]string{"ESPRESSO_DATA": "typo"}, "sqlite:typo")
		refused(t, dir, nil, "sqlite:./espresso-data") // the default
		mustBeEmpty(t, dir, "key rotate and revoke, session revoke, account delete without a database")

		empty := filepath.Join(dir, "empty")
		if err := os.Mkdir(empty, 0o700); err != nil {
			t.Fatal(err)
		}
		refused(t, dir, nil, "sqlite:empty", "--data", "empty")
		mustBeEmpty(t, empty, "key rotate and revoke in an empty directory")

		// account create may create it; then the others find it.
		if r := runBinary(t, dir, nil, "account", "create", "--wallet", addr, "--data", "typo"); r.code != 0 {
			t.Fatalf("account create: exit %d, %s", r.code, r.stderr)
		}
		if r := runBinary(t, dir, nil, "key", "rotate", "--wallet", addr, "--data", "typo"); r.code != 0 || !strings.Contains(r.stdout, `"api_key":"dk_live_`) {
			t.Errorf("key rotate once the database exists: exit %d, %s", r.code, r.stderr)
		}
	})
	t.Run("PostgreSQL", func(t *testing.T) {
		t.Parallel()
		dbURL := pgtest.URL(t)
		refused(t, t.TempDir(), nil, "postgres://", "--database-url", dbURL)
		if n := pgTables(t, dbURL); n != 0 {
			t.Errorf("key rotate and revoke without a database created %d tables", n)
		}
		if r := runBinary(t, t.TempDir(), map[string]string{"ESPRESSO_DATABASE_URL": dbURL}, "account", "create", "--wallet", addr); r.code != 0 {
			t.Fatalf("account create: exit %d, %s", r.code, r.stderr)
		}
		if r := runBinary(t, t.TempDir(), nil, "key", "revoke", "--wallet", addr, "--database-url", dbURL); r.code != 0 || !strings.Contains(r.stdout, `"revoked_at"`) {
			t.Errorf("key revoke once the database exists: exit %d, %s", r.code, r.stderr)
		}
	})
}

func TestServe_ATakenPortFailsBeforeTouchingData(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() }) // after the parallel subtests
	taken := ln.Addr().String()
	check := func(t *testing.T, r result) {
		t.Helper()
		if r.code != 1 || r.stdout != "" || strings.Count(r.stderr, "\n") != 1 ||
			!strings.HasPrefix(r.stderr, "espresso: --addr: ") || !strings.Contains(r.stderr, "address already in use") {
			t.Errorf("serve on a taken port: exit %d, stdout %q, stderr %q; want exit 1 and one line saying the address is in use", r.code, r.stdout, r.stderr)
		}
	}

	t.Run("the embedded database", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		check(t, runBinary(t, dir, nil, "serve", "--addr", taken))
		mustBeEmpty(t, dir, "serve on a taken port")
	})
	t.Run("PostgreSQL", func(t *testing.T) {
		t.Parallel()
		dbURL := pgtest.URL(t)
		check(t, runBinary(t, t.TempDir(), nil, "serve", "--addr", taken, "--database-url", dbURL))
		if n := pgTables(t, dbURL); n != 0 {
			t.Errorf("serve on a taken port created %d tables", n)
		}
	})
}

func TestServe_PublicURLFollowsTheAddress(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t)
	p := startProcess(t, addr, "--data", t.TempDir())
	status, ch := postJSON(t, p.url+"/accounts/signin/challenge", map[string]string{"wallet_address": newWallet(t, wallet.Mainnet)})
	if status != 200 {
		t.Fatalf("challenge: %d %v", status, ch)
	}
	msg, _ := ch["message"].(string)
	if want := "\nURI: http://" + addr + "\n"; !strings.Contains(msg, want) || !strings.HasPrefix(msg, addr+" wants you") {
		t.Errorf("serve --addr %s without --public-url signs in with:\n%s\nwant its URI to be http://%s", addr, msg, addr)
	}
}

func TestDefaultPublicURL_NamesAHostABrowserCanUse(t *testing.T) {
	t.Parallel()
	bound := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9000}
	for addr, want := range map[string]string{
		"127.0.0.1:9000":     "http://127.0.0.1:9000",
		"127.0.0.1:0":        "http://127.0.0.1:9000", // the port it got
		"localhost:9000":     "http://localhost:9000",
		"espresso.lan:9000":  "http://espresso.lan:9000",
		"[::1]:9000":         "http://[::1]:9000",
		":9000":              "http://localhost:9000",
		"0.0.0.0:9000":       "http://localhost:9000",
		"[::]:9000":          "http://localhost:9000",
		"10.1.2.3:9000":      "http://10.1.2.3:9000",
		"[2001:db8::7]:9000": "http://[2001:db8::7]:9000",
	} {
		if got := defaultPublicURL(addr, bound); got != want {
			t.Errorf("--addr %s: %s, want %s", addr, got, want)
		}
	}
}

// hexRevision is what a git commit id looks like.
var hexRevision = regexp.MustCompile(`^[0-9a-f]{40}$`)
