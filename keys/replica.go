package keys

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/espresso-auth/espresso/apikey"
	"github.com/espresso-auth/espresso/store"
)

// entry is one live key in a node's replica: 112 bytes, plus its strings'
// bytes (the account id's 36, the masked key's 19 and the wallet address's
// 58 to 103), plus the map's slot. It keeps only what verification answers:
// a live key has no revocation time, and its stored last use is folded into
// lastUsed.
type entry struct {
	hash apikey.Hash
	// owner is the account id and the wallet address, in an array so that
	// Info.OwnerHeaders can hand them out as header values without
	// allocating.
	owner     [2]string
	masked    string
	createdAt int64 // unix µs
	issuedSeq int64
	lastUsed  atomic.Int64 // unix µs of the latest use this node has seen
	dirty     atomic.Bool  // lastUsed changed since the last flush
}

// newEntry returns the entry of a live key issued at seq (0: from a
// snapshot).
func newEntry(k store.Key, seq int64) *entry {
	e := &entry{hash: k.Hash, owner: [2]string{k.AccountID, k.WalletAddress}, masked: k.Masked,
		createdAt: micros(k.CreatedAt), issuedSeq: seq}
	e.lastUsed.Store(micros(k.LastUsedAt))
	return e
}

// replica is a node's in-memory copy of every live key, kept in step with
// the store's key feed. Verification reads it and never touches storage.
//
// Two sources change it: the feed (events in Seq order, read by the
// follower) and local writes (events this node just committed, applied at
// once so that "the previous key stops working at that instant" holds on the
// node that answered). A local event can run ahead of the feed; tomb
// remembers local revocations until the feed reaches them, so that replaying
// an older KeyIssued from the feed cannot bring a revoked key back.
type replica struct {
	mu   sync.RWMutex
	live map[apikey.Hash]*entry
	tomb map[apikey.Hash]int64 // revoked locally at Seq, feed not there yet
	seq  int64                 // the feed position: every event <= seq is applied
}

func newReplica() *replica {
	return &replica{live: map[apikey.Hash]*entry{}, tomb: map[apikey.Hash]int64{}}
}

// lookup returns the live entry for h, or nil.
func (r *replica) lookup(h apikey.Hash) *entry {
	r.mu.RLock()
	e := r.live[h]
	r.mu.RUnlock()
	return e
}

// position returns the feed position.
func (r *replica) position() int64 {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.seq
}

// size returns the number of live keys.
func (r *replica) size() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.live)
}

// applyFeed applies events read from the feed, which arrive in Seq order
// with nothing missing after the current position.
func (r *replica) applyFeed(events []store.Event) { r.apply(events, true) }

// applyLocal applies events this node has just committed, possibly ahead of
// the feed.
func (r *replica) applyLocal(events []store.Event) { r.apply(events, false) }

// apply skips events at or below the feed position: they are reflected
// already, and possibly superseded by later ones (a local apply can arrive
// after the feed has read its events and more). A local revocation is
// remembered in tomb until the feed reaches it.
func (r *replica) apply(events []store.Event, fromFeed bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, ev := range events {
		if ev.Seq <= r.seq {
			continue
		}
		switch ev.Kind {
		case store.KeyIssued:
			if _, revoked := r.tomb[ev.Key.Hash]; !revoked {
				r.issue(ev)
			}
		case store.KeyRevoked:
			delete(r.live, ev.Key.Hash)
			if fromFeed {
				delete(r.tomb, ev.Key.Hash) // the feed has caught up with it
			} else {
				r.tomb[ev.Key.Hash] = ev.Seq
			}
		}
		if fromFeed {
			r.seq = ev.Seq
		}
	}
}

// issue records ev's key as live, keeping the usage already seen if the key
// is known (a local event replayed by the feed).
func (r *replica) issue(ev store.Event) {
	if _, ok := r.live[ev.Key.Hash]; ok {
		return
	}
	r.live[ev.Key.Hash] = newEntry(ev.Key, ev.Seq)
}

// reset replaces the replica with a snapshot taken at seq. Local events
// newer than the snapshot survive: issued keys stay, revoked ones stay gone.
// Usage seen by this node survives for keys that are still live.
func (r *replica) reset(keys []store.Key, seq int64) {
	live := make(map[apikey.Hash]*entry, len(keys))
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, k := range keys {
		// Keep the entry object of a key already known: the usage flusher
		// may hold it, and its usage is newer than storage's.
		e, ok := r.live[k.Hash]
		if !ok {
			e = newEntry(k, 0)
		}
		raise(&e.lastUsed, micros(k.LastUsedAt))
		live[k.Hash] = e
	}
	for h, e := range r.live {
		if e.issuedSeq > seq {
			live[h] = e
		}
	}
	for h, at := range r.tomb {
		if at <= seq {
			delete(r.tomb, h)
		} else {
			delete(live, h)
		}
	}
	r.live = live
	r.seq = seq
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
