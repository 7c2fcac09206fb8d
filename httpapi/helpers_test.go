package httpapi

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"database/sql"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/espresso-auth/espresso/apikey"
	"github.com/espresso-auth/espresso/auth"
	"github.com/espresso-auth/espresso/store"
	"github.com/espresso-auth/espresso/store/sqlite"
	"github.com/espresso-auth/espresso/store/storetest"
	"github.com/espresso-auth/espresso/wallet"
)

// syncBuffer is a log sink tests can read while the server writes to it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// testEnv is the HTTP interface over a real SQLite store in a temp dir,
// with its key replica following the feed.
type testEnv struct {
	t      *testing.T
	dir    string
	st     *store.Store
	keys   *auth.Service
	tokens *auth.Tokens
	clock  *storetest.Clock // the clock of sign-in, tokens and rate limits
	h      http.Handler
	srv    *httptest.Server
	logs   *syncBuffer
}

// testSecret signs the test servers' tokens.
const testSecret = "0123456789abcdef0123456789abcdef"

// newTestEnv starts a server whose sign-in rate limit is high enough not to
// get in the way; newTestEnvWith sets it.
func newTestEnv(t *testing.T) *testEnv { return newTestEnvWith(t, 100_000) }

func newTestEnvWith(t *testing.T, signInRate int) *testEnv {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, dir, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, nil))
	keys, err := auth.New(ctx, st, auth.Options{Env: apikey.Live, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { keys.Run(ctx); close(done) }()
	clock := storetest.NewClock(time.Now())
	tokens, err := auth.NewTokens([]byte(testSecret), time.Hour, clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	signIn, err := auth.NewSignIn(st, tokens, auth.SignInOptions{Network: wallet.Mainnet, PublicURL: "https://api.example.test", Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	h := NewServer(Deps{Keys: keys, Tokens: tokens, SignIn: signIn, Logger: log, SignInRate: signInRate, Now: clock.Now})
	srv := httptest.NewUnstartedServer(h)
	srv.Config = NewHTTPServer(h, nil)
	srv.Start()
	t.Cleanup(func() {
		srv.Close()
		cancel()
		<-done
		st.Close()
	})
	return &testEnv{t: t, dir: dir, st: st, keys: keys, tokens: tokens, clock: clock, h: h, srv: srv, logs: logs}
}

// newWallet returns a fresh mainnet payment address.
func newWallet(t testing.TB) string {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	return wallet.NewEnterpriseAddress(pub, wallet.Mainnet).String()
}

// newAccount creates an account with its first key, as the operator CLI
// would (from outside the server's replica).
func (e *testEnv) newAccount() (accountID, key string) {
	e.t.Helper()
	acct, issued, err := auth.CreateAccount(context.Background(), e.st, apikey.Live, newWallet(e.t))
	if err != nil {
		e.t.Fatal(err)
	}
	return acct.ID, issued.Key.String()
}

// do sends a request with the given headers and returns the status and body.
func (e *testEnv) do(method, target string, header http.Header) (*http.Response, []byte) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+target, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp, body
}

func keyHeader(key string) http.Header { return http.Header{"X-Api-Key": {key}} }

// errorBody decodes an error answer, failing unless it is exactly the
// platform's {"code", "error"} object.
func errorBody(t testing.TB, body []byte) (code int, msg string) {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("error body is not JSON: %q", body)
	}
	c, ok1 := m["code"].(float64)
	s, ok2 := m["error"].(string)
	if !ok1 || !ok2 || len(m) != 2 {
		t.Fatalf("error body is not {code, error}: %s", body)
	}
	return int(c), s
}

// openRaw opens the test database directly, for tests that inspect or
// sabotage it.
func openRaw(t *testing.T, e *testEnv) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(e.dir, sqlite.FileName)+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
