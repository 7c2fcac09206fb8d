package storetest

import (
	"bytes"
	"crypto/rand"
	"slices"
	"testing"
	"time"

	"github.com/espresso-auth/espresso"
	"github.com/espresso-auth/espresso/store"
)

// newSession returns a session no test used before, expiring at expires.
func newSession(expires time.Time) store.NewSession {
	var h store.SessionHash
	_, _ = rand.Read(h[:])
	return store.NewSession{Hash: h, ExpiresAt: expires}
}

// signInSession signs a wallet in with a new session expiring in ttl.
func signInSession(t testing.TB, d *db, wallet string, ttl time.Duration) store.SignedIn {
	t.Helper()
	in, err := d.s.SignInSession(t.Context(), wallet, newNonce(), d.clock.Now().Add(time.Minute), nil, newSession(d.clock.Now().Add(ttl)))
	if err != nil {
		t.Fatalf("SignInSession: %v", err)
	}
	return in
}

// allLiveSessions reads every live session in pages of two, checking that
// each page keeps to its limit and that the pages go on in hash order
// without repeating a session.
func allLiveSessions(t testing.TB, s *store.Store) ([]store.Session, error) {
	t.Helper()
	const limit = 2
	var (
		all   []store.Session
		after *store.SessionHash
	)
	for {
		page, err := s.LiveSessions(t.Context(), after, limit)
		if err != nil {
			return all, err
		}
		if len(page) > limit {
			t.Fatalf("LiveSessions gave a page of %d, over its limit of %d", len(page), limit)
		}
		for _, se := range page {
			if after != nil && bytes.Compare(se.Hash[:], after[:]) <= 0 {
				t.Fatalf("LiveSessions gave %x after %x: not in hash order", se.Hash[:4], after[:4])
			}
			h := se.Hash
			after = &h
		}
		all = append(all, page...)
		if len(page) < limit {
			return all, nil
		}
	}
}

// wantSession checks a session field by field.
func wantSession(t testing.TB, what string, got, want store.Session) {
	t.Helper()
	if got.Hash != want.Hash || got.AccountID != want.AccountID {
		t.Errorf("%s: session of account %s, want %s (or another hash)", what, got.AccountID, want.AccountID)
	}
	wantTime(t, what+": CreatedAt", got.CreatedAt, want.CreatedAt)
	wantTime(t, what+": ExpiresAt", got.ExpiresAt, want.ExpiresAt)
	wantTime(t, what+": LastUsedAt", got.LastUsedAt, want.LastUsedAt)
	wantTime(t, what+": EndedAt", got.EndedAt, want.EndedAt)
}

// wantSessions checks a list of sessions, in order.
func wantSessions(t testing.TB, what string, got, want []store.Session) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d sessions, want %d", what, len(got), len(want))
		return
	}
	for i := range got {
		wantSession(t, what, got[i], want[i])
	}
}

// wantSessionEvents checks that the feed after seq holds exactly the
// session events want, in order.
func wantSessionEvents(t testing.TB, what string, s *store.Store, after int64, want []store.Event) {
	t.Helper()
	got := allEvents(t, s, after)
	if len(got) != len(want) {
		t.Errorf("%s: %d events %v, want %d", what, len(got), describe(got), len(want))
		return
	}
	for i := range got {
		if got[i].Kind != want[i].Kind || (want[i].Seq != 0 && got[i].Seq != want[i].Seq) {
			t.Errorf("%s: event %d is %v, want %v", what, i, describe(got[i:i+1]), describe(want[i:i+1]))
			continue
		}
		if want[i].Kind.IsSession() {
			wantSession(t, what, got[i].Session, want[i].Session)
		}
	}
}

