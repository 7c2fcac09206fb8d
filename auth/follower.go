package auth

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/espresso-auth/espresso"
	"github.com/espresso-auth/espresso/store"
)

// feedPage is how many events one Events call asks for.
const feedPage = 1000

// follower keeps a replica in step with the store's key feed. One goroutine
// (run) does every pull, so pulls never overlap; others ask for one with
// catchUp and are answered by the next pull that starts after they asked.
type follower struct {
	st      *store.Store
	rep     *replica
	now     func() time.Time
	log     *slog.Logger
	every   time.Duration // poll interval, the bound when notifications fail silently
	wake    chan struct{} // capacity 1: a pull is wanted
	resync  atomic.Bool   // the next pull starts from a snapshot
	synced  atomic.Int64  // unix µs of the start of the last pull that reached the store's head
	down    atomic.Bool   // the last pull failed (logged once per outage)
	mu      sync.Mutex
	waiters []chan error // catchUp callers waiting for the next pull
}

func newFollower(st *store.Store, rep *replica, now func() time.Time, log *slog.Logger, every time.Duration) *follower {
	return &follower{st: st, rep: rep, now: now, log: log, every: every, wake: make(chan struct{}, 1)}
}

// load fills the replica from a snapshot; New calls it before serving.
func (f *follower) load(ctx context.Context) error {
	started := f.now()
	keys, seq, err := f.st.Snapshot(ctx)
	if err != nil {
		return err
	}
	f.rep.reset(keys, seq)
	raise(&f.synced, started.UnixMicro())
	return nil
}

// lastSync returns when the replica was last known to match the store.
func (f *follower) lastSync() time.Time { return time.UnixMicro(f.synced.Load()) }

// poke asks for a pull without waiting for it.
func (f *follower) poke(resync bool) {
	if resync {
		f.resync.Store(true)
	}
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// catchUp waits for a pull that starts after it is called, so that on return
// the replica reflects every change committed before the call.
func (f *follower) catchUp(ctx context.Context) error {
	done := make(chan error, 1)
	f.mu.Lock()
	f.waiters = append(f.waiters, done)
	f.mu.Unlock()
	f.poke(false)
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// run pulls on every tick, poke and store notification until ctx ends.
func (f *follower) run(ctx context.Context) {
	// The first "missed" only means the watcher has started: the snapshot
	// New loaded is fresh, and a pull brings it up to date. Later ones
	// follow a lost connection: revalidate from a snapshot. (On a store
	// that does not push changes, Watch returns at once.)
	started := false
	go f.st.Watch(ctx, func(missed bool) {
		f.poke(missed && started)
		started = true
	})
	tick := time.NewTicker(f.every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			f.release(ctx.Err())
			return
		case <-tick.C:
		case <-f.wake:
		}
		f.mu.Lock()
		waiting := f.waiters
		f.waiters = nil
		f.mu.Unlock()
		err := f.pull(ctx)
		for _, w := range waiting {
			w <- err
		}
	}
}

func (f *follower) release(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, w := range f.waiters {
		w <- err
	}
	f.waiters = nil
}

// pull reads the feed from the replica's position to the store's head,
// starting again from a snapshot when asked to or when the feed was pruned
// past the position.
func (f *follower) pull(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	started := f.now()
	if f.resync.Swap(false) {
		if err := f.load(ctx); err != nil {
			f.resync.Store(true)
			return f.failed(err)
		}
		f.recovered()
		f.log.Info("key replica revalidated from a snapshot", "keys", f.rep.size(), "seq", f.rep.position())
		return nil
	}
	for {
		events, err := f.st.Events(ctx, f.rep.position(), feedPage)
		if errors.Is(err, store.ErrFeedTruncated) {
			f.resync.Store(true)
			return f.pull(ctx)
		}
		if err != nil {
			return f.failed(err)
		}
		f.rep.applyFeed(events)
		if len(events) < feedPage {
			raise(&f.synced, started.UnixMicro())
			f.recovered()
			return nil
		}
	}
}

// failed logs the first failure of an outage, and every failure that is
// not a dependency being unavailable.
func (f *follower) failed(err error) error {
	switch {
	case espresso.KindOf(err) != espresso.Unavailable:
		f.log.Error("key feed pull failed", "err", err)
	case !f.down.Swap(true):
		f.log.Warn("key feed unreachable: serving keys from the replica", "err", err, "last_sync", f.lastSync())
	}
	f.down.Store(true)
	return err
}

func (f *follower) recovered() {
	if f.down.Swap(false) {
		f.log.Info("key feed reachable again", "seq", f.rep.position())
	}
}
