package main

import (
	"crypto/ed25519"
	"net/http"
	"sync"
	"testing"

	"github.com/espresso-auth/espresso/store/postgres/pgtest"
)

// TestMultiNode_OperationKeyChangesAreReadAtOnceByTheOtherNode: nodes read
// spot accounts from PostgreSQL on every request, so a change answered by
// one node is what the other answers with next, without waiting: an
// onboarding, a re-encryption, a sign-in's is_onboarding_ready. Of
// concurrent onboardings spread over both nodes, exactly one wins.
func TestMultiNode_OperationKeyChangesAreReadAtOnceByTheOtherNode(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.URL(t)
	// One public URL, the tokens' issuer, as behind a load balancer.
	nodes := pgNodes(t, dbURL, 2, "--public-url", "https://espresso.example")
	a := apiCaller{t, apiClient, nodes[0].url}
	b := apiCaller{t, apiClient, nodes[1].url}

	_, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	token := a.signIn(priv, nil)["token"].(string)
	status, out := b.do("GET", "/accounts/operation-key", "", token, nil)
	b.want("B before the onboarding", status, out, 404, 4405)

	const callers = 16
	blobs := make([]string, callers)
	statuses := make([]int, callers)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range callers {
		blobs[i], _ = fakeOperationKeyN(i)
		c := []apiCaller{a, b}[i%2]
		wg.Go(func() {
			<-start
			var err error
			statuses[i], _, err = c.try("POST", "/accounts/spot-account", "", token, map[string]any{
				"encrypted_operation_key": blobs[i], "operation_key_hash": "ab", "is_script_operation_key": false})
			if err != nil {
				t.Error(err)
			}
		})
	}
	close(start)
	wg.Wait()
	winner, conflicts := -1, 0
	for i, s := range statuses {
		switch {
		case s == http.StatusOK && winner < 0:
			winner = i
		case s == http.StatusConflict:
			conflicts++
		default:
			t.Fatalf("onboardings over two nodes: %v, want one 200 and %d 409", statuses, callers-1)
		}
	}
	if winner < 0 || conflicts != callers-1 {
		t.Fatalf("onboardings over two nodes: %v, want one 200 and %d 409", statuses, callers-1)
	}
	for _, n := range []apiCaller{a, b} {
		status, out := n.do("GET", "/accounts/operation-key", "", token, nil)
		if status != 200 || out["encrypted_operation_key"] != blobs[winner] {
			t.Errorf("%s after the onboarding: %d %v, want the winner's key", n.base, status, out)
		}
	}
	if again := b.signIn(priv, nil); again["is_onboarding_ready"] != true {
		t.Errorf("sign-in on B after the onboarding on one node: %v", again)
	}

	// Re-encrypt on one node, read on the other at once, three times each way.
	for i := range 6 {
		writer, reader := []apiCaller{a, b}[i%2], []apiCaller{b, a}[i%2]
		next, _ := fakeOperationKeyN(100 + i)
		status, out := writer.do([]string{"PATCH", "PUT"}[i%2], "/accounts/spot-account", "", token, map[string]any{"encrypted_operation_key": next})
		writer.want("re-encryption", status, out, 200, 0)
		status, out = reader.do("GET", "/accounts/spot-account", "", token, nil)
		if status != 200 || out["encrypted_operation_key"] != next || out["operation_key_hash"] != "ab" {
			t.Errorf("re-encryption %d on %s, read at once on %s: %d %v", i, writer.base, reader.base, status, out)
		}
	}
}

// fakeOperationKeyN returns a blob of the right form that no password
// opens, distinct for each i < 4096, and a hash.
func fakeOperationKeyN(i int) (blob, hash string) {
	iv := []byte("AAAAAAAAAAAAAAAA")
	iv[0] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[i%64]
	iv[1] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[i/64%64]
	return `{"iv":"` + string(iv) + `","ciphertext":"AAAAAAAAAAAAAAAAAAAAAA=="}`, "ab"
}
