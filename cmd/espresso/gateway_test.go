package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/espresso-auth/espresso/store/postgres/pgtest"
)

// TestGateway_Nginx runs nginx (Debian's package) with the shipped
// deploy/nginx/espresso.conf in front of espresso and a small Go upstream,
// and proves what the gateway guarantees (gatewayScenario).
func TestGateway_Nginx(t *testing.T) {
	t.Parallel()
	nginx := lookTool(t, "nginx")
	dbURL := pgtest.URL(t)
	nodes := pgNodes(t, dbURL, 2, gatewayThrottleFlags...)
	up := startUpstream(t)
	dir := t.TempDir()
	port := loopbackPort(t)
	conf := shippedConfig(t, "deploy/nginx/espresso.conf", map[string][2]string{
		"espresso":    {"127.0.0.1:8080", hostPort(nodes[0].url)},
		"trading API": {"127.0.0.1:9000", hostPort(up.URL)},
		"gateway":     {"listen 80;", "listen 127.0.0.1:" + port + ";"},
	})
	if err := os.WriteFile(filepath.Join(dir, "espresso.conf"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	// nginx run as root would switch its workers to "nobody"; keep them
	// as the test's user so they can use the test's directory.
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;"
	}
	main := fmt.Sprintf(`%s
worker_processes 1;
pid %[2]s/nginx.pid;
error_log stderr warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path %[2]s/body;
    proxy_temp_path %[2]s/proxy;
    fastcgi_temp_path %[2]s/fastcgi;
    uwsgi_temp_path %[2]s/uwsgi;
    scgi_temp_path %[2]s/scgi;
    include %[2]s/espresso.conf;
}
`, user, dir)
	if err := os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(main), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(nginx, "-p", dir, "-c", filepath.Join(dir, "nginx.conf"), "-e", "stderr", "-g", "daemon off;")
	g := startGateway(t, "http://127.0.0.1:"+port, cmd)
	gatewayScenario(t, g.url, dbURL, nodes[0], nodes[1], up)
	// nginx asks a refused check twice (auth_request, then the body).
	gatewayThrottle(t, g.url, dbURL, up, 2)
}

// TestGateway_Caddy does the same with Caddy (Debian's package) and the
// shipped deploy/caddy/Caddyfile.
func TestGateway_Caddy(t *testing.T) {
	t.Parallel()
	caddy := lookTool(t, "caddy")
	dbURL := pgtest.URL(t)
	nodes := pgNodes(t, dbURL, 2, gatewayThrottleFlags...)
	up := startUpstream(t)
	dir := t.TempDir()
	port := loopbackPort(t)
	conf := shippedConfig(t, "deploy/caddy/Caddyfile", map[string][2]string{
		"espresso":    {"127.0.0.1:8080", hostPort(nodes[0].url)},
		"trading API": {"127.0.0.1:9000", hostPort(up.URL)},
		"gateway":     {"http://:80", "http://127.0.0.1:" + port},
	})
	path := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(caddy, "run", "--config", path, "--adapter", "caddyfile")
	// Caddy keeps state under HOME and the XDG directories: the test's.
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "XDG_CONFIG_HOME=" + dir, "XDG_DATA_HOME=" + dir}
	g := startGateway(t, "http://127.0.0.1:"+port, cmd)
	gatewayScenario(t, g.url, dbURL, nodes[0], nodes[1], up)
	gatewayThrottle(t, g.url, dbURL, up, 1)
}

// gatewayThrottleFlags make the gateway (127.0.0.1) a trusted proxy, and
// give clients a budget of 40 refused credentials: room for the scenario's
// few refusals (from 127.0.0.1), and a flood's limit.
var gatewayThrottleFlags = []string{"--trusted-proxies", "127.0.0.1/32", "--auth-failure-rate", "1", "--auth-failure-burst", "40"}

// gatewayThrottle floods unknown keys through the gateway from 127.0.0.2:
// espresso tells that client apart through the gateway's X-Forwarded-For,
// answers the burst's refusals with 401 (the gateway asks each refusal
// `asks` times, and each counts) and then 429 with Retry-After, which reach the client as
// they came and nothing upstream, while a valid key from 127.0.0.3 still
// passes.
func gatewayThrottle(t *testing.T, gateway, dbURL string, up *upstream, asks int) {
	from := func(ip string) *http.Client {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 10 * time.Second}
		return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DialContext: d.DialContext}}
	}
	flooder := from("127.0.0.2")
	before := up.reached.Load()
	refused, throttled := 0, 0
	for range 100 {
		req, _ := http.NewRequest("GET", gateway+"/orders", nil)
		req.Header.Set("X-API-KEY", unknownKey(t))
		resp, err := flooder.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch {
		case resp.StatusCode == 401:
			refused++
		case resp.StatusCode == 429 && resp.Header.Get("Retry-After") != "" && bytes.Contains(body, []byte(`"code":4290`)):
			throttled++
		default:
			t.Fatalf("a flooded request through the gateway: %d %v %s", resp.StatusCode, resp.Header, body)
		}
	}
	if want := 40 / asks; refused != want || throttled != 100-want {
		t.Errorf("100 unknown keys through the gateway: %d × 401, %d × 429; want %d and %d", refused, throttled, want, 100-want)
	}
	if n := up.reached.Load() - before; n != 0 {
		t.Errorf("the flood reached the upstream %d times", n)
	}
	acct := newPGAccount(t, dbURL)
	req, _ := http.NewRequest("GET", gateway+"/orders", nil)
	req.Header.Set("X-API-KEY", acct.APIKey)
	resp, err := from("127.0.0.3").Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("another client's valid key through the gateway during the flood: %d", resp.StatusCode)
	}
}

