package keys

import (
	"context"
	"crypto/ed25519"
	"errors"
	"io"
	"log/slog"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/espresso-auth/espresso"
	"github.com/espresso-auth/espresso/store"
	"github.com/espresso-auth/espresso/store/postgres"
	"github.com/espresso-auth/espresso/store/postgres/pgtest"
	"github.com/espresso-auth/espresso/store/sqlite"
	"github.com/espresso-auth/espresso/wallet"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// createKeys creates n accounts with their first keys through s, a few at
// a time, and returns the keys.
func createKeys(t testing.TB, s *Service, n int) []Issued {
	t.Helper()
	out := make([]Issued, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for w := range 8 {
		wg.Go(func() {
			for i := w; i < n; i += 8 {
				pub, _, _ := ed25519.GenerateKey(nil)
				issued, err := s.CreateAccount(context.Background(), wallet.NewEnterpriseAddress(pub, wallet.Mainnet).String())
				if err != nil {
					errs <- err
					return
				}
				out[i] = issued
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return out
}

// startRun runs s until the test ends.
func startRun(t testing.TB, s *Service) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

// loadChecker verifies keys against a node while it loads: the live ones
// must be accepted (or, if storage is slow, answered Unavailable: never
// refused), and a key must never be accepted once its revocation has
// reached the node's feed position.
type loadChecker struct {
	t       testing.TB
	s       *Service
	admin   *store.Store
	live    []Issued
	revoked []Issued
	checked int
	next    int // the live key a round starts after
}

// round verifies the next few live keys and every revoked one.
func (c *loadChecker) round() {
	c.t.Helper()
	ctx := context.Background()
	for range min(8, len(c.live)) {
		c.next = (c.next + 1) % len(c.live)
		k := c.live[c.next]
		info, err := c.s.Verify(ctx, k.Key.String())
		switch {
		case err == nil && info.AccountID == k.AccountID && info.WalletAddress == k.WalletAddress:
		case espresso.KindOf(err) == espresso.Unavailable:
		default:
			c.t.Fatalf("a live key of %s during the load: %+v, %v", k.AccountID, info, err)
		}
		c.checked++
	}
	for _, k := range c.revoked {
		if _, err := c.s.Verify(ctx, k.Key.String()); !errors.Is(err, espresso.ErrUnauthorized) {
			c.t.Fatalf("a key revoked before the load reached it is not refused: %v", err)
		}
		c.checked++
	}
}

// all verifies every key.
func (c *loadChecker) all() {
	c.t.Helper()
	for range (len(c.live) + 7) / 8 {
		c.round()
	}
}

// revoke revokes the next live key through the admin store, waits for the
// node's feed to pass it, and from then on expects it refused.
func (c *loadChecker) revoke() {
	c.t.Helper()
	k := c.live[0]
	_, events, err := c.admin.RevokeKey(context.Background(), k.AccountID, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	seq := events[len(events)-1].Seq
	waitFor(c.t, func() bool { return c.s.Stats().Seq >= seq }, "the revocation to reach the node")
	c.live, c.revoked = c.live[1:], append(c.revoked, k)
}

// TestLoad_OnPostgreSQL_StartsAndRecoversWhileTheSnapshotTakesLongerThanTheCallBound
// puts the database a fixed latency away, with a per-call bound smaller
// than the time it takes to read every live key in pages: a start-up and a
// recovery (the notification connection lost) both succeed, the node
// answers from the start, and a key revoked meanwhile is never accepted.
func TestLoad_OnPostgreSQL_StartsAndRecoversWhileTheSnapshotTakesLongerThanTheCallBound(t *testing.T) {
	t.Parallel()
	const (
		keys    = 120
		page    = 4
		latency = 10 * time.Millisecond
		bound   = 250 * time.Millisecond // > a page's few round trips; < keys/page round trips
	)
	direct := pgtest.URL(t)
	u, err := url.Parse(direct)
	if err != nil || u.Host == "" {
		t.Skip("the test database URL has no host to put a proxy in front of")
	}
	admin, err := postgres.Open(t.Context(), direct, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = admin.Close() })
	if _, err := admin.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	issued := createKeys(t, New(admin, Options{Logger: quiet()}), keys)

	p := startSlowProxy(t, u.Host, latency)
	u.Host = p.addr()
	st, err := postgres.Open(t.Context(), u.String(), postgres.Options{Timeout: bound})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	s := New(st, Options{Logger: quiet(), LoadPage: page, PollInterval: 50 * time.Millisecond})
	began := time.Now()
	if err := s.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := s.Ready(t.Context()); err != nil {
		t.Fatalf("Ready right after Load: %v", err)
	}
	startRun(t, s)
	c := &loadChecker{t: t, s: s, admin: admin, live: issued}
	c.round()
	c.revoke()
	for !s.Stats().Loaded {
		c.round()
	}
	took := time.Since(began)
	t.Logf("start-up: %d keys loaded in %v with a per-call bound of %v; %d verifications on the way", keys, took, bound, c.checked)
	if took <= bound {
		t.Fatalf("the load took %v, within the per-call bound %v: the test does not show what it claims", took, bound)
	}
	c.all()
	if n := s.Stats().Keys; n != len(c.live) {
		t.Errorf("the loaded replica holds %d keys, want %d", n, len(c.live))
	}

	// Recovery: every connection drops; the listener comes back, and the
	// replica is reloaded in pages while the old one serves.
	loads := s.Stats().Loads
	p.cut()
	began = time.Now()
	c.checked = 0
	c.revoke()
	for s.Stats().Loads == loads {
		c.round()
	}
	t.Logf("recovery: reloaded in %v; %d verifications on the way", time.Since(began), c.checked)
	c.all()
	if n := s.Stats().Keys; n != len(c.live) {
		t.Errorf("the reloaded replica holds %d keys, want %d", n, len(c.live))
	}
}

// TestLoad_OnSQLite_ServesAtOnceWhileItLoadsInPages loads a replica in
// pages of a few keys from a database file that another handle (as another
// process would) changes meanwhile: the node answers from the start, and a
// key revoked on the way is never accepted once its revocation is in the
// feed the node has read.
func TestLoad_OnSQLite_ServesAtOnceWhileItLoadsInPages(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	admin, err := sqlite.Open(t.Context(), dir, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = admin.Close() })
	if _, err := admin.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	issued := createKeys(t, New(admin, Options{Logger: quiet()}), 60)
	st, err := sqlite.Open(t.Context(), dir, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	s := New(st, Options{Logger: quiet(), LoadPage: 2, PollInterval: 10 * time.Millisecond})
	if err := s.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := s.Ready(t.Context()); err != nil {
		t.Fatalf("Ready right after Load: %v", err)
	}
	c := &loadChecker{t: t, s: s, admin: admin, live: issued}
	c.round() // nothing loaded yet: every key is looked up
	startRun(t, s)
	for i := 0; !s.Stats().Loaded; i++ {
		if i%3 == 0 && len(c.live) > 40 {
			c.revoke()
		}
		c.round()
	}
	c.all()
	t.Logf("%d keys revoked during the load, %d verifications", len(c.revoked), c.checked)
	if len(c.revoked) == 0 {
		t.Error("no key was revoked during the load: the test shows nothing")
	}
	if n := s.Stats().Keys; n != len(c.live) {
		t.Errorf("the loaded replica holds %d keys, want %d", n, len(c.live))
	}
}
