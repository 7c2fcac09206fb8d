package storetest

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/espresso-auth/espresso"
	"github.com/espresso-auth/espresso/store"
)

// randomBase64 returns n random bytes in standard base64.
func randomBase64(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// newOperationKey returns an operation key no test used before, shaped as
// the clients make them (a sealed root key and its SHA-256).
func newOperationKey() store.OperationKey {
	return store.OperationKey{
		Encrypted: `{"iv":"` + randomBase64(12) + `","salt":"` + randomBase64(16) + `","ciphertext":"` + randomBase64(181) + `"}`,
		Hash:      randomHex(32),
	}
}

// wantSpot checks every field of a spot account.
func wantSpot(t testing.TB, what string, got, want store.SpotAccount) {
	t.Helper()
	if got.AccountID != want.AccountID || got.OperationKey != want.OperationKey {
		t.Errorf("%s = %+v, want %+v", what, got, want)
	}
	wantTime(t, what+": CreatedAt", got.CreatedAt, want.CreatedAt)
	wantTime(t, what+": UpdatedAt", got.UpdatedAt, want.UpdatedAt)
}

// wantNoSpot checks that the account has no spot account and is not
// onboarded.
func wantNoSpot(t testing.TB, what string, s *store.Store, accountID string) {
	t.Helper()
	_, err := s.SpotAccount(t.Context(), accountID)
	wantErr(t, what+": SpotAccount", err, espresso.ErrNoSpotAccount)
	if a, err := s.AccountByID(t.Context(), accountID); err != nil || a.Onboarded {
		t.Errorf("%s: AccountByID = %+v, %v; want not onboarded", what, a, err)
	}
}

func (h harness) testSpotAccounts(t *testing.T) {
	t.Parallel()
	t.Run("a spot account is created once, with its key as given, and read at once from any handle", func(t *testing.T) {
		t.Parallel()
		d := h.fresh(t)
		a := createAccount(t, d.s, ptr(newKey()))
		wantNoSpot(t, "before", d.s, a.ID)
		k := newOperationKey()
		k.Script = true
		got, err := d.s.CreateSpotAccount(t.Context(), a.ID, k)
		if err != nil {
			t.Fatalf("CreateSpotAccount: %v", err)
		}
		want := store.SpotAccount{AccountID: a.ID, OperationKey: k, CreatedAt: d.now(), UpdatedAt: d.now()}
		wantSpot(t, "CreateSpotAccount", got, want)
		other := d.handle(t)
		read, err := other.SpotAccount(t.Context(), a.ID)
		if err != nil {
			t.Fatalf("SpotAccount from another handle: %v", err)
		}
		wantSpot(t, "SpotAccount from another handle", read, want)
		if acct, err := other.AccountByID(t.Context(), a.ID); err != nil || !acct.Onboarded {
			t.Errorf("AccountByID = %+v, %v; want onboarded", acct, err)
		}
	})

	t.Run("the blob and the hash are returned byte for byte, whatever their text", func(t *testing.T) {
		t.Parallel()
		d := h.fresh(t)
		for _, k := range []store.OperationKey{
			// The older form (no salt), as the web app wrote it.
			{Encrypted: `{"iv":"` + randomBase64(16) + `","ciphertext":"` + randomBase64(181) + `"}`, Hash: strings.ToUpper(randomHex(32))},
			// Python's json.dumps spacing, another field order, an escape.
			{Encrypted: "{\"ciphertext\": \"" + randomBase64(40) + "\", \"iv\": \"\\u0041" + randomBase64(12)[1:] + "\"}\n", Hash: randomHex(64)},
		} {
			a := createAccount(t, d.s, nil)
			if _, err := d.s.CreateSpotAccount(t.Context(), a.ID, k); err != nil {
				t.Fatalf("CreateSpotAccount: %v", err)
			}
			got, err := d.handle(t).SpotAccount(t.Context(), a.ID)
			if err != nil || got.Encrypted != k.Encrypted || got.Hash != k.Hash {
				t.Errorf("SpotAccount = %q %q, %v; want %q %q", got.Encrypted, got.Hash, err, k.Encrypted, k.Hash)
			}
		}
	})

	t.Run("a second spot account for an account is a conflict and changes nothing", func(t *testing.T) {
		t.Parallel()
		d := h.fresh(t)
		a := createAccount(t, d.s, nil)
		first, err := d.s.CreateSpotAccount(t.Context(), a.ID, newOperationKey())
		if err != nil {
			t.Fatal(err)
		}
		d.clock.Advance(step)
		_, err = d.handle(t).CreateSpotAccount(t.Context(), a.ID, newOperationKey())
		wantErr(t, "CreateSpotAccount again", err, espresso.ErrSpotAccountExists)
		got, err := d.s.SpotAccount(t.Context(), a.ID)
		if err != nil {
			t.Fatal(err)
		}
		wantSpot(t, "SpotAccount after the conflict", got, first)
	})

	t.Run("of 32 concurrent creations from two handles exactly one succeeds and the others conflict", func(t *testing.T) {
		t.Parallel()
		d := h.fresh(t)
		a := createAccount(t, d.s, nil)
		keys := make([]store.OperationKey, 32)
		for i := range keys {
			keys[i] = newOperationKey()
		}
		var wins atomic.Int32
		winner := -1
		race(len(keys), []*store.Store{d.s, d.handle(t)}, func(i int, s *store.Store) {
			_, err := s.CreateSpotAccount(t.Context(), a.ID, keys[i])
			switch {
			case err == nil:
				wins.Add(1)
				winner = i
			case !errors.Is(err, espresso.ErrSpotAccountExists):
				t.Errorf("CreateSpotAccount %d: %v, want success or ErrSpotAccountExists", i, err)
			}
		})
		if n := wins.Load(); n != 1 {
			t.Fatalf("%d creations succeeded, want 1", n)
		}
		got, err := d.s.SpotAccount(t.Context(), a.ID)
		if err != nil || got.OperationKey != keys[winner] {
			t.Errorf("SpotAccount = %+v, %v; want the winner's key", got.OperationKey, err)
		}
	})

	t.Run("re-encrypting replaces only the blob, and every handle reads the new one at once", func(t *testing.T) {
		t.Parallel()
		d := h.fresh(t)
		a := createAccount(t, d.s, nil)
		k := newOperationKey()
		created, err := d.s.CreateSpotAccount(t.Context(), a.ID, k)
		if err != nil {
			t.Fatal(err)
		}
		other := d.handle(t)
		for range 2 {
			d.clock.Advance(step)
			next := newOperationKey().Encrypted
			got, err := d.s.ReencryptOperationKey(t.Context(), a.ID, next)
			if err != nil {
				t.Fatalf("ReencryptOperationKey: %v", err)
			}
			want := created
			want.Encrypted, want.UpdatedAt = next, d.now()
			wantSpot(t, "ReencryptOperationKey", got, want)
			read, err := other.SpotAccount(t.Context(), a.ID)
			if err != nil {
				t.Fatal(err)
			}
			wantSpot(t, "SpotAccount from another handle", read, want)
		}
	})

	t.Run("without a spot account, or an account, reading and re-encrypting fail and store nothing", func(t *testing.T) {
		t.Parallel()
		d := h.fresh(t)
		a := createAccount(t, d.s, nil)
		_, err := d.s.ReencryptOperationKey(t.Context(), a.ID, newOperationKey().Encrypted)
		wantErr(t, "ReencryptOperationKey without a spot account", err, espresso.ErrNoSpotAccount)
		wantNoSpot(t, "after it", d.s, a.ID)
		unknown := store.NewID()
		_, err = d.s.SpotAccount(t.Context(), unknown)
		wantErr(t, "SpotAccount of an unknown account", err, espresso.ErrUserNotFound)
		_, err = d.s.ReencryptOperationKey(t.Context(), unknown, newOperationKey().Encrypted)
		wantErr(t, "ReencryptOperationKey of an unknown account", err, espresso.ErrUserNotFound)
		_, err = d.s.CreateSpotAccount(t.Context(), unknown, newOperationKey())
		wantErr(t, "CreateSpotAccount of an unknown account", err, espresso.ErrUserNotFound)
		_, err = d.s.SpotAccount(t.Context(), unknown)
		wantErr(t, "SpotAccount of the unknown account after it", err, espresso.ErrUserNotFound)
	})

	t.Run("a spot account the database refuses is internal and stores nothing", func(t *testing.T) {
		t.Parallel()
		d := h.fresh(t)
		a := createAccount(t, d.s, nil)
		// The database's own limits back the services' checks.
		for name, k := range map[string]store.OperationKey{
			"a blob over 4 KiB":     {Encrypted: strings.Repeat("A", 4097), Hash: randomHex(32)},
			"an empty blob":         {Encrypted: "", Hash: randomHex(32)},
			"a hash over 128 bytes": {Encrypted: newOperationKey().Encrypted, Hash: randomHex(65)},
			"an empty hash":         {Encrypted: newOperationKey().Encrypted, Hash: ""},
		} {
			_, err := d.s.CreateSpotAccount(t.Context(), a.ID, k)
			wantKind(t, "CreateSpotAccount with "+name, err, espresso.Internal)
			_, _, err = d.s.SignIn(t.Context(), a.WalletAddress, newNonce(), d.clock.Now().Add(time.Minute), &k)
			wantKind(t, "SignIn with "+name, err, espresso.Internal)
			wantNoSpot(t, "after "+name, d.s, a.ID)
		}
		k := newOperationKey()
		if _, err := d.s.CreateSpotAccount(t.Context(), a.ID, k); err != nil {
			t.Fatal(err)
		}
		_, err := d.s.ReencryptOperationKey(t.Context(), a.ID, strings.Repeat("A", 4097))
		wantKind(t, "ReencryptOperationKey with a blob over 4 KiB", err, espresso.Internal)
		if got, err := d.s.SpotAccount(t.Context(), a.ID); err != nil || got.OperationKey != k {
			t.Errorf("SpotAccount after the refused re-encryption = %+v, %v; want the key unchanged", got.OperationKey, err)
		}
	})

	t.Run("signing in with an operation key onboards the account once, in the same commit", func(t *testing.T) {
		t.Parallel()
		d := h.fresh(t)
		wallet, k := newWallet(), newOperationKey()
		expires := d.clock.Now().Add(time.Minute)
		a, created, err := d.s.SignIn(t.Context(), wallet, newNonce(), expires, &k)
		if err != nil || !created || !a.Onboarded {
			t.Fatalf("SignIn = %+v, created %v, %v; want a new onboarded account", a, created, err)
		}
		want := store.SpotAccount{AccountID: a.ID, OperationKey: k, CreatedAt: d.now(), UpdatedAt: d.now()}
		got, err := d.handle(t).SpotAccount(t.Context(), a.ID)
		if err != nil {
			t.Fatal(err)
		}
		wantSpot(t, "SpotAccount", got, want)
		// A later sign-in's key is not its first onboarding: ignored.
		d.clock.Advance(step)
		again, created, err := d.s.SignIn(t.Context(), wallet, newNonce(), expires, ptr(newOperationKey()))
		if err != nil || created || !again.Onboarded {
			t.Fatalf("second SignIn = %+v, created %v, %v", again, created, err)
		}
		if got, err := d.s.SpotAccount(t.Context(), a.ID); err != nil {
			t.Fatal(err)
		} else {
			wantSpot(t, "SpotAccount after a second sign-in", got, want)
		}
		// An existing account without one is onboarded by its sign-in.
		b := createAccount(t, d.s, ptr(newKey()))
		if got, _, err := d.s.SignIn(t.Context(), b.WalletAddress, newNonce(), expires, &k); err != nil || !got.Onboarded {
			t.Errorf("SignIn of an existing account = %+v, %v; want it onboarded", got, err)
		}
	})

	t.Run("a refused sign-in stores no operation key", func(t *testing.T) {
		t.Parallel()
		d := h.fresh(t)
		nonce := newNonce()
		expires := d.clock.Now().Add(time.Minute)
		a, _, err := d.s.SignIn(t.Context(), newWallet(), nonce, expires, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = d.s.SignIn(t.Context(), a.WalletAddress, nonce, expires, ptr(newOperationKey()))
		wantErr(t, "SignIn with a used nonce", err, store.ErrNonceUsed)
		wantNoSpot(t, "after it", d.s, a.ID)
	})
}
