package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jackc/pgx/v5"

	"github.com/espresso-auth/espresso/store"
	"github.com/espresso-auth/espresso/store/postgres"
	"github.com/espresso-auth/espresso/store/postgres/pgtest"
	"github.com/espresso-auth/espresso/store/sqlite"
	"github.com/espresso-auth/espresso/wallet"
)

// sessionBackend is what the session scenario needs of the database
// behind the nodes: a handle to read the token secret as someone holding
// a dump would, how to count rows, and the flags that reach it.
type sessionBackend struct {
	st    *store.Store
	count func(t testing.TB, query string, args ...any) int // a SELECT count(*) with one $1
	env   map[string]string                                 // the CLI's way to the database
}

// TestSessions_OnSQLite runs the session scenario on the embedded database,
// A and B being the same node.
func TestSessions_OnSQLite(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	n := serveNode(t, nil, "--data", dir)
	st, err := sqlite.Open(t.Context(), dir, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, sqlite.FileName)+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	sessionScenario(t, n, n, sessionBackend{st: st, env: map[string]string{"ESPRESSO_DATA": dir},
		count: func(t testing.TB, query string, args ...any) int {
			t.Helper()
			var c int
			if err := db.QueryRowContext(t.Context(), strings.ReplaceAll(query, "$1", "?"), args...).Scan(&c); err != nil {
				t.Fatalf("%s: %v", query, err)
			}
			return c
		}})
}

// TestSessions_OnPostgreSQLTwoNodes runs the session scenario over two
// nodes sharing one PostgreSQL: what one node ends, the other refuses.
func TestSessions_OnPostgreSQLTwoNodes(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.URL(t)
	nodes := pgNodes(t, dbURL, 2, "--public-url", "https://espresso.example")
	st, err := postgres.Open(t.Context(), dbURL, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sessionScenario(t, nodes[0], nodes[1], sessionBackend{st: st, env: map[string]string{"ESPRESSO_DATABASE_URL": dbURL},
		count: func(t testing.TB, query string, args ...any) int {
			t.Helper()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			conn, err := pgx.Connect(ctx, dbURL)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = conn.Close(ctx) }()
			var c int
			if err := conn.QueryRow(ctx, query, args...).Scan(&c); err != nil {
				t.Fatalf("%s: %v", query, err)
			}
			return c
		}})
}

