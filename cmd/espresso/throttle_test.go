package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/espresso-auth/espresso/apikey"
	"github.com/espresso-auth/espresso/store/postgres/pgtest"
	"github.com/espresso-auth/espresso/wallet"
)

// throttleFlags give the nodes of the throttling tests a small budget of
// refused credentials (refilled a token a minute, so that a slow run does
// not refill it), and believe 127.0.0.1's X-Forwarded-For, so that
// each test client is the address it names there.
var throttleFlags = []string{"--auth-failure-rate", "1", "--auth-failure-burst", "10", "--trusted-proxies", "127.0.0.1"}

// as sends a request from client (its X-Forwarded-For) with an optional
// key, through the validating client, and returns the status and the
// Retry-After header.
func as(t testing.TB, client, method, url, key string) (int, string) {
	t.Helper()
	return asWith(t, client, method, url, key, "")
}

// asWith is as with a JSON body.
func asWith(t testing.TB, client, method, url, key, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("X-Forwarded-For", client)
	if key != "" {
		req.Header.Set("X-API-KEY", key)
	}
	resp, err := apiClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s from %s: %v", method, url, client, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Retry-After")
}

// unknownKey is a well-formed key that no account has.
func unknownKey(t testing.TB) string {
	t.Helper()
	k, err := apikey.New(apikey.Live)
	if err != nil {
		t.Fatal(err)
	}
	return k.String()
}

// TestThrottle_AFloodOfBadKeysGets429WhileAnotherClientsKeyWorks floods
// one client's unknown keys at a node, on SQLite and on PostgreSQL: the
// budget's worth are 401, the rest 429 with Retry-After, and then even the
// flooder's valid key is refused before any lookup (as is another address
// of its IPv6 /64), while another client's valid key answers 200 on every
// route that authenticates. Every request line of the log names its client;
// the flood's thousands of refusals add a handful of lines, not thousands.
func TestThrottle_AFloodOfBadKeysGets429WhileAnotherClientsKeyWorks(t *testing.T) {
	t.Parallel()
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			args, env := []string{"--data", t.TempDir()}, map[string]string{"ESPRESSO_DATA": ""}
			if backend == "postgres" {
				url := pgtest.URL(t)
				args, env = []string{"--database-url", url}, map[string]string{"ESPRESSO_DATABASE_URL": url}
			} else {
				env["ESPRESSO_DATA"] = args[1]
			}
			n := serveNode(t, nil, append(args, throttleFlags...)...)
			good := mustIssue(t, env, "account", "create", "--wallet", newWallet(t, wallet.Mainnet))
			flooder := mustIssue(t, env, "account", "create", "--wallet", newWallet(t, wallet.Mainnet))
			const bad, other = "2001:db8:bad::1", "198.51.100.7"

			_, linesBefore := n.logs.found()
			refused, throttled := floodBadKeys(t, n.url, bad, 2000)
			if refused != 10 || throttled != 1990 {
				t.Errorf("a flood of 2000 unknown keys: %d × 401, %d × 429; want the burst (10) and 1990", refused, throttled)
			}
			_, linesAfter := n.logs.found()
			if added := linesAfter - linesBefore; added > 10 {
				t.Errorf("the flood added %d log lines, want a few (aggregated):\n%s", added, n.logs)
			}

			status, retry := as(t, bad, "GET", n.url+"/accounts/api-key", flooder.APIKey)
			if s, err := strconv.Atoi(retry); status != 429 || err != nil || s < 1 || s > 60 {
				t.Errorf("the flooder's valid key: %d, Retry-After %q; want 429 before any lookup, 1 to 60 s", status, retry)
			}
			if status, _ := as(t, "2001:db8:bad::2", "GET", n.url+"/auth/verify", flooder.APIKey); status != 429 {
				t.Errorf("another address of the flooder's /64: %d, want 429", status)
			}
			for _, path := range []string{"/accounts/api-key", "/auth/verify", "/accounts/operation-key"} {
				want := 200
				if path == "/accounts/operation-key" {
					want = 404 // not onboarded: the key was accepted
				}
				if status, _ := as(t, other, "GET", n.url+path, good.APIKey); status != want {
					t.Errorf("another client's valid key on %s during the flood: %d, want %d", path, status, want)
				}
			}

			if err := n.stop(); err != nil {
				t.Fatal(err)
			}
			logs := n.logs.String()
			var sawFlood, sawOther bool
			for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
				var m map[string]any
				if err := json.Unmarshal([]byte(line), &m); err != nil {
					t.Fatalf("a log line is not JSON: %s", line)
				}
				switch m["msg"] {
				case "request":
					if m["client"] == nil || m["client"] == "" {
						t.Errorf("a request line without the client: %s", line)
					}
					sawOther = sawOther || m["client"] == other
					if m["client"] == bad {
						t.Errorf("a refusal of the flooder logged a line of its own: %s", line)
					}
				case "refused credentials":
					if m["client"] == "2001:db8:bad::/64" {
						sawFlood = true
						if m["failed"] != float64(10) || m["throttled"].(float64) < 1990 {
							t.Errorf("the flood's aggregate line: %s", line)
						}
					}
				}
			}
			if !sawFlood || !sawOther {
				t.Errorf("the log lacks the flood's aggregate line (%v) or the other client's request lines (%v):\n%s", sawFlood, sawOther, logs)
			}
			noKeysLogged(t, []string{good.APIKey, flooder.APIKey}, n)
		})
	}
}

