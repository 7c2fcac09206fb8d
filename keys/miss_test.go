package keys

import (
	"crypto/ed25519"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/espresso-auth/espresso"
	"github.com/espresso-auth/espresso/apikey"
	"github.com/espresso-auth/espresso/store"
	"github.com/espresso-auth/espresso/store/postgres"
	"github.com/espresso-auth/espresso/store/postgres/pgtest"
	"github.com/espresso-auth/espresso/store/sqlite"
	"github.com/espresso-auth/espresso/wallet"
)

// dbCalls counts a store's database calls by operation, as the metrics
// package does (store.Options.Observe).
type dbCalls struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *dbCalls) observe(op string, _ time.Duration, _ error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[op]++
}

func (c *dbCalls) get(op string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[op]
}

func TestVerify_OnSQLite_UnknownKeysReadNothingWhileNothingChanged(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var calls dbCalls
	node, err := sqlite.Open(t.Context(), dir, sqlite.Options{Observe: calls.observe})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = node.Close() })
	if _, err := node.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	// Another handle on the same file: another process, as far as SQLite
	// can tell.
	other, err := sqlite.Open(t.Context(), dir, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = other.Close() })
	testMisses(t, node, other, &calls)
}

func TestVerify_OnPostgreSQL_UnknownKeysReadNothingWhileNothingChanged(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.URL(t)
	var calls dbCalls
	node, err := postgres.Open(t.Context(), dbURL, postgres.Options{Observe: calls.observe})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = node.Close() })
	if _, err := node.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	other, err := postgres.Open(t.Context(), dbURL, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = other.Close() })
	testMisses(t, node, other, &calls)
}

// testMisses floods a loaded node with well-formed unknown keys while
// nothing changes (no poll either: the interval is an hour), then issues a
// key through another handle and presents it to the node at once.
func testMisses(t *testing.T, node, other *store.Store, calls *dbCalls) {
	ctx := t.Context()
	existing := createKeys(t, New(node, Options{Logger: quiet()}), 3)
	s := New(node, Options{Logger: quiet(), PollInterval: time.Hour})
	if err := s.LoadAll(ctx); err != nil {
		t.Fatal(err)
	}
	startRun(t, s)
	if err := s.feed.catchUp(ctx); err != nil { // Run's first pull
		t.Fatal(err)
	}
	waitFor(t, func() bool { return s.feed.unchanged(ctx) }, "the node to know the feed is unchanged")

	flood := func(n int) (events, lookups int) {
		t.Helper()
		e, l := calls.get("events"), calls.get("key by hash")
		for range n {
			k, err := apikey.New(apikey.Live)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Verify(ctx, k.String()); !errors.Is(err, espresso.ErrUnauthorized) {
				t.Fatalf("an unknown key: %v, want ErrUnauthorized", err)
			}
		}
		return calls.get("events") - e, calls.get("key by hash") - l
	}
	if events, lookups := flood(500); events != 0 || lookups != 0 {
		t.Errorf("500 unknown keys with nothing changed cost %d feed reads and %d key lookups, want none", events, lookups)
	}
	for _, k := range existing {
		if _, err := s.Verify(ctx, k.Key.String()); err != nil {
			t.Fatalf("a live key: %v", err)
		}
	}

	for i := range 5 {
		pub, _, _ := ed25519.GenerateKey(nil)
		issued, err := New(other, Options{Logger: quiet()}).CreateAccount(ctx, wallet.NewEnterpriseAddress(pub, wallet.Mainnet).String())
		if err != nil {
			t.Fatal(err)
		}
		if info, err := s.Verify(ctx, issued.Key.String()); err != nil || info.AccountID != issued.AccountID {
			t.Fatalf("key %d issued through another handle a moment ago: %+v, %v", i, info, err)
		}
	}
	// Once the node has read the change, misses are free again (a pull
	// woken by the change's notification may still be on its way).
	if events, lookups := flood(200); events > 2 || lookups != 0 {
		t.Errorf("200 unknown keys after a change cost %d feed reads and %d key lookups, want at most 2 and none", events, lookups)
	}
}
