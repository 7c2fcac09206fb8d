package storetest

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/espresso-auth/espresso"
	"github.com/espresso-auth/espresso/apikey"
	"github.com/espresso-auth/espresso/store"
)

// keyed is an account with a live key.
type keyed struct {
	acct store.Account
	key  store.NewKey
	at   time.Time // when the key was issued, as stored
}

func (k keyed) live() store.Key { return liveKeyOf(k.acct, k.key, k.at) }

func newKeyed(t testing.TB, d *db) keyed {
	t.Helper()
	k := newKey()
	return keyed{acct: createAccount(t, d.s, &k), key: k, at: d.now()}
}

// wantLive checks the account's live key.
func wantLive(t testing.TB, what string, s *store.Store, accountID string, want store.Key) {
	t.Helper()
	got, err := s.LiveKey(t.Context(), accountID)
	if err != nil {
		t.Errorf("%s: LiveKey: %v", what, err)
		return
	}
	wantKey(t, what+": LiveKey", got, want)
}

// wantNoNewEvents checks that nothing was recorded after seq.
func wantNoNewEvents(t testing.TB, what string, s *store.Store, seq int64) {
	t.Helper()
	if events := allEvents(t, s, seq); len(events) != 0 {
		t.Errorf("%s recorded %s", what, describe(events))
	}
}

