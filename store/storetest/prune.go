package storetest

import (
	"testing"

	"github.com/espresso-auth/espresso"
	"github.com/espresso-auth/espresso/store"
)

// testPruneKeys checks that pruning also forgets revoked keys, so that the
// database holds the live keys and the retained history only. A deleted
// key is seen through the one thing its row still did: its hash could not
// be issued again.
func (h harness) testPruneKeys(t *testing.T) {
	t.Parallel()
	t.Run("pruning events deletes the keys revoked before the given time, and no other", func(t *testing.T) {
		t.Parallel()
		d := h.fresh(t)
		k := newKeyed(t, d)
		old := k.key
		d.clock.Advance(step)
		if _, _, err := d.s.RotateKey(t.Context(), k.acct.ID, &old.Hash, newKey()); err != nil {
			t.Fatal(err)
		} // old revoked now
		d.clock.Advance(step)
		cut := d.now()
		d.clock.Advance(step)
		recent := newKeyed(t, d)
		if _, _, err := d.s.RevokeKey(t.Context(), recent.acct.ID, nil); err != nil {
			t.Fatal(err)
		} // revoked at the cut or after: kept
		live := newKeyed(t, d)

		reissue := func(what string, nk store.NewKey, stored bool) {
			t.Helper()
			a := createAccount(t, d.s, nil)
			_, _, err := d.s.RotateKey(t.Context(), a.ID, nil, nk)
			if !stored {
				if err != nil {
					t.Errorf("%s: issuing its hash again: %v, want it gone", what, err)
				}
				return
			}
			wantKind(t, what+": issuing its hash again (a unique constraint)", err, espresso.Internal)
		}
		reissue("a key revoked before pruning", old, true)
		if _, err := d.s.PruneEvents(t.Context(), cut); err != nil {
			t.Fatal(err)
		}
		reissue("a key revoked before the cut", old, false)
		reissue("a key revoked after the cut", recent.key, true)
		reissue("a live key", live.key, true)
		wantLive(t, "the live key's account", d.s, live.acct.ID, live.live())
	})
}
