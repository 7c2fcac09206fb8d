package main

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/espresso-auth/espresso/store/postgres/pgtest"
	"github.com/espresso-auth/espresso/wallet"
)

// TestMultiNode_ConcurrentRotationsAcrossTwoNodesExactlyOneWins sends 64
// concurrent rotations presenting the same key, half to each of two nodes
// sharing one PostgreSQL: exactly one may win, the 63 others get 401 4010.
// Then the winner's key works on both nodes at once, and the old key is
// refused by the winner's node at once and by the other within the bound.
func TestMultiNode_ConcurrentRotationsAcrossTwoNodesExactlyOneWins(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.URL(t)
	nodes := pgNodes(t, dbURL, 2)
	acct := newPGAccount(t, dbURL)
	key := acct.APIKey
	issued := []string{key}

	const callers, rounds = 64, 10
	wins := [2]int{}
	otherStillAccepted := 0 // rounds where the losing node accepted the old key at the first look
	for round := range rounds {
		for _, n := range nodes {
			mustAccept(t, n.url, key, "before the race")
		}
		type result struct {
			node     int
			status   int
			body     []byte
			err      error
			answered time.Time
		}
		results := make([]result, callers)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range callers {
			wg.Go(func() {
				n := i % len(nodes)
				<-start
				status, body, err := send("GET", nodes[n].url+"/accounts/new-api-key", key)
				results[i] = result{n, status, body, err, time.Now()}
			})
		}
		close(start)
		wg.Wait()

		winner, next, refused := -1, "", 0
		var wonAt time.Time
		for i, r := range results {
			switch {
			case r.err != nil:
				t.Fatalf("round %d, caller %d (node %d): %v", round, i, r.node, r.err)
			case r.status == 200:
				if winner >= 0 {
					t.Fatalf("round %d: two rotations of one key succeeded (nodes %d and %d)", round, winner, r.node)
				}
				winner, next, wonAt = r.node, newKeyFrom(t, r.body), r.answered
			case r.status == 401 && bytes.Equal(r.body, unauthorizedBody):
				refused++
			default:
				t.Fatalf("round %d, caller %d (node %d): %d %s, want 200 or 401 %s", round, i, r.node, r.status, r.body, unauthorizedBody)
			}
		}
		if winner < 0 || refused != callers-1 {
			t.Fatalf("round %d: %d winners, %d refused; want 1 and %d", round, min(winner+1, 1), refused, callers-1)
		}
		wins[winner]++
		issued = append(issued, next)

		// The old key first: asking about the new key makes a node read
		// the feed, which would hide how soon the revocation arrived.
		mustRefuse(t, nodes[winner].url, key, "the old key on the winner's node")
		other := nodes[1-winner].url
		if status, _ := call(t, "GET", other+"/accounts/api-key", key); status == 200 {
			otherStillAccepted++
		}
		refusedAfter(t, other, key, wonAt, "the old key on the other node")
		for _, n := range nodes {
			mustAccept(t, n.url, next, "the winner's key")
		}
		key = next
	}
	t.Logf("%d rounds of %d concurrent rotations over 2 nodes: wins per node %v; the other node still accepted the old key at the first look in %d rounds (refused within %v in all)",
		rounds, callers, wins, otherStillAccepted, revocationBound)
	noKeysLogged(t, issued, nodes...)
}

// TestMultiNode_SIGKILLOfOneNodeLosesNothingAndSparesTheOther runs two
// real server processes on one PostgreSQL, rotates through A a random
// number of times and SIGKILLs A right after an answer. B keeps serving:
// the last key A answered works on B, the earlier ones are refused (within
// the bound: the last revocation may still be on its way). A restarted
// answers the same, at once. Repeated over several crashes.
func TestMultiNode_SIGKILLOfOneNodeLosesNothingAndSparesTheOther(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.URL(t)
	acct := newPGAccount(t, dbURL)
	addrA := freeAddr(t)
	b := startProcess(t, freeAddr(t), "--database-url", dbURL)
	a := startProcess(t, addrA, "--database-url", dbURL)
	logs := []*scanLog{b.logs, a.logs}
	issued := []string{acct.APIKey}

	const crashes = 3
	for crash := range crashes {
		last := issued[len(issued)-1]
		n := 1 + rand.IntN(20)
		for range n {
			// B holds every key in its replica, so it must learn of each
			// revocation from the feed (a key it never saw would only be
			// looked up, and the lookup would find it revoked).
			mustAccept(t, b.url, last, "B, the key about to be rotated on A")
			last, _ = rotateAt(t, a.url, last)
			issued = append(issued, last)
		}
		a.kill(t) // no pause: the answer above is the last thing A did
		killed := time.Now()

		// Earlier keys first: asking about a key B does not hold yet (the
		// last one) makes it read the feed.
		for i := len(issued) - 2; i >= 0; i-- {
			refusedAfter(t, b.url, issued[i], killed, "B, an earlier key after A's SIGKILL")
		}
		mustAccept(t, b.url, last, "B, the last key A answered before SIGKILL")

		a = startProcess(t, addrA, "--database-url", dbURL)
		logs = append(logs, a.logs)
		mustAccept(t, a.url, last, "A restarted, the last key it answered")
		for i := len(issued) - 2; i >= 0; i-- {
			mustRefuse(t, a.url, issued[i], "A restarted, an earlier key")
		}
		mustAccept(t, b.url, last, "B, after A's restart")
		t.Logf("crash %d: SIGKILL after %d rotations; %d keys issued so far", crash, n, len(issued))
	}
	a.kill(t)
	b.kill(t)
	for i, l := range logs {
		found, lines := l.found()
		reportKeys(t, issued, found, fmt.Sprintf("process log #%d (%d lines)", i, lines))
	}
}

