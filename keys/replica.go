package keys

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/espresso-auth/espresso/apikey"
	"github.com/espresso-auth/espresso/store"
)

// replica is a node's in-memory copy of every live key, kept in step with
// the store's key feed. Verification reads it and never touches storage,
// except for a key it does not hold while it is still being loaded.
//
// Two sources change it: the feed (events in Seq order, read by the
// follower) and local writes (events this node just committed, applied at
// once so that "the previous key stops working at that instant" holds on the
// node that answered). A local event can run ahead of the feed; tomb
// remembers local revocations until the feed reaches them, so that replaying
// an older KeyIssued from the feed cannot bring a revoked key back.
//
// A load reads the live keys in pages, each as of its own moment, while the
// feed goes on being applied; see beginLoad for why the result is exact.
// A first load (or one after the database went back in time) fills cur
// itself, which is then incomplete: a key it lacks may be in a page not yet
// read. A reload of a complete replica (after a lost notification
// connection) fills next while cur goes on serving, and next replaces cur
// once it is complete.
type replica struct {
	mu       sync.RWMutex
	cur      *table
	seq      int64                 // the feed position: every event <= seq is applied to cur
	complete bool                  // cur holds every live key as of seq
	tomb     map[apikey.Hash]int64 // revoked locally at Seq, feed not there yet

	loading  bool
	next     *table                // a reload's table, nil otherwise
	nextFrom int64                 // next reflects the events after it
	gone     map[apikey.Hash]uint8 // revoked since the load began: pages must not bring them back

	owners ownerCache

	usedMu sync.Mutex
	used   []apikey.Hash // keys whose dirty flag is set
	// pending holds the uses of keys answered while cur was incomplete,
	// by one indexed lookup (Service.lookUp): they have no record yet. The
	// page that adds a key takes its use in; takeUses hands over the rest.
	pending map[apikey.Hash]uint32
}

// maxPendingUses bounds pending: only live keys get there, but a node may
// be asked for many while it loads.
const maxPendingUses = 100_000

func newReplica() *replica {
	return &replica{cur: newTable(0), tomb: map[apikey.Hash]int64{}}
}

// view is what verification reads of a live key.
type view struct {
	owner   *owner
	created time.Time
	before  time.Time // the latest use before this one
}

// use looks h up and, if it is live, returns its view, recording a use at
// now if mark is set. complete reports whether a miss is a verdict (the
// replica holds every live key) or may be a key not loaded yet.
func (r *replica) use(h *apikey.Hash, now time.Time, mark bool) (v view, found, complete bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	rec := r.cur.get(h)
	if rec == nil {
		return view{}, false, r.complete
	}
	if !mark {
		return view{owner: r.owners.get(rec, r.cur)}, true, true
	}
	before := raiseUsed(rec, seconds(now))
	if markDirty(rec) {
		r.usedMu.Lock()
		r.used = append(r.used, *h)
		r.usedMu.Unlock()
	}
	return view{owner: r.owners.get(rec, r.cur), created: fromSeconds(rec.created), before: fromSeconds(before)}, true, true
}

// has reports whether h is live in the replica.
func (r *replica) has(h apikey.Hash) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.cur.get(&h) != nil
}

// lastUsed returns the latest use of h this node knows of, zero if none or
// if h is not live here.
func (r *replica) lastUsed(h apikey.Hash) time.Time {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if rec := r.cur.get(&h); rec != nil {
		return fromSeconds(raiseUsed(rec, 0))
	}
	return time.Time{}
}

// position returns the feed position.
func (r *replica) position() int64 {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.seq
}

// size returns the number of live keys held.
func (r *replica) size() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.cur.n
}

// isComplete reports whether the replica holds every live key.
func (r *replica) isComplete() bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.complete
}

// bytes estimates the memory the replica's tables hold.
func (r *replica) bytes() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	n := r.cur.bytes()
	if r.next != nil {
		n += r.next.bytes()
	}
	return n
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
	r.usedMu.Lock()
	defer r.usedMu.Unlock()
	for i := range events {
		ev := &events[i]
		h := &ev.Key.Hash
		toCur := ev.Seq > r.seq
		toNext := r.next != nil && ev.Seq > r.nextFrom
		switch ev.Kind {
		case store.KeyIssued:
			_, revoked := r.tomb[*h]
			_, gone := r.gone[*h]
			if revoked || gone {
				break
			}
			if toCur {
				rec, _ := r.cur.add(h, func(rec *record) { fill(rec, &ev.Key, &r.cur.arena) })
				r.adopt(rec, h)
			}
			if toNext {
				r.next.add(h, func(rec *record) { fill(rec, &ev.Key, &r.next.arena) })
			}
		case store.KeyRevoked:
			if toCur {
				r.cur.remove(h)
			}
			if toNext {
				r.next.remove(h)
			}
			if r.loading {
				r.gone[*h] = 0
			}
			switch {
			case !toCur:
			case fromFeed:
				delete(r.tomb, *h) // the feed has caught up with it
			default:
				r.tomb[*h] = ev.Seq
			}
		}
		if fromFeed && toCur {
			r.seq = ev.Seq
		}
	}
}

