package sessions

import (
	"testing"
	"time"

	"github.com/espresso-auth/espresso/store"
)

// TestLiveSet_AnEndedSessionNeverComesBack: an end applied here before the
// feed replays the session's start, or before a snapshot read earlier is
// loaded, keeps the session ended; the end is forgotten only once the
// session would have expired anyway.
func TestLiveSet_AnEndedSessionNeverComesBack(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	s := store.Session{Hash: store.SessionHash{1}, AccountID: "a", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	other := store.Session{Hash: store.SessionHash{2}, AccountID: "b", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	ended := s
	ended.EndedAt = now.Add(time.Minute)
	l := newLiveSet()
	l.apply([]store.Event{{Seq: 1, Kind: store.SessionStarted, Session: s}})
	if l.lookup(s.Hash) == nil {
		t.Fatal("a started session is not live")
	}
	l.apply([]store.Event{{Seq: 9, Kind: store.SessionEnded, Session: ended}}) // this node's sign-out
	l.apply([]store.Event{{Seq: 1, Kind: store.SessionStarted, Session: s}})   // the feed, behind
	if l.lookup(s.Hash) != nil {
		t.Error("the feed's replayed start brought an ended session back")
	}
	l.reset([]store.Session{s, other}) // a snapshot read before the end
	if l.lookup(s.Hash) != nil {
		t.Error("an older snapshot brought an ended session back")
	}
	if l.lookup(other.Hash) == nil || l.size() != 1 {
		t.Errorf("after the snapshot: %d sessions, want the other one only", l.size())
	}
	l.prune(now.Add(time.Hour))
	if l.size() != 0 || len(l.ended) != 0 {
		t.Errorf("after the expiry: %d live, %d ends remembered; want none", l.size(), len(l.ended))
	}
}

// TestLiveSet_ResetKeepsTheUsesSeenHere: a snapshot replaces the set, but a
// session known already keeps the last use this node saw and has not
// written yet.
func TestLiveSet_ResetKeepsTheUsesSeenHere(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	s := store.Session{Hash: store.SessionHash{1}, AccountID: "a", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	l := newLiveSet()
	l.apply([]store.Event{{Seq: 1, Kind: store.SessionStarted, Session: s}})
	e := l.lookup(s.Hash)
	raise(&e.lastUsed, now.Add(time.Minute).UnixMicro())
	stale := s
	stale.LastUsedAt = now.Add(time.Second)
	l.reset([]store.Session{stale})
	if got := l.lookup(s.Hash); got != e || got.lastUsed.Load() != now.Add(time.Minute).UnixMicro() {
		t.Errorf("after the snapshot the session's last use is %v, want the one seen here", fromMicros(got.lastUsed.Load()))
	}
}