// TestMultiNode_AKeyIssuedOnOneNodeIsAcceptedAtOnceByTheOther rotates on
// one node and uses the new key on the other with no wait at all: a key
// missing from a replica makes it read the feed before refusing, so it must
// be accepted at once, as its account's, with its mask.
func TestMultiNode_AKeyIssuedOnOneNodeIsAcceptedAtOnceByTheOther(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.URL(t)
	nodes := pgNodes(t, dbURL, 2)
	acct := newPGAccount(t, dbURL)
	key := acct.APIKey
	issued := []string{key}
	for i := range 40 {
		from, to := nodes[i%2].url, nodes[1-i%2].url
		next, _ := rotateAt(t, from, key)
		issued = append(issued, next)
		status, body := call(t, "GET", to+"/accounts/api-key", next)
		if status != 200 {
			t.Fatalf("rotation %d: the new key is refused by the other node right after the answer: %d %s", i, status, body)
		}
		var info struct {
			AccountID string `json:"account_id"`
			MaskedKey string `json:"masked_key"`
		}
		if err := json.Unmarshal(body, &info); err != nil {
			t.Fatal(err)
		}
		if want := next[:12] + "…" + next[len(next)-4:]; info.AccountID != acct.AccountID || info.MaskedKey != want {
			t.Fatalf("rotation %d: the other node describes the new key as %s of %s, want %s of %s",
				i, info.MaskedKey, info.AccountID, want, acct.AccountID)
		}
		mustRefuse(t, from, key, "the old key on the rotating node")
		key = next
	}
	noKeysLogged(t, issued, nodes...)
}

// TestMultiNode_SignInOnOneNodeWorksOnTheOther: a challenge from node A is
// answered on node B, and B's token is accepted by A: every node shares the
// token secret through the database.
func TestMultiNode_SignInOnOneNodeWorksOnTheOther(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.URL(t)
	nodes := pgNodes(t, dbURL, 2, "--public-url", "https://espresso.example")
	a, b := nodes[0], nodes[1]
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	addr := wallet.NewEnterpriseAddress(pub, wallet.Mainnet)

	status, ch := postJSON(t, a.url+"/accounts/signin/challenge", map[string]string{"wallet_address": addr.String()})
	if status != 200 {
		t.Fatalf("challenge on A: %d %v", status, ch)
	}
	sig, key, err := wallet.SignData(priv, addr, []byte(ch["message"].(string)))
	if err != nil {
		t.Fatal(err)
	}
	status, sess := postJSON(t, b.url+"/accounts/signin", map[string]string{
		"wallet_address": addr.String(), "nonce": ch["nonce"].(string), "signature": sig, "key": key})
	if status != 200 {
		t.Fatalf("sign-in on B with A's challenge: %d %v", status, sess)
	}
	token := sess["token"].(string)
	req, _ := http.NewRequest("GET", a.url+"/accounts/new-api-key", nil)
	req.Header.Set("Authorization", token)
	resp, err := apiClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("new-api-key on A with B's token: %d %s", resp.StatusCode, body)
	}
	issued := newKeyFrom(t, bytes.TrimSpace(body))
	mustAccept(t, b.url, issued, "B, the key A issued with B's token")
	// The nonce is spent on every node.
	if status, _ := postJSON(t, a.url+"/accounts/signin", map[string]string{
		"wallet_address": addr.String(), "nonce": ch["nonce"].(string), "signature": sig, "key": key}); status != 401 {
		t.Errorf("the spent nonce on A: %d", status)
	}
	noKeysLogged(t, []string{issued, token}, a, b)
}
