package forwardauth_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/espresso-auth/espresso/forwardauth"
	"github.com/espresso-auth/espresso/wallet"
)

// binary is the espresso command, built once by TestMain.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "forwardauth-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "espresso")
	goCmd := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goCmd); err != nil {
		goCmd = "go"
	}
	if out, err := exec.Command(goCmd, "build", "-o", binary, "github.com/espresso-auth/espresso/cmd/espresso").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building espresso: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// espresso is the real binary serving on a free loopback port.
type espresso struct {
	url, data string
	cmd       *exec.Cmd
	exited    chan struct{}
}

func startEspresso(t testing.TB) *espresso {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	e := &espresso{url: "http://" + addr, data: t.TempDir(), exited: make(chan struct{})}
	var logs bytes.Buffer
	e.cmd = exec.Command(binary, "serve", "--addr", addr, "--data", e.data)
	e.cmd.Stderr = &logs
	if err := e.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = e.cmd.Wait(); close(e.exited) }()
	t.Cleanup(func() {
		e.stop()
		if t.Failed() {
			t.Logf("espresso's log:\n%s", logs.String())
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(e.url + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return e
			}
		}
		select {
		case <-e.exited:
			t.Fatalf("espresso exited before it was healthy:\n%s", logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("espresso did not become healthy within 20s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (e *espresso) stop() {
	_ = e.cmd.Process.Kill()
	<-e.exited
}

// newAccount creates an account with the operator CLI and returns its id,
// wallet and first key.
func (e *espresso) newAccount(t testing.TB) (id, addr, key string) {
	t.Helper()
	pub, _, _ := ed25519.GenerateKey(nil)
	addr = wallet.NewEnterpriseAddress(pub, wallet.Mainnet).String()
	out, err := exec.Command(binary, "account", "create", "--wallet", addr, "--data", e.data).Output()
	if err != nil {
		t.Fatalf("account create: %v", err)
	}
	var v struct {
		AccountID string `json:"account_id"`
		APIKey    string `json:"api_key"`
	}
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatal(err)
	}
	return v.AccountID, addr, v.APIKey
}

// guarded is a service behind the middleware that records what reached it.
type guarded struct {
	reached  int
	account  forwardauth.Account
	headerID []string
}

func (g *guarded) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.reached++
	g.account, _ = forwardauth.FromContext(r.Context())
	g.headerID = r.Header.Values(forwardauth.HeaderAccountID)
	io.WriteString(w, "orders\n")
}

func do(t testing.TB, h http.Handler, header http.Header) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest("POST", "/orders", strings.NewReader(`{"side":"buy"}`))
	req.Header = header
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestMiddleware_LetsThroughValidCredentialsWithTheAccountAndNothingElse(t *testing.T) {
	e := startEspresso(t)
	id, addr, key := e.newAccount(t)
	auth, err := forwardauth.New(forwardauth.Options{URL: e.url})
	if err != nil {
		t.Fatal(err)
	}
	g := &guarded{}
	h := auth.Middleware(g)

	// A valid key, with a spoofed account header the service must not see.
	rec := do(t, h, http.Header{"X-Api-Key": {key}, "X-Espresso-Account-Id": {"someone-else"}})
	want := forwardauth.Account{ID: id, Wallet: addr, Credential: "key"}
	if rec.Code != 200 || g.reached != 1 || g.account != want || len(g.headerID) != 1 || g.headerID[0] != id {
		t.Fatalf("valid key: %d %q; reached %d times as %+v with header %q; want 200, %+v", rec.Code, rec.Body, g.reached, g.account, g.headerID, want)
	}

	// Refusals are espresso's own answers, and never reach the service.
	for name, header := range map[string]http.Header{
		"no credential":   {},
		"malformed key":   {"X-Api-Key": {"dk_live_nope"}},
		"key twice":       {"X-Api-Key": {key, key}},
		"spoof alone":     {"X-Espresso-Account-Id": {id}},
		"a bogus token":   {"Authorization": {"Bearer eyJhbGciOiJub25lIn0.e30."}},
		"key in a cookie": {"Cookie": {"X-API-KEY=" + key}},
	} {
		rec := do(t, h, header)
		if rec.Code != 401 || !strings.HasPrefix(rec.Body.String(), `{"code":4010,"error":"Unauthorized access"`) ||
			rec.Header().Get("Content-Type") != "application/json" {
			t.Errorf("%s: %d %q, want espresso's 401 4010", name, rec.Code, rec.Body)
		}
	}
	if g.reached != 1 {
		t.Errorf("refused requests reached the service: %d calls, want 1", g.reached)
	}

	// No cache: a key rotated at espresso is refused by the next request.
	req, _ := http.NewRequest("GET", e.url+"/accounts/new-api-key", nil)
	req.Header.Set("X-API-KEY", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("rotating: %v %v", resp, err)
	}
	var rotated struct {
		APIKey string `json:"api_key"`
	}
	json.NewDecoder(resp.Body).Decode(&rotated)
	resp.Body.Close()
	if rec := do(t, h, http.Header{"X-Api-Key": {key}}); rec.Code != 401 {
		t.Errorf("the rotated-out key: %d, want 401 at once", rec.Code)
	}
	if rec := do(t, h, http.Header{"X-Api-Key": {rotated.APIKey}}); rec.Code != 200 || g.account.ID != id {
		t.Errorf("the new key: %d as %+v, want 200 as %s", rec.Code, g.account, id)
	}

	// espresso gone: 503 in the platform's format, quickly.
	e.stop()
	began := time.Now()
	rec = do(t, h, http.Header{"X-Api-Key": {rotated.APIKey}})
	if rec.Code != 503 || !strings.HasPrefix(rec.Body.String(), `{"code":5001,"error":"System resources temporaily unavailable"`) {
		t.Errorf("espresso down: %d %q, want 503 5001", rec.Code, rec.Body)
	}
	if took := time.Since(began); took > 3*time.Second {
		t.Errorf("espresso down: answered after %v, want within the 2 s timeout", took)
	}
	if g.reached != 2 {
		t.Errorf("the service was reached %d times, want 2", g.reached)
	}
}

func TestVerify_ReusesItsConnection(t *testing.T) {
	e := startEspresso(t)
	_, _, key := e.newAccount(t)
	auth, err := forwardauth.New(forwardauth.Options{URL: e.url})
	if err != nil {
		t.Fatal(err)
	}
	conns := 0
	ctx := httptraceCounting(context.Background(), &conns)
	for range 20 {
		if _, err := auth.Verify(ctx, http.Header{"X-Api-Key": {key}}, ""); err != nil {
			t.Fatal(err)
		}
	}
	if conns != 1 {
		t.Errorf("20 sequential checks opened %d connections, want 1 kept alive", conns)
	}
}

func TestNew_RefusesAURLThatIsNotHTTP(t *testing.T) {
	for _, u := range []string{"", "espresso:8080", "ftp://x"} {
		if _, err := forwardauth.New(forwardauth.Options{URL: u}); err == nil {
			t.Errorf("New(%q) accepted it", u)
		}
	}
}