// floodBadKeys sends count unknown keys from client to /accounts/api-key
// and /auth/verify, four at a time, and counts the 401s and the 429s (each
// with Retry-After); anything else fails the test.
func floodBadKeys(t testing.TB, base, client string, count int) (refused, throttled int) {
	t.Helper()
	keys := make([]string, count)
	for i := range keys {
		keys[i] = unknownKey(t)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	defer hc.CloseIdleConnections()
	for w := range 4 {
		wg.Go(func() {
			for i := w; i < count; i += 4 {
				path := "/accounts/api-key"
				if i%2 == 1 {
					path = "/auth/verify"
				}
				req, _ := http.NewRequest("GET", base+path, nil)
				req.Header.Set("X-Forwarded-For", client)
				req.Header.Set("X-API-KEY", keys[i])
				resp, err := hc.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				mu.Lock()
				switch {
				case resp.StatusCode == 401:
					refused++
				case resp.StatusCode == 429 && resp.Header.Get("Retry-After") != "":
					throttled++
				default:
					t.Errorf("a flooded request: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return refused, throttled
}

// TestMultiNode_TheBudgetsHoldForTheClusterNotPerNode sends one client's
// unknown keys, and then its sign-in challenges, to two PostgreSQL nodes in
// turn: it gets each budget once, not twice. Another client still has its
// own.
func TestMultiNode_TheBudgetsHoldForTheClusterNotPerNode(t *testing.T) {
	t.Parallel()
	nodes := pgNodes(t, pgtest.URL(t), 2, append(throttleFlags, "--signin-rate", "5")...)
	const client = "203.0.113.50"
	refused := 0
	for i := range 40 {
		status, _ := as(t, client, "GET", nodes[i%2].url+"/auth/verify", unknownKey(t))
		switch status {
		case 401:
			refused++
		case 429:
		default:
			t.Fatalf("request %d: %d", i, status)
		}
	}
	if refused != 10 {
		t.Errorf("%d of 40 unknown keys over two nodes were 401, want the burst once: 10", refused)
	}
	body := `{"wallet_address":"` + newWallet(t, wallet.Mainnet) + `"}`
	challenged := 0
	for i := range 20 {
		status, _ := asWith(t, client, "POST", nodes[i%2].url+"/accounts/signin/challenge", "", body)
		switch status {
		case 200:
			challenged++
		case 429:
		default:
			t.Fatalf("challenge %d: %d", i, status)
		}
	}
	if challenged != 5 {
		t.Errorf("%d of 20 challenges over two nodes answered, want the budget once: 5", challenged)
	}
	if status, _ := as(t, "203.0.113.51", "GET", nodes[1].url+"/auth/verify", unknownKey(t)); status != 401 {
		t.Errorf("another client's first unknown key: %d, want 401", status)
	}
}

// TestThrottle_ARefusalForASpentBudgetIsHeldBeforeItIsSent checks
// --auth-failure-delay: once a client's budget is spent, its 429s come
// after the delay (so a flood gets one answer per connection per delay),
// while its first refusal, within the budget, is not held.
func TestThrottle_ARefusalForASpentBudgetIsHeldBeforeItIsSent(t *testing.T) {
	t.Parallel()
	const delay = 300 * time.Millisecond
	n := serveNode(t, nil, "--data", t.TempDir(), "--trusted-proxies", "127.0.0.1",
		"--auth-failure-rate", "1", "--auth-failure-burst", "1", "--auth-failure-delay", delay.String())
	if status, _ := as(t, "203.0.113.60", "GET", n.url+"/auth/verify", unknownKey(t)); status != 401 {
		t.Fatalf("the first unknown key: %d, want 401", status)
	}
	start := time.Now()
	status, retry := as(t, "203.0.113.60", "GET", n.url+"/accounts/api-key", unknownKey(t))
	if took := time.Since(start); status != 429 || took < delay {
		t.Errorf("past the budget: %d after %v (Retry-After %s), want 429 after at least %v", status, took, retry, delay)
	}
}

// TestOutage_TheBudgetsFallBackToEachNodesOwnWhilePostgreSQLIsDown stops
// the PostgreSQL server under two nodes: valid keys keep working (they
// never ask the shared buckets), and each node keeps its own budgets, so a
// client alternating between them gets each budget once per node (neither
// unlimited nor refused outright), and each node says so in its log.
func TestOutage_TheBudgetsFallBackToEachNodesOwnWhilePostgreSQLIsDown(t *testing.T) {
	t.Parallel()
	c := &pgCluster{Cluster: pgtest.StartCluster(t)}
	dbURL := c.schema(t)
	nodes := pgNodes(t, dbURL, 2, append(throttleFlags, "--signin-rate", "3")...)
	acct := newPGAccount(t, dbURL)
	for i, n := range nodes { // each node's replica learns the key
		if status, _ := as(t, "198.51.100.7", "GET", n.url+"/auth/verify", acct.APIKey); status != 200 {
			t.Fatalf("a valid key on node %d: %d", i, status)
		}
	}
	c.stop(t)

	for i, n := range nodes {
		if status, _ := as(t, "198.51.100.7", "GET", n.url+"/auth/verify", acct.APIKey); status != 200 {
			t.Errorf("a valid key on node %d while PostgreSQL is down: %d", i, status)
		}
	}
	refused := 0
	for i := range 40 {
		// A token is refused without the database.
		req, _ := http.NewRequest("GET", nodes[i%2].url+"/auth/verify", nil)
		req.Header.Set("X-Forwarded-For", "203.0.113.70")
		req.Header.Set("Authorization", "Bearer not-a-token")
		resp, err := apiClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		switch resp.StatusCode {
		case 401:
			refused++
		case 429:
		default:
			t.Fatalf("a bad token while PostgreSQL is down: %d", resp.StatusCode)
		}
	}
	if refused != 20 {
		t.Errorf("%d of 40 bad tokens over two nodes were 401 while PostgreSQL is down, want each node's burst: 20", refused)
	}
	body := `{"wallet_address":"` + newWallet(t, wallet.Mainnet) + `"}`
	challenged := 0
	for i := range 20 {
		if status, _ := asWith(t, "203.0.113.71", "POST", nodes[i%2].url+"/accounts/signin/challenge", "", body); status == 200 {
			challenged++
		}
	}
	if challenged != 6 {
		t.Errorf("%d of 20 challenges over two nodes while PostgreSQL is down, want each node's budget: 6", challenged)
	}
	for i, n := range nodes {
		if !strings.Contains(n.logs.String(), "shared rate limits unavailable") {
			t.Errorf("node %d did not log that it keeps its own budgets:\n%s", i, n.logs)
		}
	}
}
