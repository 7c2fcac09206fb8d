package storetest

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/espresso-auth/espresso"
	"github.com/espresso-auth/espresso/apikey"
	"github.com/espresso-auth/espresso/store"
)

// wantKind checks that err is an error of kind.
func wantKind(t testing.TB, what string, err error, kind espresso.Kind) {
	t.Helper()
	if err == nil || espresso.KindOf(err) != kind {
		t.Errorf("%s: error %v (kind %v), want kind %v", what, err, espresso.KindOf(err), kind)
	}
}

// everyCall is one call of every method of s, as functions of a context;
// a is an account with live key k.
func everyCall(s *store.Store, a store.Account, k store.NewKey) map[string]func(ctx context.Context) error {
	return map[string]func(ctx context.Context) error{
		"Migrate": func(ctx context.Context) error { _, err := s.Migrate(ctx); return err },
		"Version": func(ctx context.Context) error { _, err := s.Version(ctx); return err },
		"CreateAccount": func(ctx context.Context) error {
			_, _, err := s.CreateAccount(ctx, newWallet(), ptr(newKey()))
			return err
		},
		"AccountByWallet": func(ctx context.Context) error { _, err := s.AccountByWallet(ctx, a.WalletAddress); return err },
		"AccountByID":     func(ctx context.Context) error { _, err := s.AccountByID(ctx, a.ID); return err },
		"SignIn": func(ctx context.Context) error {
			_, _, err := s.SignIn(ctx, newWallet(), newNonce(), start.Add(time.Hour), nil)
			return err
		},
		"RotateKey": func(ctx context.Context) error {
			_, _, err := s.RotateKey(ctx, a.ID, &k.Hash, newKey())
			return err
		},
		"RevokeKey":   func(ctx context.Context) error { _, _, err := s.RevokeKey(ctx, a.ID, nil); return err },
		"LiveKey":     func(ctx context.Context) error { _, err := s.LiveKey(ctx, a.ID); return err },
		"Snapshot":    func(ctx context.Context) error { _, _, err := s.Snapshot(ctx); return err },
		"Events":      func(ctx context.Context) error { _, err := s.Events(ctx, 0, 10); return err },
		"PruneEvents": func(ctx context.Context) error { _, err := s.PruneEvents(ctx, start.Add(time.Hour)); return err },
		"RecordUse": func(ctx context.Context) error {
			return s.RecordUse(ctx, map[apikey.Hash]time.Time{k.Hash: start.Add(time.Hour)})
		},
		"PruneNonces": func(ctx context.Context) error { _, err := s.PruneNonces(ctx, start.Add(time.Hour)); return err },
		"SpotAccount": func(ctx context.Context) error { _, err := s.SpotAccount(ctx, a.ID); return err },
		"CreateSpotAccount": func(ctx context.Context) error {
			_, err := s.CreateSpotAccount(ctx, a.ID, newOperationKey())
			return err
		},
		"ReencryptOperationKey": func(ctx context.Context) error {
			_, err := s.ReencryptOperationKey(ctx, a.ID, newOperationKey().Encrypted)
			return err
		},
		"Setting": func(ctx context.Context) error {
			_, err := s.Setting(ctx, "name", func() ([]byte, error) { return []byte("v"), nil })
			return err
		},
		"Ping": s.Ping,
		"SignInSession": func(ctx context.Context) error {
			_, err := s.SignInSession(ctx, newWallet(), newNonce(), start.Add(time.Hour), nil, newSession(start.Add(time.Hour)))
			return err
		},
		"EndSession": func(ctx context.Context) error {
			_, _, err := s.EndSession(ctx, a.ID, newSession(start).Hash)
			return err
		},
		"EndSessions":  func(ctx context.Context) error { _, _, err := s.EndSessions(ctx, a.ID); return err },
		"Sessions":     func(ctx context.Context) error { _, err := s.Sessions(ctx, a.ID); return err },
		"LiveSessions": func(ctx context.Context) error { _, err := s.LiveSessions(ctx, nil, 10); return err },
		"RecordSessionUse": func(ctx context.Context) error {
			return s.RecordSessionUse(ctx, map[store.SessionHash]time.Time{newSession(start).Hash: start})
		},
		"PruneSessions": func(ctx context.Context) error { _, err := s.PruneSessions(ctx, start); return err },
		"DeleteAccount": func(ctx context.Context) error { _, err := s.DeleteAccount(ctx, a.WalletAddress); return err },
	}
}

