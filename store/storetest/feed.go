package storetest

import (
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/espresso-auth/espresso/apikey"
	"github.com/espresso-auth/espresso/store"
)

func (h harness) testSnapshot(t *testing.T) {
	t.Parallel()
	t.Run("a fresh database has no live keys, seq 0 and an empty feed", func(t *testing.T) {
		t.Parallel()
		d := h.fresh(t)
		keys, seq, err := d.s.Snapshot(t.Context())
		if err != nil || len(keys) != 0 || seq != 0 {
			t.Errorf("Snapshot = %d keys, seq %d, %v; want none, 0", len(keys), seq, err)
		}
		events, err := d.s.Events(t.Context(), 0, 10)
		if err != nil || len(events) != 0 {
			t.Errorf("Events(0) = %s, %v; want none", describe(events), err)
		}
	})

	t.Run("a snapshot holds exactly the live keys and the seq of the last event", func(t *testing.T) {
		t.Parallel()
		d := h.fresh(t)
		used, rotated, revoked := newKeyed(t, d), newKeyed(t, d), newKeyed(t, d)
		createAccount(t, d.s, nil)
		d.clock.Advance(step)
		next := newKey()
		if _, _, err := d.s.RotateKey(t.Context(), rotated.acct.ID, nil, next); err != nil {
			t.Fatal(err)
		}
		rotated.key, rotated.at = next, d.now()
		at := d.clock.Advance(step)
		if err := d.s.RecordUse(t.Context(), map[apikey.Hash]time.Time{used.key.Hash: at}); err != nil {
			t.Fatal(err)
		}
		_, events, err := d.s.RevokeKey(t.Context(), revoked.acct.ID, nil)
		if err != nil || len(events) == 0 {
			t.Fatalf("RevokeKey: %d events, %v", len(events), err)
		}
		last := events[len(events)-1].Seq

		usedKey := used.live()
		usedKey.LastUsedAt = at
		want := []store.Key{usedKey, rotated.live()}
		for _, s := range []*store.Store{d.s, d.handle(t)} {
			keys, seq, err := s.Snapshot(t.Context())
			if err != nil {
				t.Fatalf("Snapshot: %v", err)
			}
			if seq != last {
				t.Errorf("Snapshot seq = %d, want the last event's %d", seq, last)
			}
			got := newLiveSet(keys)
			if len(keys) != len(want) || len(got) != len(want) {
				t.Errorf("Snapshot holds %d keys, want %d", len(keys), len(want))
			}
			for _, w := range want {
				if g, ok := got[w.Hash]; !ok {
					t.Errorf("Snapshot lacks the live key %s", w.Masked)
				} else {
					wantKey(t, "Snapshot key "+w.Masked, g, w)
				}
			}
		}
	})

	t.Run("replaying the events after a snapshot gives the later snapshot", func(t *testing.T) {
		t.Parallel()
		d := h.fresh(t)
		a, b, c := newKeyed(t, d), newKeyed(t, d), newKeyed(t, d)
		keys, seq, err := d.s.Snapshot(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		cache := newLiveSet(keys)
		other := d.handle(t)
		d.clock.Advance(step)
		steps := []func() error{
			func() error { _, _, err := d.s.RotateKey(t.Context(), a.acct.ID, &a.key.Hash, newKey()); return err },
			func() error { _, _, err := other.RevokeKey(t.Context(), b.acct.ID, nil); return err },
			func() error { _, _, err := other.RotateKey(t.Context(), b.acct.ID, nil, newKey()); return err },
			func() error { _, _, err := d.s.CreateAccount(t.Context(), newWallet(), ptr(newKey())); return err },
			func() error { _, _, err := d.s.RevokeKey(t.Context(), c.acct.ID, &c.key.Hash); return err },
		}
		for i, f := range steps {
			if err := f(); err != nil {
				t.Fatalf("step %d: %v", i, err)
			}
		}
		events := allEvents(t, d.s, seq)
		cache.apply(events)
		keys, seq2, err := other.Snapshot(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		wantSameLive(t, "the replayed cache", cache, newLiveSet(keys))
		if len(events) == 0 || events[len(events)-1].Seq != seq2 {
			t.Errorf("the later snapshot's seq is %d, the feed ends with %s", seq2, describe(events))
		}
	})
}

func (h harness) testEvents(t *testing.T) {
	t.Parallel()
	t.Run("events come in seq order, paged by after and limit", func(t *testing.T) {
		t.Parallel()
		d := h.fresh(t)
		var recorded []store.Event
		k := newKeyed(t, d)
		for range 3 {
			d.clock.Advance(step)
			next := newKey()
			_, events, err := d.s.RotateKey(t.Context(), k.acct.ID, &k.key.Hash, next)
			if err != nil {
				t.Fatal(err)
			}
			recorded = append(recorded, events...)
			k.key = next
		}
		all := allEvents(t, d.s, 0)
		if len(all) != 7 {
			t.Fatalf("the feed holds %d events %s, want 7", len(all), describe(all))
		}
		wantEvents(t, "the feed after the first event", all[1:], recorded)
		for i := 1; i < len(all); i++ {
			if all[i].Seq <= all[i-1].Seq {
				t.Fatalf("the feed is not in seq order: %s", describe(all))
			}
		}
		pages := []struct {
			after int64
			limit int
			want  []store.Event
		}{
			{0, 3, all[:3]},
			{all[2].Seq, 3, all[3:6]},
			{all[5].Seq, 3, all[6:]},
			{all[3].Seq - 1, 2, all[3:5]},
			{0, 100, all},
			{0, 1, all[:1]},
			{all[6].Seq, 3, nil},
		}
		for _, p := range pages {
			got, err := d.s.Events(t.Context(), p.after, p.limit)
			if err != nil {
				t.Errorf("Events(%d, %d): %v", p.after, p.limit, err)
				continue
			}
			wantEvents(t, "Events page", got, p.want)
		}
	})

	t.Run("events recorded through one handle are seen through another, in the order written", func(t *testing.T) {
		t.Parallel()
		d := h.fresh(t)
		a, b := d.s, d.handle(t)
		var recorded []store.Event
		keep := func(events []store.Event, err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
			recorded = append(recorded, events...)
		}
		first := newKey()
		acct, events, err := a.CreateAccount(t.Context(), newWallet(), &first)
		keep(events, err)
		d.clock.Advance(step)
		second := newKey()
		_, events, err = b.RotateKey(t.Context(), acct.ID, &first.Hash, second)
		keep(events, err)
		d.clock.Advance(step)
		_, events, err = a.RevokeKey(t.Context(), acct.ID, &second.Hash)
		keep(events, err)
		_, events, err = b.CreateAccount(t.Context(), newWallet(), ptr(newKey()))
		keep(events, err)
		for i := 1; i < len(recorded); i++ {
			if recorded[i].Seq <= recorded[i-1].Seq {
				t.Fatalf("seqs do not increase in the order written: %s", describe(recorded))
			}
		}
		wantEvents(t, "the feed through handle A", allEvents(t, a, 0), recorded)
		wantEvents(t, "the feed through handle B", allEvents(t, b, 0), recorded)
	})
}

func (h harness) testPruneEvents(t *testing.T) {
	t.Parallel()
	t.Run("pruning deletes events recorded before the given time and truncates the feed for readers behind", func(t *testing.T) {
		t.Parallel()
		d := h.fresh(t)
		other := d.handle(t)
		k := newKeyed(t, d) // one event at t0
		t0 := d.now()
		rotate := func() []store.Event {
			t.Helper()
			next := newKey()
			_, events, err := d.s.RotateKey(t.Context(), k.acct.ID, &k.key.Hash, next)
			if err != nil || len(events) != 2 {
				t.Fatalf("RotateKey: %d events, %v", len(events), err)
			}
			k.key = next
			return events
		}
		d.clock.Advance(step)
		t1 := d.now()
		e1 := rotate()
		d.clock.Advance(step)
		t2 := d.now()
		e2 := rotate()
		all := allEvents(t, d.s, 0)
		if len(all) != 5 {
			t.Fatalf("the feed holds %s, want 5 events", describe(all))
		}
		last := e2[1].Seq

		prune := func(s *store.Store, before time.Time, want int64) {
			t.Helper()
			if n, err := s.PruneEvents(t.Context(), before); err != nil || n != want {
				t.Errorf("PruneEvents = %d, %v; want %d", n, err, want)
			}
		}
		truncated := func(after int64) {
			t.Helper()
			for _, s := range []*store.Store{d.s, other} {
				_, err := s.Events(t.Context(), after, 10)
				if !errors.Is(err, store.ErrFeedTruncated) {
					t.Errorf("Events after a pruned event: error %v, want ErrFeedTruncated", err)
				}
			}
		}
		reads := func(after int64, want []store.Event) {
			t.Helper()
			for _, s := range []*store.Store{d.s, other} {
				got, err := s.Events(t.Context(), after, 10)
				if err != nil {
					t.Errorf("Events(%d): %v", after, err)
				}
				wantEvents(t, "Events", got, want)
			}
		}

		prune(d.s, t0, 0) // recorded at t0, not before it
		reads(0, all)
		prune(other, t1, 1)
		truncated(0)
		reads(all[0].Seq, all[1:])
		prune(d.s, t2, 2)
		truncated(all[0].Seq)
		truncated(e1[0].Seq)
		reads(e1[1].Seq, e2)
		if seq := lastSeq(t, other); seq != last {
			t.Errorf("Snapshot seq after pruning = %d, want %d", seq, last)
		}

		d.clock.Advance(step)
		t3 := d.now()
		prune(other, t3, 2)
		truncated(e2[0].Seq)
		reads(last, nil)
		if seq := lastSeq(t, d.s); seq != last {
			t.Errorf("Snapshot seq after pruning every event = %d, want %d", seq, last)
		}
		prune(d.s, t3, 0)

		e3 := rotate()
		if e3[0].Seq <= last {
			t.Errorf("an event after pruning got seq %d, not after the pruned %d", e3[0].Seq, last)
		}
		reads(last, e3)
		prune(d.s, t3, 0) // recorded at t3
		reads(last, e3)
		if seq := lastSeq(t, d.s); seq != e3[1].Seq {
			t.Errorf("Snapshot seq = %d, want %d", seq, e3[1].Seq)
		}
	})
}

// testConcurrentFeed checks the property nodes rely on: a reader that has
// seen seq n never later finds an event with seq <= n, whichever handles
// write, and Snapshot's keys and seq are consistent.
func (h harness) testConcurrentFeed(t *testing.T) {
	t.Parallel()
	t.Run("concurrent writers on two handles never let a reader see a later commit get a smaller seq", func(t *testing.T) {
		t.Parallel()
		d := h.fresh(t)
		writers := []*store.Store{d.s, d.handle(t)}
		reader := d.handle(t)
		const workers, rounds = 6, 15

		ks := make([]keyed, workers)
		for i := range ks {
			ks[i] = newKeyed(t, d)
		}
		base := lastSeq(t, d.s)

		type snap struct {
			keys []store.Key
			seq  int64
		}
		var (
			polled []store.Event
			snaps  []snap
			done   = make(chan struct{})
			pollWG sync.WaitGroup
		)
		pollWG.Go(func() {
			last := base
			poll := func() int {
				page, err := reader.Events(t.Context(), last, 7)
				if err != nil {
					t.Errorf("Events(%d): %v", last, err)
					return 0
				}
				for _, e := range page {
					if e.Seq <= last {
						t.Errorf("Events(%d) returned seq %d", last, e.Seq)
					}
					last = e.Seq
				}
				polled = append(polled, page...)
				return len(page)
			}
			for i := 0; ; i++ {
				select {
				case <-done:
					for poll() > 0 {
					}
					return
				default:
				}
				poll()
				if i%5 == 0 {
					keys, seq, err := reader.Snapshot(t.Context())
					if err != nil {
						t.Errorf("Snapshot: %v", err)
					} else {
						snaps = append(snaps, snap{keys, seq})
					}
				}
				runtime.Gosched()
			}
		})

		written := make([][]store.Event, workers)
		race(workers, writers, func(i int, s *store.Store) {
			k := ks[i]
			for range rounds {
				next := newKey()
				_, events, err := s.RotateKey(t.Context(), k.acct.ID, &k.key.Hash, next)
				if err != nil {
					t.Errorf("worker %d: RotateKey: %v", i, err)
					return
				}
				k.key = next
				written[i] = append(written[i], events...)
			}
		})
		close(done)
		pollWG.Wait()
		if t.Failed() {
			return
		}

		feed := allEvents(t, reader, base)
		if len(feed) != 2*workers*rounds {
			t.Fatalf("the feed holds %d new events, want %d", len(feed), 2*workers*rounds)
		}
		if len(polled) != len(feed) {
			t.Fatalf("the poller saw %d events, the feed holds %d: a commit got a seq below one already seen", len(polled), len(feed))
		}
		for i := range feed {
			if polled[i].Seq != feed[i].Seq {
				t.Fatalf("the poller saw seq %d where the feed holds %d: a commit got a seq below one already seen", polled[i].Seq, feed[i].Seq)
			}
		}
		bySeq := map[int64]store.Event{}
		for _, e := range feed {
			bySeq[e.Seq] = e
		}
		for i, events := range written {
			for j, e := range events {
				if j > 0 && e.Seq <= events[j-1].Seq {
					t.Errorf("worker %d: seq %d follows %d in the order written", i, e.Seq, events[j-1].Seq)
				}
				f, ok := bySeq[e.Seq]
				if !ok {
					t.Errorf("worker %d: event %d is not in the feed", i, e.Seq)
					continue
				}
				wantEvents(t, "a written event", []store.Event{f}, []store.Event{e})
			}
		}

		final, seq, err := reader.Snapshot(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if seq != feed[len(feed)-1].Seq {
			t.Errorf("the final snapshot's seq is %d, the feed ends at %d", seq, feed[len(feed)-1].Seq)
		}
		want := newLiveSet(final)
		if len(want) != workers {
			t.Errorf("the final snapshot holds %d keys, want %d", len(want), workers)
		}
		if len(snaps) == 0 {
			t.Fatal("the poller took no snapshot")
		}
		for _, s := range snaps {
			cache := newLiveSet(s.keys)
			var after []store.Event
			for _, e := range feed {
				if e.Seq > s.seq {
					after = append(after, e)
				}
			}
			cache.apply(after)
			wantSameLive(t, "a snapshot taken during the writes, replayed", cache, want)
			if t.Failed() {
				t.Fatalf("the snapshot at seq %d holds keys inconsistent with its seq", s.seq)
			}
		}
	})
}
