package sessions

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/espresso-auth/espresso/store"
)

// live is one live session in a node's memory: what a token check needs,
// and the latest use this node has seen.
type live struct {
	hash      store.SessionHash
	accountID string
	created   time.Time
	expires   time.Time
	lastUsed  atomic.Int64 // unix µs; 0: none seen
	dirty     atomic.Bool  // lastUsed changed since the last flush
}

// liveSet is a node's set of live sessions, kept in step with the feed's
// session events (by the key follower, through Service.Apply and Reload)
// and with this node's own sign-ins and sign-outs, applied at once. A
// token check reads it and never touches storage.
//
// A session id is never reused and an ended session never lives again, so
// ended remembers every end seen until the session would have expired:
// then no replayed start, from the feed or from a snapshot read before the
// end, can bring it back.
type liveSet struct {
	mu    sync.RWMutex
	live  map[store.SessionHash]*live
	ended map[store.SessionHash]time.Time // until when to remember it
}

func newLiveSet() *liveSet {
	return &liveSet{live: map[store.SessionHash]*live{}, ended: map[store.SessionHash]time.Time{}}
}

// lookup returns the live session with hash h, or nil.
func (l *liveSet) lookup(h store.SessionHash) *live {
	l.mu.RLock()
	s := l.live[h]
	l.mu.RUnlock()
	return s
}

// size returns how many sessions the set holds (some may have expired
// since the last prune).
func (l *liveSet) size() int {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return len(l.live)
}

// apply applies session events in feed order; other events are ignored.
func (l *liveSet) apply(events []store.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, ev := range events {
		switch ev.Kind {
		case store.SessionStarted:
			l.start(ev.Session)
		case store.SessionEnded:
			delete(l.live, ev.Session.Hash)
			l.ended[ev.Session.Hash] = ev.Session.ExpiresAt
		}
	}
}

// start adds s unless it is known, live or ended; l.mu is held.
func (l *liveSet) start(s store.Session) {
	if _, ok := l.live[s.Hash]; ok {
		return
	}
	if _, ok := l.ended[s.Hash]; ok {
		return
	}
	e := &live{hash: s.Hash, accountID: s.AccountID, created: s.CreatedAt, expires: s.ExpiresAt}
	e.lastUsed.Store(micros(s.LastUsedAt))
	l.live[s.Hash] = e
}

// reset replaces the set with a snapshot of the live sessions. Entries
// already known are kept, with the uses seen here; sessions started here
// after the snapshot was read are not lost, because the feed, read from
// the key snapshot's position (older than this one), starts them again.
func (l *liveSet) reset(sessions []store.Session) {
	l.mu.Lock()
	defer l.mu.Unlock()
	old := l.live
	l.live = make(map[store.SessionHash]*live, len(sessions))
	for _, s := range sessions {
		if e, ok := old[s.Hash]; ok {
			raise(&e.lastUsed, micros(s.LastUsedAt))
			l.live[s.Hash] = e
			continue
		}
		l.start(s)
	}
}

// prune forgets sessions that have expired and ends that no longer need
// remembering, at now.
func (l *liveSet) prune(now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for h, e := range l.live {
		if !now.Before(e.expires) {
			delete(l.live, h)
		}
	}
	for h, until := range l.ended {
		if !now.Before(until) {
			delete(l.ended, h)
		}
	}
}

// raise sets v to us if that is later than its value, and returns the value
// it had.
func raise(v *atomic.Int64, us int64) int64 {
	for {
		old := v.Load()
		if us <= old || v.CompareAndSwap(old, us) {
			return old
		}
	}
}

func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromMicros(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us).UTC()
}
