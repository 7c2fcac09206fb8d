package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/espresso-auth/espresso/wallet"
)

// TestDurability_SIGKILLRightAfterAnAnswerLosesNothing runs the real
// binary, rotates a key a random number of times, kills the server with
// SIGKILL immediately after an answer, and restarts it: the last key
// answered must work and no earlier key may. Repeated over several crashes.
// At the end no key issued may appear in the database files or the logs.
func TestDurability_SIGKILLRightAfterAnAnswerLosesNothing(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	addr := freeAddr(t)
	acct := mustIssue(t, nil, "account", "create", "--wallet", newWallet(t, wallet.Mainnet), "--data", data)
	issued := []string{acct.APIKey}
	var logs []*scanLog

	for crash := range 5 {
		p := startProcess(t, addr, "--data", data)
		logs = append(logs, p.logs)
		last := issued[len(issued)-1]
		for range 1 + rand.IntN(20) {
			last = rotate(t, p.url, last)
			issued = append(issued, last)
		}
		p.kill(t) // no pause: the answer above is the last thing that happened

		p = startProcess(t, addr, "--data", data)
		logs = append(logs, p.logs)
		if status, body := call(t, "GET", p.url+"/accounts/api-key", last); status != 200 {
			t.Fatalf("crash %d: the last acknowledged key is refused after restart: %d %s", crash, status, body)
		}
		for i, k := range issued[:len(issued)-1] {
			if status, _ := call(t, "GET", p.url+"/accounts/api-key", k); status != 401 {
				t.Fatalf("crash %d: key #%d of %d works again after restart (%d)", crash, i, len(issued), status)
			}
		}
		p.kill(t)
	}

	files, err := os.ReadDir(data)
	if err != nil {
		t.Fatal(err)
	}
	var stored [][]byte
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(data, f.Name()))
		if err != nil {
			t.Fatal(err)
		}
		stored = append(stored, b)
	}
	for _, k := range issued {
		for _, b := range stored {
			if bytes.Contains(b, []byte(k)) {
				t.Fatalf("a key issued appears in plaintext in the data directory")
			}
		}
	}
	for i, l := range logs {
		found, lines := l.found()
		reportKeys(t, issued, found, fmt.Sprintf("server log #%d (%d lines)", i, lines))
	}
	t.Logf("%d keys issued over 5 crashes; files scanned: %d", len(issued), len(files))
}

// TestDurability_SIGKILLRightAfterConcurrentAnswersLosesNone is the crash
// test with writers at once, whose rotations the server commits together:
// eight clients rotate their own keys until a shared count is reached, the
// server is killed with SIGKILL as soon as the last answer is in, and after
// a restart every client's last acknowledged key works and none of its
// earlier keys does. Repeated over several crashes.
func TestDurability_SIGKILLRightAfterConcurrentAnswersLosesNone(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	addr := freeAddr(t)
	const clients = 8
	chains := make([][]string, clients)
	for i := range chains {
		acct := mustIssue(t, nil, "account", "create", "--wallet", newWallet(t, wallet.Mainnet), "--data", data)
		chains[i] = []string{acct.APIKey}
	}

	for crash := range 3 {
		p := startProcess(t, addr, "--data", data)
		var (
			rotations atomic.Int64
			target    = int64(clients * (2 + rand.IntN(10)))
			wg        sync.WaitGroup
			errs      = make([]error, clients)
		)
		for i := range chains {
			wg.Go(func() {
				for rotations.Add(1) <= target {
					last := chains[i][len(chains[i])-1]
					status, body, err := send("GET", p.url+"/accounts/new-api-key", last)
					var out struct {
						APIKey string `json:"api_key"`
					}
					if err == nil && (status != 200 || json.Unmarshal(body, &out) != nil) {
						err = fmt.Errorf("new-api-key: %d %s", status, body)
					}
					if err != nil {
						errs[i] = err
						return
					}
					chains[i] = append(chains[i], out.APIKey)
				}
			})
		}
		wg.Wait()
		p.kill(t) // no pause: the answers above are the last things that happened
		if err := errors.Join(errs...); err != nil {
			t.Fatalf("crash %d: %v", crash, err)
		}

		p = startProcess(t, addr, "--data", data)
		for i, chain := range chains {
			if status, body := call(t, "GET", p.url+"/accounts/api-key", chain[len(chain)-1]); status != 200 {
				t.Fatalf("crash %d: client %d's last acknowledged key is refused after restart: %d %s", crash, i, status, body)
			}
			for j, k := range chain[:len(chain)-1] {
				if status, _ := call(t, "GET", p.url+"/accounts/api-key", k); status != 401 {
					t.Fatalf("crash %d: client %d's key #%d of %d works again after restart (%d)", crash, i, j, len(chain), status)
				}
			}
		}
		p.kill(t)
	}
}

// TestServe_SIGTERMShutsDownGracefully stops the real binary with SIGTERM:
// it exits 0, after saying so, and the next start serves the same keys.
func TestServe_SIGTERMShutsDownGracefully(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	addr := freeAddr(t)
	acct := mustIssue(t, nil, "account", "create", "--wallet", newWallet(t, wallet.Mainnet), "--data", data)
	p := startProcess(t, addr, "--data", data)
	key := rotate(t, p.url, acct.APIKey)
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, p.logs)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("no exit within 15 s of SIGTERM")
	}
	if !strings.Contains(p.logs.String(), "shutting down") {
		t.Error("the server did not log its shutdown")
	}
	p = startProcess(t, addr, "--data", data)
	if status, _ := call(t, "GET", p.url+"/accounts/api-key", key); status != 200 {
		t.Errorf("the key after a graceful restart: %d", status)
	}
}