// beginLoad starts a load from the feed position at, read before any page:
// every key is then either in a page (live when that page was read) or
// issued by an event after at, and every key revoked after a page read it
// is revoked by an event after at. So pages plus every event after at,
// applied in order, give exactly the live keys, provided a page never
// brings back a key whose revocation was applied before it (gone). A
// complete replica at or before at keeps serving while the new table is
// built, unless fresh is set; otherwise (nothing loaded yet, a feed pruned
// past this node's position or a database that went back before it) the
// replica starts empty and incomplete.
func (r *replica) beginLoad(at int64, fresh bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.loading = true
	r.gone = map[apikey.Hash]uint8{}
	if !fresh && r.complete && r.seq <= at {
		r.next, r.nextFrom = newTable(r.cur.n), at
		return
	}
	r.cur, r.next, r.seq, r.complete = newTable(0), nil, at, false
	for h, seq := range r.tomb {
		if seq <= at {
			delete(r.tomb, h)
		}
	}
}

// addPage adds a page of live keys read since beginLoad.
func (r *replica) addPage(keys []store.Key) {
	packs := make([]packed, len(keys))
	for i := range keys {
		packs[i] = pack(&keys[i])
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.usedMu.Lock()
	defer r.usedMu.Unlock()
	t := r.next
	if t == nil {
		t = r.cur
	}
	for i := range keys {
		k := &keys[i]
		_, revoked := r.tomb[k.Hash]
		_, gone := r.gone[k.Hash]
		if revoked || gone {
			continue
		}
		rec, _ := t.add(&k.Hash, func(rec *record) { packs[i].fill(rec, &t.arena) })
		raiseUsed(rec, seconds(k.LastUsedAt))
		r.adopt(rec, &k.Hash)
		if t != r.cur {
			// This node's uses may be newer than storage's.
			if old := r.cur.get(&k.Hash); old != nil {
				raiseUsed(rec, raiseUsed(old, 0))
			}
		}
	}
}

// finishLoad ends a load whose pages have all been added and whose events
// have been applied up to at least the position it began at.
func (r *replica) finishLoad() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.next != nil {
		// Uses not flushed yet must survive the swap.
		r.usedMu.Lock()
		for i := range r.used {
			h := &r.used[i]
			if old, rec := r.cur.get(h), r.next.get(h); old != nil && rec != nil {
				raiseUsed(rec, raiseUsed(old, 0))
				markDirty(rec)
			}
		}
		r.usedMu.Unlock()
		r.cur, r.next = r.next, nil
	}
	r.complete, r.loading, r.gone = true, false, nil
}

// takeUses returns the last uses marked since the previous call, clearing
// their marks.
func (r *replica) takeUses() map[apikey.Hash]time.Time {
	r.usedMu.Lock()
	batch, pending := r.used, r.pending
	r.used, r.pending = nil, nil
	r.usedMu.Unlock()
	if len(batch) == 0 && len(pending) == 0 {
		return nil
	}
	uses := make(map[apikey.Hash]time.Time, len(batch)+len(pending))
	for h, used := range pending {
		uses[h] = fromSeconds(used)
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	for i := range batch {
		if rec := r.cur.get(&batch[i]); rec != nil {
			clearDirty(rec) // before reading used: a later use marks it again
			if used := fromSeconds(raiseUsed(rec, 0)); used.After(uses[batch[i]]) {
				uses[batch[i]] = used
			}
		}
	}
	return uses
}

// adopt gives rec, just added for h, the use this node recorded while it
// had no record of h (see usePending). r.usedMu must be held.
func (r *replica) adopt(rec *record, h *apikey.Hash) {
	used, ok := r.pending[*h]
	if !ok || rec == nil {
		return
	}
	delete(r.pending, *h)
	raiseUsed(rec, used)
	if markDirty(rec) {
		r.used = append(r.used, *h)
	}
}

// usePending records a use at now of h, a live key that cur did not hold
// when it was looked for, and returns the previous one this node saw, zero
// if none. A page or an event may have added h since: then its record
// takes the use.
func (r *replica) usePending(h apikey.Hash, now time.Time) time.Time {
	r.mu.RLock()
	defer r.mu.RUnlock()
	r.usedMu.Lock()
	defer r.usedMu.Unlock()
	if rec := r.cur.get(&h); rec != nil {
		before := raiseUsed(rec, seconds(now))
		if markDirty(rec) {
			r.used = append(r.used, h)
		}
		return fromSeconds(before)
	}
	before, ok := r.pending[h]
	if ok || len(r.pending) < maxPendingUses {
		if r.pending == nil {
			r.pending = map[apikey.Hash]uint32{}
		}
		r.pending[h] = max(before, seconds(now))
	}
	return fromSeconds(before)
}

// markUses marks again uses that could not be written.
func (r *replica) markUses(uses map[apikey.Hash]time.Time) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	r.usedMu.Lock()
	defer r.usedMu.Unlock()
	for h, at := range uses {
		rec := r.cur.get(&h)
		switch {
		case rec != nil && markDirty(rec):
			r.used = append(r.used, h)
		case rec == nil && (len(r.pending) < maxPendingUses || r.pending[h] != 0):
			if r.pending == nil {
				r.pending = map[apikey.Hash]uint32{}
			}
			r.pending[h] = max(r.pending[h], seconds(at))
		}
	}
}

// raise sets v to us if that is later than its value.
func raise(v *atomic.Int64, us int64) {
	for {
		old := v.Load()
		if us <= old || v.CompareAndSwap(old, us) {
			return
		}
	}
}
