package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/espresso-auth/espresso"
	"github.com/espresso-auth/espresso/apikey"
	"github.com/espresso-auth/espresso/store/postgres/pgtest"
)

// unavailableWithin is how soon every method must fail while the database is
// down: a functional bound (a request must get a 503, not hang), not a
// performance target.
const unavailableWithin = 5 * time.Second

func TestOutage_EveryMethodFailsUnavailableWithinFiveSeconds_AndTheSameStoreRecovers(t *testing.T) {
	t.Parallel()
	c := pgtest.StartCluster(t)
	s := migrated(t, c.URL())
	first := newKey(t)
	acct, _, err := s.CreateAccount(t.Context(), "addr_test1outage", &first)
	if err != nil {
		t.Fatalf("CreateAccount: %v", err)
	}
	w := watch(t, s)
	w.want(t, "when it first listens", true)

	c.Stop(t)
	calls := []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"RotateKey", func(ctx context.Context) error {
			_, _, err := s.RotateKey(ctx, acct.ID, &first.Hash, newKey(t))
			return err
		}},
		{"Snapshot", func(ctx context.Context) error { _, _, err := s.Snapshot(ctx); return err }},
		{"Events", func(ctx context.Context) error { _, err := s.Events(ctx, 0, 100); return err }},
		{"Ping", s.Ping},
		{"Migrate", func(ctx context.Context) error { _, err := s.Migrate(ctx); return err }},
		{"Version", func(ctx context.Context) error { _, err := s.Version(ctx); return err }},
		{"CreateAccount", func(ctx context.Context) error {
			_, _, err := s.CreateAccount(ctx, "addr_test1other", nil)
			return err
		}},
		{"AccountByWallet", func(ctx context.Context) error { _, err := s.AccountByWallet(ctx, acct.WalletAddress); return err }},
		{"AccountByID", func(ctx context.Context) error { _, err := s.AccountByID(ctx, acct.ID); return err }},
		{"SignIn", func(ctx context.Context) error {
			_, _, err := s.SignIn(ctx, acct.WalletAddress, "nonce", time.Now().Add(time.Minute), nil)
			return err
		}},
		{"RevokeKey", func(ctx context.Context) error { _, _, err := s.RevokeKey(ctx, acct.ID, nil); return err }},
		{"LiveKey", func(ctx context.Context) error { _, err := s.LiveKey(ctx, acct.ID); return err }},
		{"PruneEvents", func(ctx context.Context) error { _, err := s.PruneEvents(ctx, time.Now()); return err }},
		{"RecordUse", func(ctx context.Context) error {
			return s.RecordUse(ctx, map[apikey.Hash]time.Time{first.Hash: time.Now()})
		}},
		{"PruneNonces", func(ctx context.Context) error { _, err := s.PruneNonces(ctx, time.Now()); return err }},
		{"Setting", func(ctx context.Context) error {
			_, err := s.Setting(ctx, "jwt-secret", func() ([]byte, error) { return []byte("x"), nil })
			return err
		}},
	}
	for _, c := range calls {
		began := time.Now()
		err := c.call(t.Context())
		took := time.Since(began)
		if k := espresso.KindOf(err); k != espresso.Unavailable {
			t.Errorf("%s with the database down: error %v (kind %v), want kind unavailable", c.name, err, k)
		}
		if took >= unavailableWithin {
			t.Errorf("%s with the database down took %v to fail, want under %v", c.name, took, unavailableWithin)
		}
		t.Logf("%s failed in %v: %v", c.name, took.Round(time.Microsecond), err)
	}

	c.Start(t)
	deadline := time.Now().Add(30 * time.Second)
	for err := s.Ping(t.Context()); err != nil; err = s.Ping(t.Context()) {
		if time.Now().After(deadline) {
			t.Fatalf("Ping still fails 30s after the database came back: %v", err)
		}
	}
	if _, _, err := s.RotateKey(t.Context(), acct.ID, &first.Hash, newKey(t)); err != nil {
		t.Fatalf("RotateKey once the database is back: %v", err)
	}
	// The rotation may have committed before Watch listened again: only
	// later writes are reported as such.
	w.want(t, "once the database is back", true)
	if _, _, err := s.RotateKey(t.Context(), acct.ID, nil, newKey(t)); err != nil {
		t.Fatalf("RotateKey once Watch listens again: %v", err)
	}
	w.want(t, "after a rotation once Watch listens again", false)
}
