package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/espresso-auth/espresso"
	"github.com/espresso-auth/espresso/store"
)

// testGroupCommit races writes that fail after writing with writes that
// succeed, on two handles: a Store commits concurrent writes together, and
// whichever of them share a transaction, a failing one must change nothing
// and fail no other.
func (h harness) testGroupCommit(t *testing.T) {
	t.Parallel()
	t.Run("of concurrent writes from two handles, the failing ones change nothing and fail no other", func(t *testing.T) {
		t.Parallel()
		d := h.fresh(t)
		handles := []*store.Store{d.s, d.handle(t)}
		taken := newKeyed(t, d)
		seq := lastSeq(t, d.s)

		const n = 48
		wallets := make([]string, n)
		errs := make([]error, n)
		for i := range wallets {
			wallets[i] = newWallet()
		}
		race(n, handles, func(i int, s *store.Store) {
			switch i % 4 {
			case 0: // inserts its account, then its key is refused
				_, _, errs[i] = s.CreateAccount(t.Context(), wallets[i], &taken.key)
			case 1:
				k := newKey()
				_, _, errs[i] = s.CreateAccount(t.Context(), wallets[i], &k)
			case 2:
				wrong := newKey().Hash
				_, _, errs[i] = s.RotateKey(t.Context(), taken.acct.ID, &wrong, newKey())
			case 3:
				_, _, errs[i] = s.SignIn(t.Context(), wallets[i], newNonce(), d.now().Add(time.Hour), nil)
			}
		})

		created := 0
		for i, err := range errs {
			_, found := d.s.AccountByWallet(t.Context(), wallets[i])
			switch i % 4 {
			case 0:
				wantKind(t, "creating an account with a taken key", err, espresso.Internal)
				if !errors.Is(found, espresso.ErrUserNotFound) {
					t.Errorf("write %d: the refused account was committed (%v)", i, found)
				}
			case 2:
				wantErr(t, "rotating with a key that is not live", err, store.ErrKeyNotLive)
			default:
				if err != nil {
					t.Errorf("write %d failed: %v", i, err)
				} else if found != nil {
					t.Errorf("write %d: its account: %v", i, found)
				}
				if i%4 == 1 {
					created++
				}
			}
		}
		wantLive(t, "the taken key's account", d.s, taken.acct.ID, taken.live())
		events := allEvents(t, d.s, seq)
		if len(events) != created {
			t.Errorf("%d events, want one KeyIssued for each of the %d accounts created with a key", len(events), created)
		}
		for i, ev := range events {
			if ev.Kind != store.KeyIssued || ev.Seq != seq+int64(i)+1 {
				t.Errorf("event %d: %s, want KeyIssued #%d", i, describe([]store.Event{ev}), seq+int64(i)+1)
			}
		}
	})
}
