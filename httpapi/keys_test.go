package httpapi

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestNewAPIKey_ReturnsExactlyTheSeedsShapeAndRetiresTheOldKey(t *testing.T) {
	e := newTestEnv(t)
	_, old := e.newAccount()

	before := time.Now().Truncate(time.Second)
	resp, body := e.do("GET", "/accounts/new-api-key", http.Header{
		"X-Api-Key":    {old},
		"Content-Type": {"application/json"}, // the platform's SDKs send it on GETs
	})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", cc)
	}
	var fields map[string]string
	if err := json.Unmarshal(body, &fields); err != nil || len(fields) != 2 {
		t.Fatalf("body %s: want exactly api_key and created_at", body)
	}
	newKey := fields["api_key"]
	if !regexp.MustCompile(`^dk_live_[0-9A-Za-z]{36}$`).MatchString(newKey) {
		t.Errorf("api_key %q does not have the documented format", newKey)
	}
	created, err := time.Parse("2006-01-02T15:04:05Z", fields["created_at"])
	if err != nil {
		t.Errorf("created_at %q is not RFC 3339 UTC in whole seconds like the platform's example", fields["created_at"])
	}
	if created.Before(before) || created.After(time.Now()) {
		t.Errorf("created_at %v is not the time of the request", created)
	}

	if resp, body := e.do("GET", "/accounts/api-key", keyHeader(old)); resp.StatusCode != 401 {
		t.Errorf("old key after rotation: %d %s", resp.StatusCode, body)
	} else if code, msg := errorBody(t, body); code != 4010 || msg != "Unauthorized access" {
		t.Errorf("old key after rotation: %d %q", code, msg)
	}
	resp, body = e.do("GET", "/accounts/api-key", keyHeader(newKey))
	if resp.StatusCode != 200 {
		t.Fatalf("new key: %d %s", resp.StatusCode, body)
	}
	var info struct {
		CreatedAt string `json:"created_at"`
		MaskedKey string `json:"masked_key"`
		APIKey    string `json:"api_key"`
	}
	if err := json.Unmarshal(body, &info); err != nil {
		t.Fatal(err)
	}
	if info.CreatedAt != fields["created_at"] {
		t.Errorf("GET api-key created_at %q != creation's %q", info.CreatedAt, fields["created_at"])
	}
	// The platform's clients read {"api_key", "created_at"} here: api_key
	// is the masked form, since the key itself is never shown again.
	masked := newKey[:12] + "…" + newKey[40:]
	if strings.Contains(string(body), newKey) || info.MaskedKey != masked || info.APIKey != masked {
		t.Errorf("GET api-key shows masked_key %q, api_key %q for %s…: want the masked form only", info.MaskedKey, info.APIKey, newKey[:12])
	}
}

func TestGetAPIKey_ReportsThePreviousUse(t *testing.T) {
	e := newTestEnv(t)
	id, key := e.newAccount()
	var first, second struct {
		AccountID  string  `json:"account_id"`
		LastUsedAt *string `json:"last_used_at"`
	}
	_, body := e.do("GET", "/accounts/api-key", keyHeader(key))
	if err := json.Unmarshal(body, &first); err != nil {
		t.Fatal(err)
	}
	if first.LastUsedAt != nil || first.AccountID != id {
		t.Errorf("first use: %s", body)
	}
	_, body = e.do("GET", "/accounts/api-key", keyHeader(key))
	if err := json.Unmarshal(body, &second); err != nil {
		t.Fatal(err)
	}
	if second.LastUsedAt == nil {
		t.Errorf("second use does not report the first: %s", body)
	}
}

func TestRevokeAPIKey_StopsTheKeyBeforeAnswering(t *testing.T) {
	e := newTestEnv(t)
	_, key := e.newAccount()
	resp, body := e.do("DELETE", "/accounts/api-key", keyHeader(key))
	if resp.StatusCode != 200 {
		t.Fatalf("revoke: %d %s", resp.StatusCode, body)
	}
	var out revokeResponse
	if err := json.Unmarshal(body, &out); err != nil || out.RevokedAt == "" || !strings.HasPrefix(out.MaskedKey, "dk_live_") {
		t.Errorf("revoke answer %s", body)
	}
	for _, req := range [][2]string{{"GET", "/accounts/api-key"}, {"GET", "/accounts/new-api-key"}, {"DELETE", "/accounts/api-key"}} {
		if resp, _ := e.do(req[0], req[1], keyHeader(key)); resp.StatusCode != 401 {
			t.Errorf("%s %s with the revoked key: %d", req[0], req[1], resp.StatusCode)
		}
	}
}

// TestRotate_ConcurrentCallersExactlyOneWins races 64 rotations presenting
// the same key, many times over: one 200, the rest 401, and only the
// winner's key works afterwards.
func TestRotate_ConcurrentCallersExactlyOneWins(t *testing.T) {
	e := newTestEnv(t)
	_, key := e.newAccount()
	const callers, rounds = 64, 20
	for round := range rounds {
		var wg sync.WaitGroup
		var mu sync.Mutex
		var winners []string
		statuses := map[int]int{}
		start := make(chan struct{})
		for range callers {
			wg.Go(func() {
				<-start
				req, _ := http.NewRequest("GET", e.srv.URL+"/accounts/new-api-key", nil)
				req.Header.Set("X-API-KEY", key)
				resp, err := e.srv.Client().Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				defer resp.Body.Close()
				var out newAPIKeyResponse
				_ = json.NewDecoder(resp.Body).Decode(&out)
				mu.Lock()
				defer mu.Unlock()
				statuses[resp.StatusCode]++
				if resp.StatusCode == 200 {
					winners = append(winners, out.APIKey)
				}
			})
		}
		close(start)
		wg.Wait()
		if len(winners) != 1 || statuses[401] != callers-1 {
			t.Fatalf("round %d: statuses %v, want one 200 and %d 401", round, statuses, callers-1)
		}
		if resp, _ := e.do("GET", "/accounts/api-key", keyHeader(key)); resp.StatusCode != 401 {
			t.Fatalf("round %d: the presented key still works", round)
		}
		key = winners[0]
		if resp, _ := e.do("GET", "/accounts/api-key", keyHeader(key)); resp.StatusCode != 200 {
			t.Fatalf("round %d: the winner's key does not work", round)
		}
	}
}
