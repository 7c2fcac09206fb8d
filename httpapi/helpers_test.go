package httpapi

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/espresso-auth/espresso/apikey"
	"github.com/espresso-auth/espresso/auth"
	"github.com/espresso-auth/espresso/store/sqlite"
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
	t    *testing.T
	dir  string
	st   *sqlite.Store
	keys *auth.Service
	h    http.Handler
	srv  *httptest.Server
	logs *syncBuffer
}

func newTestEnv(t *testing.T) *testEnv {
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
	h := NewServer(Deps{Keys: keys, Logger: log})
	srv := httptest.NewUnstartedServer(h)
	srv.Config = NewHTTPServer(h, nil)
	srv.Start()
	t.Cleanup(func() {
		srv.Close()
		cancel()
		<-done
		st.Close()
	})
	return &testEnv{t: t, dir: dir, st: st, keys: keys, h: h, srv: srv, logs: logs}
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
