package storetest

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/espresso-auth/espresso"
	"github.com/espresso-auth/espresso/store"
)

func (h harness) testAccounts(t *testing.T) {
	t.Parallel()
	t.Run("creating an account without a key returns it not onboarded and records no events", func(t *testing.T) {
		t.Parallel()
		d := h.fresh(t)
		wallet := newWallet()
		a, events, err := d.s.CreateAccount(t.Context(), wallet, nil)
		if err != nil {
			t.Fatalf("CreateAccount: %v", err)
		}
		if a.ID == "" {
			t.Error("the account has no ID")
		}
		wantAccount(t, "CreateAccount", a, store.Account{ID: a.ID, WalletAddress: wallet, CreatedAt: d.now()})
		if len(events) != 0 {
			t.Errorf("CreateAccount recorded %s", describe(events))
		}
		if all := allEvents(t, d.s, 0); len(all) != 0 {
			t.Errorf("the feed holds %s", describe(all))
		}
		if _, err := d.s.LiveKey(t.Context(), a.ID); !errors.Is(err, espresso.ErrNoKey) {
			t.Errorf("LiveKey: %v, want ErrNoKey", err)
		}
	})

	t.Run("creating an account with a first key issues it and records one event", func(t *testing.T) {
		t.Parallel()
		d := h.fresh(t)
		wallet, first := newWallet(), newKey()
		a, events, err := d.s.CreateAccount(t.Context(), wallet, &first)
		if err != nil {
			t.Fatalf("CreateAccount: %v", err)
		}
		// A key is not onboarding: that takes an operation key.
		wantAccount(t, "CreateAccount", a, store.Account{ID: a.ID, WalletAddress: wallet, CreatedAt: d.now()})
		want := []store.Event{{Kind: store.KeyIssued, Key: liveKeyOf(a, first, d.now())}}
		wantEvents(t, "CreateAccount events", events, want)
		if len(events) == 1 && events[0].Seq <= 0 {
			t.Errorf("the event's Seq is %d, want > 0", events[0].Seq)
		}
		wantEvents(t, "the feed", allEvents(t, d.s, 0), events)
		k, err := d.s.LiveKey(t.Context(), a.ID)
		if err != nil {
			t.Fatalf("LiveKey: %v", err)
		}
		wantKey(t, "LiveKey", k, liveKeyOf(a, first, d.now()))
	})

	t.Run("creating a second account for a wallet is a conflict and changes nothing", func(t *testing.T) {
		t.Parallel()
		d := h.fresh(t)
		wallet, first := newWallet(), newKey()
		a, _, err := d.s.CreateAccount(t.Context(), wallet, &first)
		if err != nil {
			t.Fatalf("CreateAccount: %v", err)
		}
		seq := lastSeq(t, d.s)
		d.clock.Advance(step)
		for _, key := range []*store.NewKey{nil, ptr(newKey())} {
			_, events, err := d.handle(t).CreateAccount(t.Context(), wallet, key)
			wantErr(t, "CreateAccount again", err, espresso.ErrAccountExists)
			if len(events) != 0 {
				t.Errorf("the failed CreateAccount returned events %s", describe(events))
			}
		}
		if events := allEvents(t, d.s, seq); len(events) != 0 {
			t.Errorf("the failed CreateAccount recorded %s", describe(events))
		}
		keys, _, err := d.s.Snapshot(t.Context())
		if err != nil || len(keys) != 1 || keys[0].Hash != first.Hash {
			t.Errorf("Snapshot = %d keys, %v; want only the first account's key", len(keys), err)
		}
		got, err := d.s.AccountByWallet(t.Context(), wallet)
		if err != nil {
			t.Fatalf("AccountByWallet: %v", err)
		}
		wantAccount(t, "AccountByWallet", got, a)
	})

	t.Run("concurrent creations for one wallet from two handles create exactly one account", func(t *testing.T) {
		t.Parallel()
		d := h.fresh(t)
		wallet := newWallet()
		var wins atomic.Int32
		var winner atomic.Value
		race(16, []*store.Store{d.s, d.handle(t)}, func(i int, s *store.Store) {
			a, _, err := s.CreateAccount(t.Context(), wallet, ptr(newKey()))
			if err == nil {
				wins.Add(1)
				winner.Store(a.ID)
				return
			}
			if !errors.Is(err, espresso.ErrAccountExists) {
				t.Errorf("CreateAccount %d: %v, want success or ErrAccountExists", i, err)
			}
		})
		if n := wins.Load(); n != 1 {
			t.Fatalf("%d creations succeeded, want 1", n)
		}
		a, err := d.s.AccountByWallet(t.Context(), wallet)
		if err != nil || a.ID != winner.Load() {
			t.Errorf("AccountByWallet = %+v, %v; want the winner's account", a, err)
		}
		if keys, _, err := d.s.Snapshot(t.Context()); err != nil || len(keys) != 1 {
			t.Errorf("Snapshot = %d keys, %v; want 1", len(keys), err)
		}
	})

	t.Run("an account is found by wallet and by id, from any handle", func(t *testing.T) {
		t.Parallel()
		d := h.fresh(t)
		a := createAccount(t, d.s, nil)
		createAccount(t, d.s, ptr(newKey())) // another account, not to be confused with a
		for _, s := range []*store.Store{d.s, d.handle(t)} {
			got, err := s.AccountByWallet(t.Context(), a.WalletAddress)
			if err != nil {
				t.Fatalf("AccountByWallet: %v", err)
			}
			wantAccount(t, "AccountByWallet", got, a)
			got, err = s.AccountByID(t.Context(), a.ID)
			if err != nil {
				t.Fatalf("AccountByID: %v", err)
			}
			wantAccount(t, "AccountByID", got, a)
		}
	})

	t.Run("looking up an unknown account is not found", func(t *testing.T) {
		t.Parallel()
		d := h.fresh(t)
		a := createAccount(t, d.s, nil)
		_, err := d.s.AccountByWallet(t.Context(), newWallet())
		wantErr(t, "AccountByWallet", err, espresso.ErrUserNotFound)
		_, err = d.s.AccountByID(t.Context(), store.NewID())
		wantErr(t, "AccountByID", err, espresso.ErrUserNotFound)
		_, err = d.s.AccountByID(t.Context(), a.WalletAddress)
		wantErr(t, "AccountByID(a wallet address)", err, espresso.ErrUserNotFound)
	})

	t.Run("an account is onboarded once it has a spot account, with or without a key", func(t *testing.T) {
		t.Parallel()
		d := h.fresh(t)
		a, _, err := d.s.SignIn(t.Context(), newWallet(), newNonce(), d.clock.Now().Add(time.Minute), nil)
		if err != nil {
			t.Fatalf("SignIn: %v", err)
		}
		if a.Onboarded {
			t.Error("an account created by SignIn is onboarded")
		}
		d.clock.Advance(step)
		if _, _, err := d.s.RotateKey(t.Context(), a.ID, nil, newKey()); err != nil {
			t.Fatalf("RotateKey: %v", err)
		}
		got, err := d.s.AccountByID(t.Context(), a.ID)
		if err != nil {
			t.Fatal(err)
		}
		wantAccount(t, "AccountByID after the first key", got, a)
		if _, err := d.s.CreateSpotAccount(t.Context(), a.ID, newOperationKey()); err != nil {
			t.Fatalf("CreateSpotAccount: %v", err)
		}
		a.Onboarded = true
		got, err = d.handle(t).AccountByID(t.Context(), a.ID)
		if err != nil {
			t.Fatal(err)
		}
		wantAccount(t, "AccountByID after the spot account", got, a)
		if _, _, err := d.s.RevokeKey(t.Context(), a.ID, nil); err != nil {
			t.Fatalf("RevokeKey: %v", err)
		}
		got, err = d.s.AccountByWallet(t.Context(), a.WalletAddress)
		if err != nil {
			t.Fatal(err)
		}
		wantAccount(t, "AccountByWallet after revoking the key", got, a)
		got, _, err = d.s.SignIn(t.Context(), a.WalletAddress, newNonce(), d.clock.Now().Add(time.Minute), nil)
		if err != nil {
			t.Fatal(err)
		}
		wantAccount(t, "SignIn after revoking the key", got, a)
	})
}