func (h harness) testSessions(t *testing.T) {
	t.Parallel()
	t.Run("a sign-in starts a session in its commit and records its start in the feed", func(t *testing.T) {
		t.Parallel()
		d := h.fresh(t)
		seq := lastSeq(t, d.s)
		wallet := newWallet()
		ns := newSession(d.clock.Now().Add(time.Hour))
		in, err := d.s.SignInSession(t.Context(), wallet, newNonce(), d.clock.Now().Add(time.Minute), nil, ns)
		if err != nil {
			t.Fatal(err)
		}
		if !in.Created || in.Account.WalletAddress != wallet {
			t.Errorf("SignInSession = account %+v created %v, want a new account of the wallet", in.Account, in.Created)
		}
		want := store.Session{Hash: ns.Hash, AccountID: in.Account.ID, CreatedAt: d.now(), ExpiresAt: stored(ns.ExpiresAt)}
		wantSession(t, "the session returned", in.Session, want)
		if len(in.Events) != 1 || in.Events[0].Kind != store.SessionStarted {
			t.Fatalf("events %v, want one SessionStarted", describe(in.Events))
		}
		wantSessionEvents(t, "the feed", d.s, seq, []store.Event{{Seq: in.Events[0].Seq, Kind: store.SessionStarted, Session: want}})
		got, err := d.s.Sessions(t.Context(), in.Account.ID)
		if err != nil {
			t.Fatal(err)
		}
		wantSessions(t, "Sessions", got, []store.Session{want})
		live, err := allLiveSessions(t, d.handle(t))
		if err != nil {
			t.Fatal(err)
		}
		wantSessions(t, "LiveSessions from another handle", live, []store.Session{want})
	})

	t.Run("a sign-in whose nonce was used starts no session", func(t *testing.T) {
		t.Parallel()
		d := h.fresh(t)
		nonce, wallet := newNonce(), newWallet()
		if _, err := d.s.SignInSession(t.Context(), wallet, nonce, d.clock.Now().Add(time.Minute), nil, newSession(d.clock.Now().Add(time.Hour))); err != nil {
			t.Fatal(err)
		}
		seq := lastSeq(t, d.s)
		_, err := d.s.SignInSession(t.Context(), wallet, nonce, d.clock.Now().Add(time.Minute), nil, newSession(d.clock.Now().Add(time.Hour)))
		if err != store.ErrNonceUsed {
			t.Errorf("a second sign-in with the nonce: %v, want ErrNonceUsed", err)
		}
		wantNoNewEvents(t, "the refused sign-in", d.s, seq)
		live, err := allLiveSessions(t, d.s)
		if err != nil || len(live) != 1 {
			t.Errorf("LiveSessions = %d sessions, %v; want the first sign-in's only", len(live), err)
		}
	})

	t.Run("ending a session ends it once, for its own account only", func(t *testing.T) {
		t.Parallel()
		d := h.fresh(t)
		in := signInSession(t, d, newWallet(), time.Hour)
		other := signInSession(t, d, newWallet(), time.Hour)
		seq := lastSeq(t, d.s)
		if _, evs, err := d.s.EndSession(t.Context(), other.Account.ID, in.Session.Hash); err != nil || len(evs) != 0 {
			t.Errorf("ending a session as another account: %d events, %v; want none, no error", len(evs), err)
		}
		d.clock.Advance(step)
		ended, evs, err := d.s.EndSession(t.Context(), in.Account.ID, in.Session.Hash)
		if err != nil {
			t.Fatal(err)
		}
		want := in.Session
		want.EndedAt = d.now()
		wantSession(t, "the ended session", ended, want)
		wantSessionEvents(t, "the feed", d.s, seq, []store.Event{{Kind: store.SessionEnded, Session: want}})
		if len(evs) != 1 || evs[0].Seq != seq+1 {
			t.Errorf("EndSession's events %v, want the one at seq %d", describe(evs), seq+1)
		}
		if _, evs, err := d.s.EndSession(t.Context(), in.Account.ID, in.Session.Hash); err != nil || len(evs) != 0 {
			t.Errorf("ending it again: %d events, %v; want none, no error", len(evs), err)
		}
		got, err := d.s.Sessions(t.Context(), in.Account.ID)
		if err != nil || len(got) != 0 {
			t.Errorf("Sessions after the end = %d, %v; want none", len(got), err)
		}
		live, err := allLiveSessions(t, d.s)
		if err != nil {
			t.Fatal(err)
		}
		wantSessions(t, "LiveSessions", live, []store.Session{other.Session})
	})

	t.Run("ending every session of an account leaves other accounts' and lists newest first", func(t *testing.T) {
		t.Parallel()
		d := h.fresh(t)
		wallet := newWallet()
		first := signInSession(t, d, wallet, time.Hour)
		d.clock.Advance(step)
		second := signInSession(t, d, wallet, time.Hour)
		d.clock.Advance(step)
		short := signInSession(t, d, wallet, 2*step)
		other := signInSession(t, d, newWallet(), time.Hour)
		got, err := d.s.Sessions(t.Context(), first.Account.ID)
		if err != nil {
			t.Fatal(err)
		}
		wantSessions(t, "Sessions, newest first", got, []store.Session{short.Session, second.Session, first.Session})
		d.clock.Advance(3 * step) // short has expired
		got, err = d.s.Sessions(t.Context(), first.Account.ID)
		if err != nil {
			t.Fatal(err)
		}
		wantSessions(t, "Sessions once one expired", got, []store.Session{second.Session, first.Session})

		seq := lastSeq(t, d.s)
		ended, evs, err := d.s.EndSessions(t.Context(), first.Account.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(ended) != 2 || len(evs) != 2 {
			t.Fatalf("EndSessions ended %d sessions with %d events, want 2 and 2 (the expired one is not live)", len(ended), len(evs))
		}
		var want []store.Event
		for _, ev := range evs {
			if ev.Kind != store.SessionEnded || !ev.Session.EndedAt.Equal(d.now()) {
				t.Errorf("event %v ended at %v, want SessionEnded at %v", describe([]store.Event{ev}), ev.Session.EndedAt, d.now())
			}
			want = append(want, store.Event{Kind: store.SessionEnded, Session: ev.Session})
		}
		wantSessionEvents(t, "the feed", d.s, seq, want)
		live, err := allLiveSessions(t, d.s)
		if err != nil {
			t.Fatal(err)
		}
		wantSessions(t, "LiveSessions", live, []store.Session{other.Session})
		if _, evs, err := d.s.EndSessions(t.Context(), first.Account.ID); err != nil || len(evs) != 0 {
			t.Errorf("EndSessions again: %d events, %v; want none, no error", len(evs), err)
		}
		_, _, err = d.s.EndSessions(t.Context(), store.NewID())
		wantErr(t, "EndSessions of an unknown account", err, espresso.ErrUserNotFound)
		_, err = d.s.Sessions(t.Context(), store.NewID())
		wantErr(t, "Sessions of an unknown account", err, espresso.ErrUserNotFound)
	})

	t.Run("live sessions come in pages, in hash order, without the ended or expired", func(t *testing.T) {
		t.Parallel()
		d := h.fresh(t)
		var want []store.Session
		for range 5 {
			want = append(want, signInSession(t, d, newWallet(), time.Hour).Session)
		}
		ended := signInSession(t, d, newWallet(), time.Hour)
		if _, _, err := d.s.EndSession(t.Context(), ended.Account.ID, ended.Session.Hash); err != nil {
			t.Fatal(err)
		}
		signInSession(t, d, newWallet(), step) // expires below
		d.clock.Advance(2 * step)
		slices.SortFunc(want, func(a, b store.Session) int { return bytes.Compare(a.Hash[:], b.Hash[:]) })
		live, err := allLiveSessions(t, d.s)
		if err != nil {
			t.Fatal(err)
		}
		wantSessions(t, "LiveSessions in pages of two", live, want)
		page, err := d.s.LiveSessions(t.Context(), &want[1].Hash, 10)
		if err != nil {
			t.Fatal(err)
		}
		wantSessions(t, "LiveSessions after the second", page, want[2:])
	})

	t.Run("last use is raised, never lowered, and not for ended sessions", func(t *testing.T) {
		t.Parallel()
		d := h.fresh(t)
		a := signInSession(t, d, newWallet(), time.Hour)
		b := signInSession(t, d, newWallet(), time.Hour)
		late, early := d.clock.Now().Add(10*step), d.clock.Now().Add(step)
		if _, _, err := d.s.EndSession(t.Context(), b.Account.ID, b.Session.Hash); err != nil {
			t.Fatal(err)
		}
		var unknown store.SessionHash
		uses := map[store.SessionHash]time.Time{a.Session.Hash: late, b.Session.Hash: late, unknown: late}
		if err := d.s.RecordSessionUse(t.Context(), uses); err != nil {
			t.Fatal(err)
		}
		if err := d.s.RecordSessionUse(t.Context(), map[store.SessionHash]time.Time{a.Session.Hash: early}); err != nil {
			t.Fatal(err)
		}
		got, err := d.s.Sessions(t.Context(), a.Account.ID)
		if err != nil || len(got) != 1 {
			t.Fatalf("Sessions = %d, %v", len(got), err)
		}
		wantTime(t, "the last use", got[0].LastUsedAt, stored(late))
		live, err := allLiveSessions(t, d.s)
		if err != nil || len(live) != 1 {
			t.Fatalf("LiveSessions = %d, %v", len(live), err)
		}
		wantTime(t, "the last use in LiveSessions", live[0].LastUsedAt, stored(late))
	})

	t.Run("pruning deletes the sessions expired or ended before the cut-off only", func(t *testing.T) {
		t.Parallel()
		d := h.fresh(t)
		expiring := signInSession(t, d, newWallet(), step)
		ending := signInSession(t, d, newWallet(), time.Hour)
		kept := signInSession(t, d, newWallet(), time.Hour)
		if _, _, err := d.s.EndSession(t.Context(), ending.Account.ID, ending.Session.Hash); err != nil {
			t.Fatal(err)
		}
		n, err := d.s.PruneSessions(t.Context(), d.clock.Now())
		if err != nil || n != 0 {
			t.Errorf("PruneSessions(now) = %d, %v; want 0 (nothing ended or expired before now)", n, err)
		}
		n, err = d.s.PruneSessions(t.Context(), d.clock.Now().Add(2*step))
		if err != nil || n != 2 {
			t.Errorf("PruneSessions later = %d, %v; want 2", n, err)
		}
		live, err := allLiveSessions(t, d.s)
		if err != nil {
			t.Fatal(err)
		}
		wantSessions(t, "LiveSessions", live, []store.Session{kept.Session})
		_ = expiring
	})
}

func (h harness) testDeleteAccount(t *testing.T) {
	t.Parallel()
	t.Run("deleting an account revokes its key, ends its sessions and erases it", func(t *testing.T) {
		t.Parallel()
		d := h.fresh(t)
		k := newKeyed(t, d)
		s1 := signInSession(t, d, k.acct.WalletAddress, time.Hour)
		s2 := signInSession(t, d, k.acct.WalletAddress, time.Hour)
		if _, err := d.s.CreateSpotAccount(t.Context(), k.acct.ID, newOperationKey()); err != nil {
			t.Fatal(err)
		}
		other := newKeyed(t, d)
		otherSession := signInSession(t, d, other.acct.WalletAddress, time.Hour)
		seq := lastSeq(t, d.s)
		d.clock.Advance(step)

		del, err := d.s.DeleteAccount(t.Context(), k.acct.WalletAddress)
		if err != nil {
			t.Fatal(err)
		}
		if del.Account.ID != k.acct.ID || del.Key.Hash != k.key.Hash || len(del.Ended) != 2 {
			t.Errorf("DeleteAccount = account %s, key %s, %d sessions; want %s, %s, 2", del.Account.ID, del.Key.Masked, len(del.Ended), k.acct.ID, k.key.Masked)
		}
		events := allEvents(t, d.s, seq)
		if len(events) != 3 || events[0].Kind != store.KeyRevoked || events[0].Key.Hash != k.key.Hash ||
			!events[1].Kind.IsSession() || events[2].Kind != store.SessionEnded {
			t.Errorf("the feed after DeleteAccount: %v, want KeyRevoked then two SessionEnded", describe(events))
		}
		ended := map[store.SessionHash]bool{}
		for _, ev := range events[1:] {
			ended[ev.Session.Hash] = ev.Kind == store.SessionEnded
		}
		if !ended[s1.Session.Hash] || !ended[s2.Session.Hash] {
			t.Error("the feed does not end both sessions")
		}
		_, err = d.s.AccountByWallet(t.Context(), k.acct.WalletAddress)
		wantErr(t, "AccountByWallet after the delete", err, espresso.ErrUserNotFound)
		_, err = d.s.AccountByID(t.Context(), k.acct.ID)
		wantErr(t, "AccountByID after the delete", err, espresso.ErrUserNotFound)
		_, err = d.s.LiveKey(t.Context(), k.acct.ID)
		wantErr(t, "LiveKey after the delete", err, espresso.ErrUserNotFound)
		_, err = d.s.SpotAccount(t.Context(), k.acct.ID)
		wantErr(t, "SpotAccount after the delete", err, espresso.ErrUserNotFound)
		keys, _, err := d.s.Snapshot(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		wantSameLive(t, "the live keys", newLiveSet(keys), newLiveSet([]store.Key{other.live()}))
		live, err := allLiveSessions(t, d.s)
		if err != nil {
			t.Fatal(err)
		}
		wantSessions(t, "LiveSessions", live, []store.Session{otherSession.Session})
		n, err := d.s.PruneSessions(t.Context(), d.clock.Now().Add(365*24*time.Hour))
		if err != nil || n != 1 {
			t.Errorf("pruning every session = %d, %v; want 1: the deleted account's rows are gone", n, err)
		}

		// The wallet can start again from nothing.
		again := signInSession(t, d, k.acct.WalletAddress, time.Hour)
		if !again.Created || again.Account.ID == k.acct.ID {
			t.Errorf("signing the wallet in again: created %v, id %s; want a new account", again.Created, again.Account.ID)
		}
	})

	t.Run("deleting an account without key or session, or an unknown one", func(t *testing.T) {
		t.Parallel()
		d := h.fresh(t)
		a := createAccount(t, d.s, nil)
		seq := lastSeq(t, d.s)
		del, err := d.s.DeleteAccount(t.Context(), a.WalletAddress)
		if err != nil || len(del.Events) != 0 {
			t.Errorf("DeleteAccount = %d events, %v; want none, no error", len(del.Events), err)
		}
		wantNoNewEvents(t, "the delete", d.s, seq)
		_, err = d.s.DeleteAccount(t.Context(), a.WalletAddress)
		wantErr(t, "deleting it again", err, espresso.ErrUserNotFound)
	})
}
