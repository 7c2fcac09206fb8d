package postgres

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/espresso-auth/espresso/store/postgres/pgtest"
)

// TestTakeToken_ConcurrentTakesFromTwoHandlesGetTheBurstExactly races two
// handles (two nodes) on one bucket: the burst is given once in all, a
// refusal says how long until the next token, and other clients and scopes
// have buckets of their own.
func TestTakeToken_ConcurrentTakesFromTwoHandlesGetTheBurstExactly(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	a, b := migrated(t, url), migrated(t, url)
	if !a.SharesLimits() {
		t.Fatal("a PostgreSQL store does not share limits")
	}
	const burst, every = 10, time.Hour // no refill while the test runs
	var ok atomic.Int64
	var wg sync.WaitGroup
	for i := range 40 {
		s := a
		if i%2 == 1 {
			s = b
		}
		wg.Go(func() {
			got, wait, err := s.TakeToken(t.Context(), "credentials", "203.0.113.9", every, burst)
			if err != nil {
				t.Error(err)
				return
			}
			if got {
				ok.Add(1)
			} else if wait <= 0 || wait > every+time.Minute {
				// (Concurrent statements' now() differ by their start: a
				// wait may exceed one interval by that much.)
				t.Errorf("refused with a wait of %v, want about %v at most", wait, every)
			}
		})
	}
	wg.Wait()
	if ok.Load() != burst {
		t.Errorf("%d tokens taken over two handles, want %d", ok.Load(), burst)
	}
	for _, c := range []struct{ scope, client string }{{"credentials", "203.0.113.10"}, {"signin", "203.0.113.9"}} {
		if got, _, err := a.TakeToken(t.Context(), c.scope, c.client, every, burst); err != nil || !got {
			t.Errorf("%s of %s: %v %v, want a token of its own", c.scope, c.client, got, err)
		}
	}
	// The last token of a bucket says how long until the next one.
	for range burst - 2 {
		a.TakeToken(t.Context(), "signin", "203.0.113.9", every, burst)
	}
	if got, wait, err := a.TakeToken(t.Context(), "signin", "203.0.113.9", every, burst); err != nil || !got || wait <= every-time.Minute || wait > every {
		t.Errorf("the last token: %v, wait %v, %v; want taken, about %v", got, wait, err, every)
	}
}

// TestTakeToken_RefillsAndSweeps uses a fast rate: a token comes back,
// and a full bucket is swept.
func TestTakeToken_RefillsAndSweeps(t *testing.T) {
	t.Parallel()
	s, d := openDriver(t, pgtest.URL(t), Options{})
	if _, err := s.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	const every = 50 * time.Millisecond
	if got, _, _ := s.TakeToken(t.Context(), "challenge", "2001:db8::/64", every, 1); !got {
		t.Fatal("the first token refused")
	}
	got, wait, err := s.TakeToken(t.Context(), "challenge", "2001:db8::/64", every, 1)
	if err != nil || got || wait <= 0 {
		t.Fatalf("the second token at once: %v, wait %v, %v", got, wait, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, _, err := s.TakeToken(t.Context(), "challenge", "2001:db8::/64", every, 1)
		if err != nil {
			t.Fatal(err)
		}
		if got {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the bucket never refilled")
		}
		time.Sleep(wait)
	}
	deadline = time.Now().Add(10 * time.Second)
	for {
		if err := s.SweepTokens(t.Context()); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := d.pool.QueryRow(t.Context(), `SELECT count(*) FROM rate_limits`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d full buckets left after sweeping", n)
		}
		time.Sleep(every)
	}
}