func (h harness) testErrors(t *testing.T) {
	t.Parallel()
	t.Run("every call with an ended context fails unavailable and changes nothing", func(t *testing.T) {
		t.Parallel()
		d := h.fresh(t)
		k := newKeyed(t, d)
		keys, seq, err := d.s.Snapshot(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		ended, cancel := context.WithCancel(t.Context())
		cancel()
		for name, call := range everyCall(d.s, k.acct, k.key) {
			wantKind(t, name+" with an ended context", call(ended), espresso.Unavailable)
		}
		wantNoNewEvents(t, "the calls", d.s, seq)
		after, _, err := d.s.Snapshot(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		wantSameLive(t, "the live keys", newLiveSet(after), newLiveSet(keys))
		wantLive(t, "the account", d.s, k.acct.ID, k.live())
		wantNoSpot(t, "the account", d.s, k.acct.ID)
		if _, err := d.s.Setting(t.Context(), "name", func() ([]byte, error) { return []byte("fresh"), nil }); err != nil {
			t.Errorf("Setting: %v", err)
		}
	})

	t.Run("every call but Ping, Version and Migrate on a database never migrated fails internal", func(t *testing.T) {
		t.Parallel()
		s := h.unmigrated(t).handle(t)
		k := newKey()
		a := store.Account{ID: store.NewID(), WalletAddress: newWallet()}
		for name, call := range everyCall(s, a, k) {
			switch name {
			case "Ping", "Version":
				if err := call(t.Context()); err != nil {
					t.Errorf("%s before migrating: %v", name, err)
				}
			case "Migrate":
			default:
				wantKind(t, name+" before migrating", call(t.Context()), espresso.Internal)
			}
		}
	})

	t.Run("a write the database refuses is internal, names no key material and changes nothing", func(t *testing.T) {
		t.Parallel()
		d := h.fresh(t)
		k := newKeyed(t, d)
		seq := lastSeq(t, d.s)
		// Issuing a hash that is already stored violates a unique
		// constraint.
		_, _, err := d.s.RotateKey(t.Context(), k.acct.ID, nil, k.key)
		wantKind(t, "RotateKey reissuing a stored hash", err, espresso.Internal)
		if err != nil {
			msg := []byte(err.Error())
			for _, form := range [][]byte{k.key.Hash[:], []byte(hex.EncodeToString(k.key.Hash[:]))} {
				if bytes.Contains(msg, form) {
					t.Errorf("the error %q names the key's hash", msg)
				}
			}
		}
		wantLive(t, "after the refused rotation", d.s, k.acct.ID, k.live())
		wantNoNewEvents(t, "the refused rotation", d.s, seq)
	})

	t.Run("a failing create of a setting keeps its error's kind, internal if it has none", func(t *testing.T) {
		t.Parallel()
		d := h.fresh(t)
		busy := espresso.E(espresso.Unavailable, "no entropy now")
		_, err := d.s.Setting(t.Context(), "a", func() ([]byte, error) { return nil, busy })
		if !errors.Is(err, busy) {
			t.Errorf("Setting = %v, want an error wrapping create's", err)
		}
		wantKind(t, "Setting whose create failed with a kind", err, espresso.Unavailable)
		_, err = d.s.Setting(t.Context(), "b", func() ([]byte, error) { return nil, errors.New("no entropy today") })
		wantKind(t, "Setting whose create failed without a kind", err, espresso.Internal)
	})
}