func (h harness) testSignIn(t *testing.T) {
	t.Parallel()
	t.Run("signing in creates the account once, without a key", func(t *testing.T) {
		t.Parallel()
		d := h.fresh(t)
		wallet := newWallet()
		a, created, err := d.s.SignIn(t.Context(), wallet, newNonce(), d.clock.Now().Add(time.Minute), nil)
		if err != nil || !created {
			t.Fatalf("first SignIn: created %v, %v; want created", created, err)
		}
		want := store.Account{ID: a.ID, WalletAddress: wallet, CreatedAt: d.now()}
		wantAccount(t, "first SignIn", a, want)
		d.clock.Advance(step)
		again, created, err := d.handle(t).SignIn(t.Context(), wallet, newNonce(), d.clock.Now().Add(time.Minute), nil)
		if err != nil || created {
			t.Fatalf("second SignIn: created %v, %v; want not created", created, err)
		}
		wantAccount(t, "second SignIn", again, want)
		if _, err := d.s.LiveKey(t.Context(), a.ID); !errors.Is(err, espresso.ErrNoKey) {
			t.Errorf("LiveKey: %v, want ErrNoKey", err)
		}
		if events := allEvents(t, d.s, 0); len(events) != 0 {
			t.Errorf("SignIn recorded %s", describe(events))
		}
	})

	t.Run("signing in to an account created with a key returns it", func(t *testing.T) {
		t.Parallel()
		d := h.fresh(t)
		a := createAccount(t, d.s, ptr(newKey()))
		d.clock.Advance(step)
		got, created, err := d.s.SignIn(t.Context(), a.WalletAddress, newNonce(), d.clock.Now().Add(time.Minute), nil)
		if err != nil || created {
			t.Fatalf("SignIn: created %v, %v; want not created", created, err)
		}
		wantAccount(t, "SignIn", got, a)
	})

	t.Run("a nonce is accepted once, whatever the wallet, and a refused sign-in changes nothing", func(t *testing.T) {
		t.Parallel()
		d := h.fresh(t)
		w1, w2, nonce := newWallet(), newWallet(), newNonce()
		expires := d.clock.Now().Add(time.Minute)
		if _, _, err := d.s.SignIn(t.Context(), w1, nonce, expires, nil); err != nil {
			t.Fatalf("SignIn: %v", err)
		}
		for _, s := range []*store.Store{d.s, d.handle(t)} {
			_, _, err := s.SignIn(t.Context(), w1, nonce, expires, nil)
			wantErr(t, "SignIn with a used nonce", err, store.ErrNonceUsed)
			_, _, err = s.SignIn(t.Context(), w2, nonce, expires.Add(time.Hour), nil)
			wantErr(t, "SignIn of another wallet with a used nonce", err, store.ErrNonceUsed)
		}
		_, err := d.s.AccountByWallet(t.Context(), w2)
		wantErr(t, "AccountByWallet of the wallet refused", err, espresso.ErrUserNotFound)
	})

	t.Run("of 64 concurrent sign-ins with one nonce from two handles exactly one succeeds", func(t *testing.T) {
		t.Parallel()
		d := h.fresh(t)
		nonce := newNonce()
		expires := d.clock.Now().Add(time.Minute)
		wallets := make([]string, 64)
		for i := range wallets {
			wallets[i] = newWallet()
		}
		created := make([]bool, len(wallets))
		race(len(wallets), []*store.Store{d.s, d.handle(t)}, func(i int, s *store.Store) {
			_, ok, err := s.SignIn(t.Context(), wallets[i], nonce, expires, nil)
			if err != nil && !errors.Is(err, store.ErrNonceUsed) {
				t.Errorf("SignIn %d: %v, want success or ErrNonceUsed", i, err)
			}
			created[i] = err == nil && ok
		})
		wins := 0
		for i, w := range wallets {
			_, err := d.s.AccountByWallet(t.Context(), w)
			switch {
			case created[i]:
				wins++
				if err != nil {
					t.Errorf("the winner's account: %v", err)
				}
			case !errors.Is(err, espresso.ErrUserNotFound):
				t.Errorf("a refused sign-in's wallet: %v, want ErrUserNotFound", err)
			}
		}
		if wins != 1 {
			t.Errorf("%d sign-ins succeeded, want 1", wins)
		}
	})

	t.Run("concurrent sign-ins of a new wallet from two handles create one account", func(t *testing.T) {
		t.Parallel()
		d := h.fresh(t)
		wallet := newWallet()
		expires := d.clock.Now().Add(time.Minute)
		ids := make([]string, 32)
		var creations atomic.Int32
		race(len(ids), []*store.Store{d.s, d.handle(t)}, func(i int, s *store.Store) {
			a, created, err := s.SignIn(t.Context(), wallet, newNonce(), expires, nil)
			if err != nil {
				t.Errorf("SignIn %d: %v", i, err)
				return
			}
			if created {
				creations.Add(1)
			}
			ids[i] = a.ID
		})
		if n := creations.Load(); n != 1 {
			t.Errorf("%d sign-ins created the account, want 1", n)
		}
		for i, id := range ids {
			if id != ids[0] {
				t.Fatalf("sign-in %d got account %q, sign-in 0 got %q", i, id, ids[0])
			}
		}
	})

	t.Run("pruning forgets nonces that expired before the given time, which can then be used again", func(t *testing.T) {
		t.Parallel()
		d := h.fresh(t)
		now := d.clock.Now()
		wallet, soon, later := newWallet(), newNonce(), newNonce()
		for _, n := range []struct {
			nonce   string
			expires time.Time
		}{{soon, now.Add(time.Minute)}, {later, now.Add(10 * time.Minute)}} {
			if _, _, err := d.s.SignIn(t.Context(), wallet, n.nonce, n.expires, nil); err != nil {
				t.Fatalf("SignIn: %v", err)
			}
		}
		if n, err := d.s.PruneNonces(t.Context(), now.Add(time.Minute-time.Microsecond)); err != nil || n != 0 {
			t.Errorf("PruneNonces before any expiry = %d, %v; want 0", n, err)
		}
		// later expires exactly at the cut: not before it, so it is kept.
		if n, err := d.handle(t).PruneNonces(t.Context(), now.Add(10*time.Minute)); err != nil || n != 1 {
			t.Errorf("PruneNonces = %d, %v; want 1", n, err)
		}
		if _, _, err := d.s.SignIn(t.Context(), wallet, soon, now.Add(2*time.Minute), nil); err != nil {
			t.Errorf("SignIn with a pruned nonce: %v", err)
		}
		_, _, err := d.s.SignIn(t.Context(), wallet, later, now.Add(2*time.Minute), nil)
		wantErr(t, "SignIn with a nonce that was not pruned", err, store.ErrNonceUsed)
		if n, err := d.s.PruneNonces(t.Context(), now.Add(time.Hour)); err != nil || n != 2 {
			t.Errorf("PruneNonces of everything = %d, %v; want 2", n, err)
		}
	})
}

func ptr[T any](v T) *T { return &v }