func (h harness) testRotateKey(t *testing.T) {
	t.Parallel()
	t.Run("rotating with the live key revokes it and issues the next", func(t *testing.T) {
		t.Parallel()
		d := h.fresh(t)
		k := newKeyed(t, d)
		seq := lastSeq(t, d.s)
		d.clock.Advance(step)
		next := newKey()
		got, events, err := d.handle(t).RotateKey(t.Context(), k.acct.ID, &k.key.Hash, next)
		if err != nil {
			t.Fatalf("RotateKey: %v", err)
		}
		issued := liveKeyOf(k.acct, next, d.now())
		wantKey(t, "RotateKey", got, issued)
		revoked := k.live()
		revoked.RevokedAt = d.now()
		wantEvents(t, "RotateKey events", events, []store.Event{
			{Kind: store.KeyRevoked, Key: revoked},
			{Kind: store.KeyIssued, Key: issued},
		})
		if len(events) == 2 && !(seq < events[0].Seq && events[0].Seq < events[1].Seq) {
			t.Errorf("event seqs %d, %d after %d, want increasing", events[0].Seq, events[1].Seq, seq)
		}
		wantEvents(t, "the feed", allEvents(t, d.s, seq), events)
		wantLive(t, "after rotating", d.s, k.acct.ID, issued)
	})

	t.Run("rotating without a current key revokes whichever key is live", func(t *testing.T) {
		t.Parallel()
		d := h.fresh(t)
		k := newKeyed(t, d)
		d.clock.Advance(step)
		next := newKey()
		got, events, err := d.s.RotateKey(t.Context(), k.acct.ID, nil, next)
		if err != nil {
			t.Fatalf("RotateKey: %v", err)
		}
		issued := liveKeyOf(k.acct, next, d.now())
		wantKey(t, "RotateKey", got, issued)
		revoked := k.live()
		revoked.RevokedAt = d.now()
		wantEvents(t, "RotateKey events", events, []store.Event{
			{Kind: store.KeyRevoked, Key: revoked},
			{Kind: store.KeyIssued, Key: issued},
		})
		wantLive(t, "after rotating", d.s, k.acct.ID, issued)
	})

	t.Run("rotating without a current key when none is live just issues the next", func(t *testing.T) {
		t.Parallel()
		d := h.fresh(t)
		for _, revokeFirst := range []bool{false, true} {
			var a store.Account
			if revokeFirst {
				a = newKeyed(t, d).acct
				if _, _, err := d.s.RevokeKey(t.Context(), a.ID, nil); err != nil {
					t.Fatalf("RevokeKey: %v", err)
				}
			} else {
				a = createAccount(t, d.s, nil)
			}
			d.clock.Advance(step)
			next := newKey()
			got, events, err := d.s.RotateKey(t.Context(), a.ID, nil, next)
			if err != nil {
				t.Fatalf("RotateKey: %v", err)
			}
			issued := liveKeyOf(a, next, d.now())
			wantKey(t, "RotateKey", got, issued)
			wantEvents(t, "RotateKey events", events, []store.Event{{Kind: store.KeyIssued, Key: issued}})
			wantLive(t, "after rotating", d.s, a.ID, issued)
		}
	})

	t.Run("rotating with a key that is not the live key is refused and changes nothing", func(t *testing.T) {
		t.Parallel()
		d := h.fresh(t)
		k, other := newKeyed(t, d), newKeyed(t, d)
		former := k.key
		k.key = newKey()
		if _, _, err := d.s.RotateKey(t.Context(), k.acct.ID, &former.Hash, k.key); err != nil {
			t.Fatalf("RotateKey: %v", err)
		}
		k.at = d.now()
		seq := lastSeq(t, d.s)
		d.clock.Advance(step)
		next := newKey()
		for name, current := range map[string]apikey.Hash{
			"a key never issued":          newKey().Hash,
			"the revoked former key":      former.Hash,
			"another account's live key":  other.key.Hash,
			"the next key being proposed": next.Hash,
		} {
			got, events, err := d.handle(t).RotateKey(t.Context(), k.acct.ID, &current, next)
			wantErr(t, "RotateKey with "+name, err, store.ErrKeyNotLive)
			if len(events) != 0 || got != (store.Key{}) {
				t.Errorf("RotateKey with %s returned a key and events %s", name, describe(events))
			}
		}
		wantNoNewEvents(t, "refused rotations", d.s, seq)
		wantLive(t, "the account", d.s, k.acct.ID, k.live())
		wantLive(t, "the other account", d.s, other.acct.ID, other.live())
		// The proposed key was not stored: it can still be issued.
		if _, _, err := d.s.RotateKey(t.Context(), k.acct.ID, &k.key.Hash, next); err != nil {
			t.Errorf("RotateKey with the live key after the refusals: %v", err)
		}
	})

	t.Run("rotating with a current key when none is live is refused", func(t *testing.T) {
		t.Parallel()
		d := h.fresh(t)
		k := newKeyed(t, d)
		if _, _, err := d.s.RevokeKey(t.Context(), k.acct.ID, &k.key.Hash); err != nil {
			t.Fatalf("RevokeKey: %v", err)
		}
		seq := lastSeq(t, d.s)
		_, _, err := d.s.RotateKey(t.Context(), k.acct.ID, &k.key.Hash, newKey())
		wantErr(t, "RotateKey with the revoked key", err, store.ErrKeyNotLive)
		wantNoNewEvents(t, "the refused rotation", d.s, seq)
		if _, err := d.s.LiveKey(t.Context(), k.acct.ID); !errors.Is(err, espresso.ErrNoKey) {
			t.Errorf("LiveKey: %v, want ErrNoKey", err)
		}
	})

	t.Run("rotating a key of an unknown account is not found", func(t *testing.T) {
		t.Parallel()
		d := h.fresh(t)
		k := newKeyed(t, d)
		seq := lastSeq(t, d.s)
		unknown := store.NewID()
		_, events, err := d.s.RotateKey(t.Context(), unknown, nil, newKey())
		wantErr(t, "RotateKey(nil current)", err, espresso.ErrUserNotFound)
		if len(events) != 0 {
			t.Errorf("RotateKey returned events %s", describe(events))
		}
		_, _, err = d.s.RotateKey(t.Context(), unknown, &k.key.Hash, newKey())
		wantErr(t, "RotateKey(another account's key)", err, espresso.ErrUserNotFound)
		wantNoNewEvents(t, "the refused rotations", d.s, seq)
		wantLive(t, "the other account", d.s, k.acct.ID, k.live())
	})

	t.Run("of 64 concurrent rotations presenting the same key from two handles exactly one wins", func(t *testing.T) {
		t.Parallel()
		d := h.fresh(t)
		k := newKeyed(t, d)
		seq := lastSeq(t, d.s)
		d.clock.Advance(step)
		nexts := make([]store.NewKey, 64)
		for i := range nexts {
			nexts[i] = newKey()
		}
		won := make([]bool, len(nexts))
		race(len(nexts), []*store.Store{d.s, d.handle(t)}, func(i int, s *store.Store) {
			_, _, err := s.RotateKey(t.Context(), k.acct.ID, &k.key.Hash, nexts[i])
			if err != nil && !errors.Is(err, store.ErrKeyNotLive) {
				t.Errorf("RotateKey %d: %v, want success or ErrKeyNotLive", i, err)
			}
			won[i] = err == nil
		})
		winner := -1
		for i, w := range won {
			if !w {
				continue
			}
			if winner >= 0 {
				t.Fatalf("rotations %d and %d both succeeded", winner, i)
			}
			winner = i
		}
		if winner < 0 {
			t.Fatal("no rotation succeeded")
		}
		issued := liveKeyOf(k.acct, nexts[winner], d.now())
		wantLive(t, "after the race", d.s, k.acct.ID, issued)
		revoked := k.live()
		revoked.RevokedAt = d.now()
		wantEvents(t, "the feed", allEvents(t, d.s, seq), []store.Event{
			{Kind: store.KeyRevoked, Key: revoked},
			{Kind: store.KeyIssued, Key: issued},
		})
		keys, _, err := d.s.Snapshot(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		wantSameLive(t, "Snapshot", newLiveSet(keys), newLiveSet([]store.Key{issued}))
	})

	t.Run("concurrent rotations without a current key leave exactly one live key", func(t *testing.T) {
		t.Parallel()
		d := h.fresh(t)
		k := newKeyed(t, d)
		var fails atomic.Int32
		race(32, []*store.Store{d.s, d.handle(t)}, func(i int, s *store.Store) {
			if _, _, err := s.RotateKey(t.Context(), k.acct.ID, nil, newKey()); err != nil {
				fails.Add(1)
				t.Errorf("RotateKey %d: %v", i, err)
			}
		})
		if fails.Load() > 0 {
			return
		}
		keys, seq, err := d.s.Snapshot(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if len(keys) != 1 {
			t.Fatalf("Snapshot holds %d live keys, want 1", len(keys))
		}
		wantLive(t, "after the race", d.s, k.acct.ID, keys[0])
		replayed := liveSet{}
		events := allEvents(t, d.s, 0)
		replayed.apply(events)
		wantSameLive(t, "the replayed feed", replayed, newLiveSet(keys))
		if n := len(events); n != 1+2*32 {
			t.Errorf("the feed has %d events, want %d", n, 1+2*32)
		} else if events[n-1].Seq != seq {
			t.Errorf("the feed ends at seq %d, the snapshot at %d", events[n-1].Seq, seq)
		}
	})
}

func (h harness) testRevokeKey(t *testing.T) {
	t.Parallel()
	for _, withCurrent := range []bool{true, false} {
		name := "revoking with the live key revokes it"
		if !withCurrent {
			name = "revoking without a current key revokes the live key"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			d := h.fresh(t)
			k, other := newKeyed(t, d), newKeyed(t, d)
			seq := lastSeq(t, d.s)
			d.clock.Advance(step)
			var current *apikey.Hash
			if withCurrent {
				current = &k.key.Hash
			}
			got, events, err := d.handle(t).RevokeKey(t.Context(), k.acct.ID, current)
			if err != nil {
				t.Fatalf("RevokeKey: %v", err)
			}
			revoked := k.live()
			revoked.RevokedAt = d.now()
			wantKey(t, "RevokeKey", got, revoked)
			wantEvents(t, "RevokeKey events", events, []store.Event{{Kind: store.KeyRevoked, Key: revoked}})
			if len(events) == 1 && events[0].Seq <= seq {
				t.Errorf("the event's seq %d is not after %d", events[0].Seq, seq)
			}
			wantEvents(t, "the feed", allEvents(t, d.s, seq), events)
			_, err = d.s.LiveKey(t.Context(), k.acct.ID)
			wantErr(t, "LiveKey after revoking", err, espresso.ErrNoKey)
			wantLive(t, "the other account", d.s, other.acct.ID, other.live())
		})
	}

	t.Run("revoking without a current key when none is live is no key, or no account", func(t *testing.T) {
		t.Parallel()
		d := h.fresh(t)
		revoked := newKeyed(t, d).acct
		if _, _, err := d.s.RevokeKey(t.Context(), revoked.ID, nil); err != nil {
			t.Fatalf("RevokeKey: %v", err)
		}
		seq := lastSeq(t, d.s)
		for name, c := range map[string]struct {
			id   string
			want *espresso.Error
		}{
			"an account without a key":        {createAccount(t, d.s, nil).ID, espresso.ErrNoKey},
			"an account whose key is revoked": {revoked.ID, espresso.ErrNoKey},
			"an unknown account":              {store.NewID(), espresso.ErrUserNotFound},
		} {
			_, events, err := d.s.RevokeKey(t.Context(), c.id, nil)
			wantErr(t, "RevokeKey of "+name, err, c.want)
			if len(events) != 0 {
				t.Errorf("RevokeKey of %s returned events %s", name, describe(events))
			}
		}
		wantNoNewEvents(t, "the refused revocations", d.s, seq)
	})

	t.Run("revoking with a key that is not the live key is refused and changes nothing", func(t *testing.T) {
		t.Parallel()
		d := h.fresh(t)
		k, other := newKeyed(t, d), newKeyed(t, d)
		gone := newKeyed(t, d)
		if _, _, err := d.s.RevokeKey(t.Context(), gone.acct.ID, nil); err != nil {
			t.Fatal(err)
		}
		seq := lastSeq(t, d.s)
		cases := []struct {
			name    string
			account string
			current apikey.Hash
		}{
			{"a key never issued", k.acct.ID, newKey().Hash},
			{"another account's live key", k.acct.ID, other.key.Hash},
			{"the account's revoked key", gone.acct.ID, gone.key.Hash},
			{"a live key, for an unknown account", store.NewID(), k.key.Hash},
		}
		for _, c := range cases {
			_, events, err := d.s.RevokeKey(t.Context(), c.account, &c.current)
			wantErr(t, "RevokeKey with "+c.name, err, store.ErrKeyNotLive)
			if len(events) != 0 {
				t.Errorf("RevokeKey with %s returned events %s", c.name, describe(events))
			}
		}
		wantNoNewEvents(t, "the refused revocations", d.s, seq)
		wantLive(t, "the account", d.s, k.acct.ID, k.live())
		wantLive(t, "the other account", d.s, other.acct.ID, other.live())
	})

	t.Run("of concurrent revocations presenting the same key from two handles exactly one wins", func(t *testing.T) {
		t.Parallel()
		d := h.fresh(t)
		k := newKeyed(t, d)
		seq := lastSeq(t, d.s)
		var wins atomic.Int32
		race(16, []*store.Store{d.s, d.handle(t)}, func(i int, s *store.Store) {
			_, _, err := s.RevokeKey(t.Context(), k.acct.ID, &k.key.Hash)
			switch {
			case err == nil:
				wins.Add(1)
			case !errors.Is(err, store.ErrKeyNotLive):
				t.Errorf("RevokeKey %d: %v, want success or ErrKeyNotLive", i, err)
			}
		})
		if n := wins.Load(); n != 1 {
			t.Errorf("%d revocations succeeded, want 1", n)
		}
		if events := allEvents(t, d.s, seq); len(events) != 1 {
			t.Errorf("the feed recorded %s, want one revocation", describe(events))
		}
	})
}

func (h harness) testLiveKey(t *testing.T) {
	t.Parallel()
	t.Run("the live key is found from any handle, and none for accounts without one", func(t *testing.T) {
		t.Parallel()
		d := h.fresh(t)
		k := newKeyed(t, d)
		bare := createAccount(t, d.s, nil)
		for _, s := range []*store.Store{d.s, d.handle(t)} {
			wantLive(t, "keyed account", s, k.acct.ID, k.live())
			_, err := s.LiveKey(t.Context(), bare.ID)
			wantErr(t, "LiveKey of an account without a key", err, espresso.ErrNoKey)
			_, err = s.LiveKey(t.Context(), store.NewID())
			wantErr(t, "LiveKey of an unknown account", err, espresso.ErrUserNotFound)
		}
	})
}

func (h harness) testRecordUse(t *testing.T) {
	t.Parallel()
	t.Run("recording use raises the last use time and never lowers it", func(t *testing.T) {
		t.Parallel()
		d := h.fresh(t)
		k, other := newKeyed(t, d), newKeyed(t, d)
		t1 := d.clock.Advance(step)
		t0 := t1.Add(-time.Millisecond)
		t2 := t1.Add(time.Hour + 5*time.Nanosecond).In(time.FixedZone("UTC-7", -7*3600))
		want := k.live()
		for _, u := range []struct {
			name string
			at   time.Time
			want time.Time
		}{
			{"first use", t1, t1},
			{"an earlier use", t0, t1},
			{"the same use", t1, t1},
			{"a later use", t2, t2},
		} {
			if err := d.handle(t).RecordUse(t.Context(), map[apikey.Hash]time.Time{k.key.Hash: u.at}); err != nil {
				t.Fatalf("RecordUse(%s): %v", u.name, err)
			}
			want.LastUsedAt = u.want
			wantLive(t, "after "+u.name, d.s, k.acct.ID, want)
		}
		wantLive(t, "the other account", d.s, other.acct.ID, other.live())
	})

	t.Run("recording use of unknown and revoked keys is ignored", func(t *testing.T) {
		t.Parallel()
		d := h.fresh(t)
		k, gone := newKeyed(t, d), newKeyed(t, d)
		if _, _, err := d.s.RevokeKey(t.Context(), gone.acct.ID, nil); err != nil {
			t.Fatal(err)
		}
		seq := lastSeq(t, d.s)
		at := d.clock.Advance(step)
		err := d.s.RecordUse(t.Context(), map[apikey.Hash]time.Time{
			newKey().Hash: at,
			gone.key.Hash: at,
			k.key.Hash:    at,
		})
		if err != nil {
			t.Fatalf("RecordUse: %v", err)
		}
		want := k.live()
		want.LastUsedAt = at
		wantLive(t, "the live key", d.s, k.acct.ID, want)
		_, err = d.s.LiveKey(t.Context(), gone.acct.ID)
		wantErr(t, "LiveKey of the revoked key's account", err, espresso.ErrNoKey)
		wantNoNewEvents(t, "RecordUse", d.s, seq)
		for _, uses := range []map[apikey.Hash]time.Time{nil, {}} {
			if err := d.s.RecordUse(t.Context(), uses); err != nil {
				t.Errorf("RecordUse of no uses: %v", err)
			}
		}
	})
}
