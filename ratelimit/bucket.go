package ratelimit

import (
	"sync"
	"sync/atomic"
	"time"
)

// Rate is a budget: Burst requests at once, refilled at PerMinute a
// minute.
type Rate struct {
	PerMinute int
	Burst     int
}

// every is the time one token takes to come back.
func (r Rate) every() time.Duration { return time.Minute / time.Duration(max(r.PerMinute, 1)) }

// slack is how far ahead of now a client's theoretical arrival time may be
// and still leave it a token: the rest of its burst.
func (r Rate) slack() time.Duration { return time.Duration(max(r.Burst, 1)-1) * r.every() }

// bucket is a token bucket per client, kept as the generic cell rate
// algorithm keeps it: one time per client (its theoretical arrival time,
// tat), which is "full" whenever it is not after now. A full bucket and a
// missing one are the same, so forgetting clients whose tat has passed
// loses nothing; that is how memory stays bounded. Past maxClients
// clients that are all still paying, it forgets some at random (Go's map
// order), which at worst gives them a fresh budget.
type bucket struct {
	rate       Rate
	maxClients int
	// base is the origin of the times kept: time.Now's monotonic reading
	// makes them immune to the wall clock stepping.
	base time.Time

	mu  sync.Mutex
	tat map[Client]int64 // since base
	n   atomic.Int64     // len(tat), read without the lock
}

func newBucket(r Rate, maxClients int, base time.Time) *bucket {
	return &bucket{rate: r, maxClients: maxClients, base: base, tat: map[Client]int64{}}
}

// since is now as the bucket keeps times.
func (b *bucket) since(now time.Time) int64 { return int64(now.Sub(b.base)) }

// get returns c's tat, with b.mu held. A tat further ahead than any take
// or hold puts it can only come from a clock that stepped back (one
// without a monotonic reading, as tests have): the bucket is taken to be
// full, rather than charging the client for the step.
func (b *bucket) get(c Client, t int64) (tat int64, found bool) {
	tat, found = b.tat[c]
	slack, every := int64(b.rate.slack()), int64(b.rate.every())
	if tat > t+slack+every {
		tat = t
	}
	return tat, found
}

// take takes a token from c's bucket at now if it has one; if not, it
// reports how long until it has one. It also reports how long until the
// bucket has a token again after this take (zero while some are left).
func (b *bucket) take(c Client, now time.Time) (ok bool, wait time.Duration) {
	t, every, slack := b.since(now), int64(b.rate.every()), int64(b.rate.slack())
	b.mu.Lock()
	defer b.mu.Unlock()
	tat, found := b.get(c, t)
	tat = max(tat, t)
	if tat-t > slack {
		return false, time.Duration(tat - slack - t)
	}
	tat += every
	if !found {
		b.makeRoom(t)
	}
	b.tat[c] = tat
	b.n.Store(int64(len(b.tat)))
	return true, time.Duration(max(tat-slack-t, 0))
}

// wait is how long until c's bucket has a token at now: zero if it has one.
// It is the hot path's question, and costs an atomic load while no client
// is paying.
func (b *bucket) wait(c Client, now time.Time) time.Duration {
	if b.n.Load() == 0 {
		return 0
	}
	t := b.since(now)
	b.mu.Lock()
	tat, found := b.get(c, t)
	b.mu.Unlock()
	if !found {
		return 0
	}
	return time.Duration(max(tat-int64(b.rate.slack())-t, 0))
}

// hold empties c's bucket until at least now+d: what another node's
// refusals (the shared budget) say this node did not see.
func (b *bucket) hold(c Client, now time.Time, d time.Duration) {
	t := b.since(now)
	want := t + int64(min(d, b.rate.every())) + int64(b.rate.slack())
	b.mu.Lock()
	defer b.mu.Unlock()
	tat, found := b.get(c, t)
	if found && tat >= want {
		return
	}
	if !found {
		b.makeRoom(t)
	}
	b.tat[c] = want
	b.n.Store(int64(len(b.tat)))
}

// makeRoom, with b.mu held and the map full, forgets every full bucket,
// and if that frees less than a quarter of the room, arbitrary ones until
// it does: so a full scan happens at most once per maxClients/4 new
// clients.
func (b *bucket) makeRoom(now int64) {
	if len(b.tat) < b.maxClients {
		return
	}
	for c, tat := range b.tat {
		if tat <= now {
			delete(b.tat, c)
		}
	}
	for c := range b.tat {
		if len(b.tat) <= b.maxClients*3/4 {
			break
		}
		delete(b.tat, c)
	}
}

// sweep forgets every full bucket: they are the same as missing ones.
func (b *bucket) sweep(now time.Time) {
	t := b.since(now)
	b.mu.Lock()
	defer b.mu.Unlock()
	for c, tat := range b.tat {
		if tat <= t {
			delete(b.tat, c)
		}
	}
	b.n.Store(int64(len(b.tat)))
}
