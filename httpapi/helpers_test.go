package httpapi

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"database/sql"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/espresso-auth/espresso/apikey"
	"github.com/espresso-auth/espresso/internal/clock"
	"github.com/espresso-auth/espresso/keys"
	"github.com/espresso-auth/espresso/metrics"
	"github.com/espresso-auth/espresso/ratelimit"
	"github.com/espresso-auth/espresso/sessions"
	"github.com/espresso-auth/espresso/spot"
	"github.com/espresso-auth/espresso/store"
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
	t        testing.TB
	dir      string
	st       *store.Store
	keys     *keys.Service
	sessions *sessions.Service
	clock    *clock.Fake // the clock of sign-in, tokens and rate limits
	deps     Deps
	h        http.Handler
	srv      *httptest.Server
	logs     *syncBuffer
}

// testSecret signs the test servers' tokens.
const testSecret = "0123456789abcdef0123456789abcdef"

// newTestEnv starts a server whose sign-in rate limit is high enough not to
// get in the way; newTestEnvWith sets it. Everything it starts is stopped,
// and waited for, when t's cleanup runs.
func newTestEnv(t testing.TB) *testEnv { return newTestEnvWith(t, 100_000) }

func newTestEnvWith(t testing.TB, signInRate int) *testEnv {
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
	ks := keys.New(st, keys.Options{Env: apikey.Live, Logger: log})
	clock := clock.NewFake(time.Now())
	ss, err := sessions.New(st, []byte(testSecret), sessions.Options{Network: wallet.Mainnet,
		PublicURL: "https://api.example.test", TokenTTL: time.Hour, Feed: ks, Clock: clock, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	ks.Follow(ss)
	if err := ks.Load(ctx); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() { ks.Run(ctx) })
	wg.Go(func() { ss.Run(ctx) })
	// The failure budget is out of the way too: tests that refuse many
	// credentials from one client would trip it (throttle_test.go sets it).
	d := Deps{Keys: ks, Sessions: ss, Spot: spot.New(st), Logger: log, SignInRate: signInRate, Now: clock.Now, Metrics: metrics.New(),
		FailureRate: ratelimit.Rate{PerMinute: 100_000, Burst: 100_000}}
	h := NewServer(d)
	srv := httptest.NewUnstartedServer(h)
	srv.Config = NewHTTPServer(h, nil)
	srv.Start()
	t.Cleanup(func() {
		srv.Close()
		cancel()
		wg.Wait()
		st.Close()
	})
	return &testEnv{t: t, dir: dir, st: st, keys: ks, sessions: ss, clock: clock, deps: d, h: h, srv: srv, logs: logs}
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
// would: through a keys service of its own, so that the server learns of
// the key from the feed, not from its own write.
func (e *testEnv) newAccount() (accountID, key string) {
	e.t.Helper()
	issued, err := keys.New(e.st, keys.Options{Env: apikey.Live}).CreateAccount(context.Background(), newWallet(e.t))
	if err != nil {
		e.t.Fatal(err)
	}
	return issued.AccountID, issued.Key.String()
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
// platform's {"code", "error"} followed by "msg" with the same text, in that
// order.
func errorBody(t testing.TB, body []byte) (code int, msg string) {
	t.Helper()
	code, msg, err := parseErrorBody(body)
	if err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	return code, msg
}

// parseErrorBody is errorBody for callers that cannot fail the test from
// where they are (a fuzz target reports its own way).
func parseErrorBody(body []byte) (code int, msg string, err error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var fields []string
	values := map[string]any{}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return 0, "", errors.New("the error body is not a JSON object")
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return 0, "", errors.New("the error body is not JSON")
		}
		name, _ := tok.(string)
		var v any
		if err := dec.Decode(&v); err != nil {
			return 0, "", errors.New("the error body is not JSON")
		}
		fields = append(fields, name)
		values[name] = v
	}
	if _, err := dec.Token(); err != nil || dec.More() {
		return 0, "", errors.New("the error body is not one JSON object")
	}
	n, _ := values["code"].(json.Number)
	c, errCode := n.Int64()
	text, _ := values["error"].(string)
	if !slices.Equal(fields, []string{"code", "error", "msg"}) || errCode != nil || text == "" || values["msg"] != text {
		return 0, "", errors.New(`the error body is not {"code", "error", "msg"} with msg equal to error`)
	}
	return int(c), text, nil
}

// openRaw opens the test database directly, for tests that inspect or
// sabotage it.
func openRaw(t testing.TB, e *testEnv) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(e.dir, sqlite.FileName)+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