// gatewayScenario proves, through a gateway whose espresso is node a (node
// b shares its PostgreSQL, dbURL, but is not behind the gateway):
//   - a valid key reaches the upstream with the account's headers;
//   - an X-Espresso-* header the client sends never reaches it;
//   - a refusal is espresso's own 401 body, and reaches nothing;
//   - a token works the same way;
//   - a key revoked on a is refused at the gateway at once;
//   - a key rotated on b is refused at the gateway within the bound, and
//     the new key works at once.
func gatewayScenario(t *testing.T, gateway, dbURL string, a, b *node, up *upstream) {
	acct := newPGAccount(t, dbURL)
	want := seen{[]string{acct.AccountID}, []string{acct.WalletAddress}, []string{"key"}}
	check := func(what string, header http.Header, want seen) {
		t.Helper()
		status, body, got := through(t, gateway, header)
		if status != 200 || !slices.Equal(got.AccountID, want.AccountID) || !slices.Equal(got.Wallet, want.Wallet) ||
			!slices.Equal(got.Credential, want.Credential) {
			t.Errorf("%s: %d %s; the upstream saw %+v, want 200 and %+v", what, status, body, got, want)
		}
	}
	refused := func(what string, header http.Header) {
		t.Helper()
		before := up.reached.Load()
		status, body, _ := through(t, gateway, header)
		if status != 401 || !bytes.Equal(body, unauthorizedBody) {
			t.Errorf("%s: %d %s, want espresso's 401 %s", what, status, body, unauthorizedBody)
		}
		if n := up.reached.Load() - before; n != 0 {
			t.Errorf("%s: the upstream was reached %d times", what, n)
		}
	}

	check("a valid key", http.Header{"X-Api-Key": {acct.APIKey}}, want)
	check("a valid key with spoofed account headers", http.Header{"X-Api-Key": {acct.APIKey},
		"X-Espresso-Account-Id": {"someone-else", "and-another"}, "X-Espresso-Credential": {"token"},
		"X-Espresso-Wallet-Address": {"addr1evil"}}, want)
	refused("no credential", http.Header{})
	refused("spoofed account headers alone", http.Header{"X-Espresso-Account-Id": {acct.AccountID},
		"X-Espresso-Wallet-Address": {acct.WalletAddress}, "X-Espresso-Credential": {"key"}})
	refused("a malformed key", http.Header{"X-Api-Key": {"dk_live_nope"}})

	token, tokenAccount, tokenWallet := signInToken(t, a.url)
	check("a token", http.Header{"Authorization": {token}}, seen{[]string{tokenAccount}, []string{tokenWallet}, []string{"token"}})
	check("a bearer token with a spoofed credential header", http.Header{"Authorization": {"Bearer " + token},
		"X-Espresso-Credential": {"key"}}, seen{[]string{tokenAccount}, []string{tokenWallet}, []string{"token"}})
	refused("a tampered token", http.Header{"Authorization": {token + "x"}})

	// Revoked on the gateway's node: refused at once.
	other := newPGAccount(t, dbURL)
	check("another account's key", http.Header{"X-Api-Key": {other.APIKey}},
		seen{[]string{other.AccountID}, []string{other.WalletAddress}, []string{"key"}})
	revokeAt(t, a.url, other.APIKey)
	refused("a key just revoked", http.Header{"X-Api-Key": {other.APIKey}})

	// Rotated on the other node: refused within the bound.
	next, answered := rotateAt(t, b.url, acct.APIKey)
	check("the new key, at once", http.Header{"X-Api-Key": {next}}, want)
	for {
		status, body, _ := through(t, gateway, http.Header{"X-Api-Key": {acct.APIKey}})
		elapsed := time.Since(answered)
		if status == 401 && bytes.Equal(body, unauthorizedBody) {
			t.Logf("the key rotated on the other node was refused at the gateway %v after the rotation's answer", elapsed.Round(10*time.Microsecond))
			break
		}
		if status != 200 {
			t.Fatalf("the rotated-out key: %d %s, want 200 or 401", status, body)
		}
		if elapsed > revocationBound {
			t.Fatalf("the gateway still accepts a key rotated on the other node %v after the answer (bound %v)", elapsed, revocationBound)
		}
	}
	noKeysLogged(t, []string{acct.APIKey, next, other.APIKey, token}, a, b)
}
