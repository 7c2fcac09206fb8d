package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/espresso-auth/espresso/wallet"
)

// freeAddr returns a loopback address with a port nothing listens on now.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// node is a server started with run(), in this process.
type node struct {
	url  string
	logs *scanLog
	stop func() error // stops the server as SIGTERM would and returns run's error
}

// roomyFailureBudget goes before the test's own flags (a later flag wins):
// every test client is 127.0.0.1, and many tests refuse more credentials
// than the default budget allows. The throttling tests set their own.
var roomyFailureBudget = []string{"--auth-failure-rate", "1000000", "--auth-failure-burst", "1000000", "--auth-failure-delay", "0s"}

// serveNode calls run("serve", args...) on a free port and waits until
// /healthz answers and, unless args set the log level (and so may hide it),
// until the server has logged that its key replica is loaded: a server
// answers before that, looking up keys it has not loaded yet, and tests
// that then cut the database off expect the node to hold the keys it has
// answered. The server is stopped at the end of the test, and the end of
// its log shown if the test failed.
func serveNode(t testing.TB, env map[string]string, args ...string) *node {
	t.Helper()
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	logs := &scanLog{}
	done := make(chan error, 1)
	argv := append(append([]string{"espresso", "serve", "--addr", addr}, roomyFailureBudget...), args...)
	go func() { done <- run(ctx, argv, getenvFrom(env), strings.NewReader(""), io.Discard, logs) }()
	var once sync.Once
	var runErr error
	n := &node{url: "http://" + addr, logs: logs, stop: func() error {
		once.Do(func() { cancel(); runErr = <-done })
		return runErr
	}}
	t.Cleanup(func() {
		_ = n.stop()
		if t.Failed() {
			t.Logf("server %s, the end of its log:\n%s", n.url, logs)
		}
	})
	waitHealthy(t, n.url, done)
	if !slices.Contains(args, "--log-level") {
		deadline := time.Now().Add(20 * time.Second)
		for !logs.replicaLoaded() {
			if time.Now().After(deadline) {
				t.Fatalf("%s did not log that its key replica is loaded within 20s", n.url)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	return n
}

// waitHealthy polls /healthz until it answers 200; exited reports a server
// that stopped first.
func waitHealthy(t testing.TB, url string, exited <-chan error) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			t.Fatalf("server exited before it was healthy: %v", err)
		default:
		}
		resp, err := http.Get(url + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s/healthz did not answer 200 within 20s", url)
}

func getenvFrom(env map[string]string) func(string) string {
	return func(k string) string { return env[k] }
}

// cli runs one espresso command in-process and returns its stdout, stderr
// and error.
func cli(t testing.TB, env map[string]string, args ...string) (string, string, error) {
	t.Helper()
	return cliIn(t, env, "", args...)
}

// cliIn is cli with stdin as the command's standard input.
func cliIn(t testing.TB, env map[string]string, stdin string, args ...string) (string, string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), append([]string{"espresso"}, args...), getenvFrom(env), strings.NewReader(stdin), &stdout, &stderr)
	return stdout.String(), stderr.String(), err
}

// issuedJSON is what account create and key rotate print.
type issuedJSON struct {
	AccountID     string `json:"account_id"`
	WalletAddress string `json:"wallet_address"`
	APIKey        string `json:"api_key"`
	CreatedAt     string `json:"created_at"`
}

// mustIssue runs a command that prints one issuedJSON object.
func mustIssue(t testing.TB, env map[string]string, args ...string) issuedJSON {
	t.Helper()
	out, errOut, err := cli(t, env, args...)
	if err != nil {
		t.Fatalf("espresso %s: %v (%s)", strings.Join(args, " "), err, errOut)
	}
	var v issuedJSON
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil || dec.More() {
		t.Fatalf("espresso %s printed %q: want one JSON object", strings.Join(args, " "), out)
	}
	return v
}

// newWallet returns a fresh payment address of the network.
func newWallet(t testing.TB, n wallet.Network) string {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	return wallet.NewEnterpriseAddress(pub, n).String()
}

// rotate calls new-api-key and returns the new key, failing on anything but 200.
func rotate(t testing.TB, base, key string) string {
	t.Helper()
	status, body := call(t, "GET", base+"/accounts/new-api-key", key)
	if status != 200 {
		t.Fatalf("new-api-key: %d %s", status, body)
	}
	var out struct {
		APIKey string `json:"api_key"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatal(err)
	}
	return out.APIKey
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// binary builds the espresso command once per test process, into a
// directory removed by TestMain.
func binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		binPath = filepath.Join(binDir, "espresso")
		goCmd := filepath.Join(runtime.GOROOT(), "bin", "go")
		if _, err := os.Stat(goCmd); err != nil {
			goCmd = "go"
		}
		out, err := exec.Command(goCmd, "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

var binDir string

func TestMain(m *testing.M) {
	var err error
	binDir, err = os.MkdirTemp("", "espresso-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(binDir)
	os.Exit(code)
}

// process is the real binary running `espresso serve`.
type process struct {
	cmd    *exec.Cmd
	url    string
	logs   *scanLog
	done   chan error    // receives Wait's result once
	exited chan struct{} // closed when the process is gone
}

// startProcess starts the binary's server on addr and waits until healthy.
func startProcess(t testing.TB, addr string, args ...string) *process {
	t.Helper()
	p := &process{url: "http://" + addr, logs: &scanLog{}, done: make(chan error, 1), exited: make(chan struct{})}
	p.cmd = exec.Command(binary(t), append(append([]string{"serve", "--addr", addr}, roomyFailureBudget...), args...)...)
	p.cmd.Stdout = p.logs
	p.cmd.Stderr = p.logs
	p.cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() { p.kill(t) })
	waitHealthy(t, p.url, p.done)
	return p
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *process) kill(t testing.TB) {
	t.Helper()
	if err := p.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Fatal(err)
	}
	<-p.exited
}
