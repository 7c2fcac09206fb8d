package main

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/espresso-auth/espresso/wallet"
)

// upstream is the small Go service behind the gateway: it answers every
// request with the X-Espresso-* headers that reached it, every value.
type upstream struct {
	*httptest.Server
	reached atomic.Int64
}

// seen is what reached the upstream.
type seen struct {
	AccountID  []string `json:"account_id"`
	Wallet     []string `json:"wallet"`
	Credential []string `json:"credential"`
}

func startUpstream(t testing.TB) *upstream {
	t.Helper()
	u := &upstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.reached.Add(1)
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(seen{r.Header.Values("X-Espresso-Account-Id"),
			r.Header.Values("X-Espresso-Wallet-Address"), r.Header.Values("X-Espresso-Credential")})
	}))
	t.Cleanup(u.Close)
	return u
}

// shippedConfig reads a gateway config shipped in deploy/ and, in each line
// marked "# address: NAME", replaces the address replace[NAME][0] with
// replace[NAME][1], failing the test if a marked line or an address is
// missing: the test runs the shipped file, not a copy of it.
func shippedConfig(t testing.TB, path string, replace map[string][2]string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", path))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(raw), "\n")
	done := map[string]bool{}
	for i, l := range lines {
		_, name, ok := strings.Cut(l, "# address: ")
		if !ok {
			continue
		}
		name = strings.TrimSpace(name)
		r, ok := replace[name]
		if !ok || !strings.Contains(l, r[0]) {
			t.Fatalf("%s: the line marked %q does not hold the address the test replaces: %q", path, name, l)
		}
		lines[i] = strings.Replace(l, r[0], r[1], 1)
		done[name] = true
	}
	for name := range replace {
		if !done[name] {
			t.Fatalf("%s has no line marked \"# address: %s\"", path, name)
		}
	}
	return strings.Join(lines, "\n")
}

// gatewayProcess is nginx or Caddy, started by a test on its own config.
type gatewayProcess struct {
	url    string
	cmd    *exec.Cmd
	logs   bytes.Buffer
	exited chan struct{}
}

// startGateway runs cmd (which must stay in the foreground) and waits
// until url answers anything over HTTP. It is stopped (SIGTERM, then
// SIGKILL) when the test ends, and its output shown if the test failed.
func startGateway(t testing.TB, url string, cmd *exec.Cmd) *gatewayProcess {
	t.Helper()
	g := &gatewayProcess{url: url, cmd: cmd, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = &g.logs, &g.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = cmd.Wait(); close(g.exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-g.exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-g.exited
		}
		if t.Failed() {
			t.Logf("%s's output:\n%s", filepath.Base(cmd.Path), g.logs.String())
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case <-g.exited:
			t.Fatalf("%s exited at start:\n%s", filepath.Base(cmd.Path), g.logs.String())
		default:
		}
		if resp, err := http.Get(url + "/"); err == nil {
			resp.Body.Close()
			return g
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not answer within 20s:\n%s", url, g.logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// lookTool finds an installed tool (sbin included, which root's PATH may
// lack) or skips the test with the command that installs it.
func lookTool(t testing.TB, name string) string {
	t.Helper()
	for _, p := range []string{name, "/usr/sbin/" + name, "/usr/bin/" + name} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	t.Skipf("%s is not installed: apt-get install -y %s (.ci/run installs it)", name, name)
	return ""
}

// gatewayClient carries requests to a gateway's upstream routes, which are
// not espresso's, so not checked against its OpenAPI document.
var gatewayClient = &http.Client{Timeout: 30 * time.Second}

// through sends a request through the gateway with the given headers and
// returns the status, the body and, for a 200, what reached the upstream.
func through(t testing.TB, gatewayURL string, header http.Header) (int, []byte, seen) {
	t.Helper()
	req, err := http.NewRequest("POST", gatewayURL+"/orders?market=ADA-USDM", strings.NewReader(`{"side":"buy"}`))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := gatewayClient.Do(req)
	if err != nil {
		t.Fatalf("through the gateway: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var s seen
	if resp.StatusCode == 200 {
		if err := json.Unmarshal(body, &s); err != nil {
			t.Fatalf("the upstream's answer %q: %v", body, err)
		}
	}
	return resp.StatusCode, bytes.TrimSpace(body), s
}

// signInToken signs a new wallet in on base and returns its token, account
// id and address.
func signInToken(t testing.TB, base string) (token, accountID, addr string) {
	t.Helper()
	pub, priv, _ := ed25519.GenerateKey(nil)
	a := wallet.NewEnterpriseAddress(pub, wallet.Mainnet)
	addr = a.String()
	var ch struct{ Nonce, Message string }
	postOK(t, base+"/accounts/signin/challenge", map[string]string{"wallet_address": addr}, &ch)
	sig, key, err := wallet.SignData(priv, a, []byte(ch.Message))
	if err != nil {
		t.Fatal(err)
	}
	var sess struct {
		UserID string `json:"user_id"`
		Token  string `json:"token"`
	}
	postOK(t, base+"/accounts/signin", map[string]string{"wallet_address": addr, "nonce": ch.Nonce, "signature": sig, "key": key}, &sess)
	return sess.Token, sess.UserID, addr
}

func postOK(t testing.TB, url string, body, out any) {
	t.Helper()
	b, _ := json.Marshal(body)
	resp, err := apiClient.Post(url, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || json.Unmarshal(raw, out) != nil {
		t.Fatalf("POST %s: %d %s", url, resp.StatusCode, raw)
	}
}

// hostPort is the host:port of an http:// URL.
func hostPort(url string) string { return strings.TrimPrefix(url, "http://") }

// loopbackPort returns the port of a free loopback address.
func loopbackPort(t testing.TB) string {
	t.Helper()
	a := freeAddr(t)
	return a[strings.LastIndexByte(a, ':')+1:]
}

var _ = fmt.Sprint
