package storetest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/espresso-auth/espresso/store"
)

func (h harness) testPagedSnapshot(t *testing.T) {
	t.Parallel()
	t.Run("pages read after the feed head, with the events after it, give the live keys while keys change", func(t *testing.T) {
		t.Parallel()
		d := h.fresh(t)
		var ks []keyed
		for range 9 {
			ks = append(ks, newKeyed(t, d))
		}
		head, err := d.s.FeedHead(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		other := d.handle(t)
		// Between pages, through another handle: rotate every key, revoke
		// one and create an account, so that each page sees a different
		// state of the database.
		changes := []func() error{}
		for i, k := range ks {
			switch i % 3 {
			case 0:
				changes = append(changes, func() error { _, _, err := other.RotateKey(t.Context(), k.acct.ID, nil, newKey()); return err })
			case 1:
				changes = append(changes, func() error { _, _, err := other.RevokeKey(t.Context(), k.acct.ID, nil); return err })
			default:
				changes = append(changes, func() error {
					_, _, err := other.CreateAccount(t.Context(), newWallet(), ptr(newKey()))
					return err
				})
			}
		}
		got, gone := liveSet{}, map[[32]byte]bool{}
		after, pages := "", 0
		for {
			page, err := d.s.LiveKeys(t.Context(), after, 2)
			if err != nil {
				t.Fatalf("LiveKeys(%q, 2): %v", after, err)
			}
			if len(page) > 2 {
				t.Fatalf("LiveKeys(_, 2) returned %d keys", len(page))
			}
			pages++
			for _, k := range page {
				if k.AccountID <= after {
					t.Errorf("LiveKeys(%q) returned account %s, not after it", after, k.AccountID)
				}
				if !gone[k.Hash] {
					got[k.Hash] = k
				}
			}
			if len(changes) > 0 {
				if err := changes[0](); err != nil {
					t.Fatal(err)
				}
				changes = changes[1:]
			}
			// The node applies the feed as it goes: a revocation it has
			// applied keeps a later page from bringing the key back.
			events := allEvents(t, d.s, head)
			for _, e := range events {
				if e.Kind == store.KeyRevoked {
					gone[e.Key.Hash] = true
				}
			}
			if len(page) < 2 {
				break
			}
			after = page[len(page)-1].AccountID
		}
		for _, c := range changes {
			if err := c(); err != nil {
				t.Fatal(err)
			}
		}
		got.apply(allEvents(t, d.s, head))
		keys, _, err := other.Snapshot(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		wantSameLive(t, "pages and events", got, newLiveSet(keys))
		if pages < 5 {
			t.Errorf("%d pages of 2 for 9 or more keys", pages)
		}
		for _, k := range keys {
			if g := got[k.Hash]; g.WalletAddress != k.WalletAddress {
				t.Errorf("the paged key of %s has wallet %q, want %q", k.AccountID, g.WalletAddress, k.WalletAddress)
			}
		}
	})

	t.Run("the feed head is the last event's seq, and a reader past it is told the feed went back", func(t *testing.T) {
		t.Parallel()
		d := h.fresh(t)
		if seq, err := d.s.FeedHead(t.Context()); err != nil || seq != 0 {
			t.Errorf("FeedHead of a new database = %d, %v; want 0", seq, err)
		}
		k := newKeyed(t, d)
		_, events, err := d.s.RotateKey(t.Context(), k.acct.ID, nil, newKey())
		if err != nil {
			t.Fatal(err)
		}
		last := events[len(events)-1].Seq
		if seq, err := d.s.FeedHead(t.Context()); err != nil || seq != last {
			t.Errorf("FeedHead = %d, %v; want %d", seq, err, last)
		}
		if evs, err := d.s.Events(t.Context(), last, 10); err != nil || len(evs) != 0 {
			t.Errorf("Events at the head = %s, %v; want none", describe(evs), err)
		}
		if _, err := d.s.Events(t.Context(), last+1, 10); !errors.Is(err, store.ErrFeedRewound) {
			t.Errorf("Events past the head: %v, want ErrFeedRewound", err)
		}
	})

	t.Run("a key is looked up by its hash while it is live", func(t *testing.T) {
		t.Parallel()
		d := h.fresh(t)
		k := newKeyed(t, d)
		got, err := d.s.LiveKeyByHash(t.Context(), k.key.Hash)
		if err != nil {
			t.Fatalf("LiveKeyByHash of a live key: %v", err)
		}
		wantKey(t, "LiveKeyByHash", got, k.live())
		if _, _, err := d.s.RevokeKey(t.Context(), k.acct.ID, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := d.s.LiveKeyByHash(t.Context(), k.key.Hash); !errors.Is(err, store.ErrKeyNotLive) {
			t.Errorf("LiveKeyByHash of a revoked key: %v, want ErrKeyNotLive", err)
		}
		if _, err := d.s.LiveKeyByHash(t.Context(), newKey().Hash); !errors.Is(err, store.ErrKeyNotLive) {
			t.Errorf("LiveKeyByHash of an unknown key: %v, want ErrKeyNotLive", err)
		}
	})

	t.Run("a feed mark stays while nothing is committed and changes once another handle commits", func(t *testing.T) {
		t.Parallel()
		d := h.fresh(t)
		k := newKeyed(t, d)
		ctx, cancel := context.WithCancel(t.Context())
		var wg sync.WaitGroup
		wg.Go(func() { d.s.Watch(ctx, func(bool) {}) })
		defer wg.Wait()
		defer cancel()
		var (
			m1 uint64
			ok bool
		)
		deadline := time.Now().Add(10 * time.Second)
		for m1, ok = d.s.FeedMark(t.Context(), true); !ok; m1, ok = d.s.FeedMark(t.Context(), true) {
			if time.Now().After(deadline) {
				t.Skip("this store has no feed mark") // a driver may have none: readers then read the feed
			}
			time.Sleep(time.Millisecond) // Watch is starting to listen
		}
		if m2, ok := d.s.FeedMark(t.Context(), true); !ok || m2 != m1 {
			t.Errorf("FeedMark changed from %d to %d (ok %v) with nothing committed", m1, m2, ok)
		}
		for i := range 5 {
			if _, _, err := d.handle(t).RotateKey(t.Context(), k.acct.ID, nil, newKey()); err != nil {
				t.Fatal(err)
			}
			m2, ok := d.s.FeedMark(t.Context(), true)
			if !ok || m2 == m1 {
				t.Fatalf("rotation %d through another handle: FeedMark %d, ok %v; was %d", i, m2, ok, m1)
			}
			m1 = m2
		}
	})
}