// sessionScenario: a wallet signs in twice (on A, then on B); signing out
// ends only the presenting session, on both nodes; "sign out everywhere"
// with a key ends the rest; a token signed with the database's secret is
// refused with a made-up session id, or naming another issuer or network,
// and accepted only as issued; account delete leaves no key, session or
// address of the account, and both nodes refuse its key and token.
func sessionScenario(t *testing.T, a, b *node, db sessionBackend) {
	ca, cb := apiCaller{t, apiClient, a.url}, apiCaller{t, apiClient, b.url}
	_, priv, _ := ed25519.GenerateKey(nil)
	addr := wallet.NewEnterpriseAddress(priv.Public().(ed25519.PublicKey), wallet.Mainnet).String()
	first := ca.signIn(priv, nil)["token"].(string)
	second := cb.signIn(priv, nil)["token"].(string)
	status, out := ca.do("GET", "/accounts/new-api-key", "", first, nil)
	ca.want("a key with the first token", status, out, 200, 0)
	key := out["api_key"].(string)
	issued := []string{key, first, second}

	// Both tokens work on both nodes; each sees two sessions.
	for _, c := range []apiCaller{ca, cb} {
		for _, tok := range []string{first, second} {
			status, out := c.do("GET", "/accounts/api-key", "", tok, nil)
			c.want("a live token on "+c.base, status, out, 200, 0)
		}
	}
	var listed struct {
		Sessions []struct {
			CreatedAt, LastUsedAt, ExpiresAt string
			Current                          bool
		}
	}
	status, raw := cb.raw("GET", "/accounts/sessions", "", first, nil)
	if err := json.Unmarshal(raw, &listed); status != 200 || err != nil || len(listed.Sessions) != 2 ||
		listed.Sessions[0].Current || !listed.Sessions[1].Current {
		t.Fatalf("GET /accounts/sessions with the first token: %d %s; want two, the older current", status, raw)
	}
	status, raw = ca.raw("GET", "/accounts/sessions", key, "", nil)
	if err := json.Unmarshal(raw, &listed); status != 200 || err != nil || len(listed.Sessions) != 2 ||
		listed.Sessions[0].Current || listed.Sessions[1].Current {
		t.Fatalf("GET /accounts/sessions with the key: %d %s; want two, none current", status, raw)
	}

	// Signing out ends the presenting session only.
	status, out = ca.do("POST", "/accounts/signout", key, "", nil)
	ca.want("signing out with a key", status, out, 403, 4031)
	status, _ = ca.do("POST", "/accounts/signout", "", first, nil)
	ca.want("signing out", status, nil, 204, 0)
	tokenRefused(t, a, first, time.Now(), 0, "the signed-out token on the node that answered")
	tokenRefused(t, b, first, time.Now(), revocationBound, "the signed-out token on the other node")
	status, out = cb.do("GET", "/accounts/api-key", "", second, nil)
	cb.want("the other session after the sign-out", status, out, 200, 0)
	status, out = ca.do("POST", "/accounts/signout", "", first, nil)
	ca.want("signing out again", status, out, 401, 4010)

	// Sign out everywhere, with the key.
	status, out = cb.do("DELETE", "/accounts/sessions", key, "", nil)
	if status != 200 || out["ended"] != float64(1) {
		t.Fatalf("DELETE /accounts/sessions with the key: %d %v, want 200 {\"ended\":1}", status, out)
	}
	tokenRefused(t, b, second, time.Now(), 0, "a token after sign out everywhere, on the node that answered")
	tokenRefused(t, a, second, time.Now(), revocationBound, "a token after sign out everywhere, on the other node")
	mustAccept(t, a.url, key, "the key after sign out everywhere")
	status, raw = ca.raw("GET", "/accounts/sessions", key, "", nil)
	if err := json.Unmarshal(raw, &listed); status != 200 || err != nil || len(listed.Sessions) != 0 {
		t.Fatalf("GET /accounts/sessions after sign out everywhere: %d %s; want none", status, raw)
	}

	// What the database's secret buys: nothing without a live session id.
	secret, err := db.st.Setting(t.Context(), "jwt_secret", func() ([]byte, error) {
		t.Fatal("the database has no token secret")
		return nil, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	third := ca.signIn(priv, nil)["token"].(string)
	issued = append(issued, third)
	var madeUp [16]byte
	_, _ = rand.Read(madeUp[:])
	asIssued := resign(t, third, secret, func(jwt.MapClaims) {})
	for what, tok := range map[string]string{
		"a made-up session id": resign(t, third, secret, func(c jwt.MapClaims) { c["jti"] = hex.EncodeToString(madeUp[:]) }),
		"another issuer":       resign(t, third, secret, func(c jwt.MapClaims) { c["iss"] = "https://testnet.example" }),
		"another network":      resign(t, third, secret, func(c jwt.MapClaims) { c["aud"] = []string{"testnet"} }),
	} {
		for _, n := range []*node{a, b} {
			tokenRefused(t, n, tok, time.Now(), 0, "a token signed with the database's secret with "+what)
		}
	}
	status, out = cb.do("GET", "/accounts/api-key", "", asIssued, nil)
	cb.want("the same claims re-signed (so the refusals above are the claims')", status, out, 200, 0)

	// account delete erases everything, on every node.
	acctID := out["account_id"].(string)
	stdout, stderr, err := cli(t, db.env, "account", "delete", "--wallet", addr)
	if err != nil {
		t.Fatalf("account delete: %v (%s)", err, stderr)
	}
	var deleted struct {
		AccountID     string  `json:"account_id"`
		MaskedKey     *string `json:"masked_key"`
		EndedSessions int     `json:"ended_sessions"`
	}
	if err := json.Unmarshal([]byte(stdout), &deleted); err != nil || deleted.AccountID != acctID ||
		deleted.MaskedKey == nil || deleted.EndedSessions != 1 {
		t.Fatalf("account delete printed %q, want the account, its masked key and 1 session", stdout)
	}
	since := time.Now()
	for _, n := range []*node{a, b} {
		pollUntil(t, since, revocationBound, "the deleted account's key refused on "+n.url,
			statusIs(t, "GET", n.url+"/accounts/api-key", key, 401, unauthorizedBody))
		tokenRefused(t, n, third, since, revocationBound, "the deleted account's token")
	}
	for query, arg := range map[string]string{
		`SELECT count(*) FROM accounts WHERE id = $1`:              acctID,
		`SELECT count(*) FROM accounts WHERE wallet_address = $1`:  addr,
		`SELECT count(*) FROM api_keys WHERE account_id = $1`:      acctID,
		`SELECT count(*) FROM sessions WHERE account_id = $1`:      acctID,
		`SELECT count(*) FROM spot_accounts WHERE account_id = $1`: acctID,
	} {
		if n := db.count(t, query, arg); n != 0 {
			t.Errorf("after account delete, %s: %d rows", query, n)
		}
	}
	_, stderr, err = cli(t, db.env, "account", "delete", "--wallet", addr)
	if err == nil || !strings.Contains(stderr+err.Error(), "has no account") {
		t.Errorf("deleting the account again: %v %s, want \"has no account\"", err, stderr)
	}
	noKeysLogged(t, issued, a, b)
	for _, n := range []*node{a, b} {
		if logs := n.logs.String(); strings.Contains(logs, first) || strings.Contains(logs, third) {
			t.Errorf("%s's log holds a token", n.url)
		}
	}
}

// tokenRefused waits until n refuses tok with 401 4010, at most within after
// since (0: at once).
func tokenRefused(t testing.TB, n *node, tok string, since time.Time, within time.Duration, what string) {
	t.Helper()
	c := apiCaller{t, apiClient, n.url}
	pollUntil(t, since, within, what+" on "+n.url, func() (bool, string) {
		status, raw := c.raw("GET", "/accounts/api-key", "", tok, nil)
		return status == 401 && strings.TrimSpace(string(raw)) == string(unauthorizedBody), string(raw)
	})
}

// resign returns tok's claims, changed by change, signed again with secret:
// what someone holding the database's secret can make.
func resign(t testing.TB, tok string, secret []byte, change func(jwt.MapClaims)) string {
	t.Helper()
	claims := jwt.MapClaims{}
	if _, err := jwt.ParseWithClaims(tok, claims, func(*jwt.Token) (any, error) { return secret, nil }); err != nil {
		t.Fatalf("the token does not verify with the database's secret: %v", err)
	}
	change(claims)
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(secret)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestMetrics_SessionsGaugeFollowsSignInsAndSignOuts: espresso_sessions is
// the node's live sessions, up with each sign-in, down with each end.
func TestMetrics_SessionsGaugeFollowsSignInsAndSignOuts(t *testing.T) {
	t.Parallel()
	metricsAddr := freeAddr(t)
	n := serveNode(t, nil, "--data", t.TempDir(), "--metrics-addr", metricsAddr)
	murl := "http://" + metricsAddr
	c := apiCaller{t, apiClient, n.url}
	wantGauge := func(what string, want float64) {
		t.Helper()
		if v := value(scrape(t, murl), "espresso_sessions"); v != want {
			t.Fatalf("espresso_sessions %s = %v, want %v", what, v, want)
		}
	}
	wantGauge("at the start", 0)
	_, priv, _ := ed25519.GenerateKey(nil)
	first := c.signIn(priv, nil)["token"].(string)
	second := c.signIn(priv, nil)["token"].(string)
	wantGauge("after two sign-ins", 2)
	status, _ := c.do("POST", "/accounts/signout", "", first, nil)
	c.want("signing out", status, nil, 204, 0)
	wantGauge("after a sign-out", 1)
	status, out := c.do("DELETE", "/accounts/sessions", "", second, nil)
	c.want("signing out everywhere", status, out, 200, 0)
	wantGauge("after signing out everywhere", 0)
	noKeysLogged(t, []string{first, second}, n)
}
