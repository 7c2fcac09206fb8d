package keys

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/espresso-auth/espresso"
	"github.com/espresso-auth/espresso/internal/clock"
	"github.com/espresso-auth/espresso/store"
)

// feedPage is how many events one Events call asks for.
const feedPage = 1000

// feed is the part of the store the follower reads.
type feed interface {
	Snapshot(ctx context.Context) (keys []store.Key, seq int64, err error)
	Events(ctx context.Context, after int64, limit int) ([]store.Event, error)
}

// follower keeps a replica in step with the store's key feed. One goroutine
// (run) does every pull, so pulls never overlap; others ask for one with
// catchUp and are answered by the next pull that starts after they asked.
type follower struct {
	feed   feed
	rep    *replica
	others Listener // set before Load and Run (Service.Follow); nil: none
	clock  clock.Clock
	log    *slog.Logger
	every  time.Duration // poll interval, the bound when notifications fail silently
	wake   chan struct{} // capacity 1: a pull is wanted
	resync atomic.Bool   // the next pull starts from a snapshot
	synced atomic.Int64  // unix µs of the start of the last pull that reached the store's head
	down   atomic.Bool   // the last pull failed (logged once per outage)
	heard  atomic.Uint64 // notifications received from the store
	pullMu sync.Mutex    // held by a pull or a load: they never overlap

	mu      sync.Mutex
	waiters []chan error    // catchUp callers waiting for the next pull
	quit    <-chan struct{} // run's ctx.Done(), once run has started
	stopped bool            // run has ended: nobody will answer a catchUp
}

func newFollower(f feed, rep *replica, c clock.Clock, log *slog.Logger, every time.Duration) *follower {
	fl := &follower{feed: f, rep: rep, clock: c, log: log, every: every, wake: make(chan struct{}, 1)}
	fl.resync.Store(true) // nothing loaded yet: the first pull takes a snapshot
	return fl
}

// loadNow fills the replica from a snapshot, whatever else is running.
func (f *follower) loadNow(ctx context.Context) error {
	f.pullMu.Lock()
	defer f.pullMu.Unlock()
	// Cleared before the snapshot is read: a resync asked for while it is
	// read may predate it, and must not be lost.
	f.resync.Store(false)
	if err := f.load(ctx); err != nil {
		f.resync.Store(true)
		return err
	}
	return nil
}

// load fills the replica from a snapshot; pullMu is held.
func (f *follower) load(ctx context.Context) error {
	started := f.clock.Now()
	keys, seq, err := f.feed.Snapshot(ctx)
	if err != nil {
		return err
	}
	f.rep.reset(keys, seq)
	if f.others != nil {
		// Read after the keys' snapshot, so no older: the feed, read
		// from seq, replays whatever happened in between.
		if err := f.others.Reload(ctx); err != nil {
			return err
		}
	}
	raise(&f.synced, started.UnixMicro())
	return nil
}

// lastSync returns when the replica was last known to match the store (the
// Unix epoch before the first load).
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
// the replica reflects every change committed before the call. Once run's
// context has ended it returns errStopped at once, even while a pull hangs.
func (f *follower) catchUp(ctx context.Context) error {
	done := make(chan error, 1)
	f.mu.Lock()
	if f.stopped {
		f.mu.Unlock()
		return errStopped
	}
	f.waiters = append(f.waiters, done)
	quit := f.quit
	f.mu.Unlock()
	f.poke(false)
	select {
	case err := <-done:
		return err
	case <-quit:
		return errStopped
	case <-ctx.Done():
		return ctx.Err()
	}
}

// run pulls at once, then on every tick, poke and store notification until
// ctx ends. It returns after the store's Watch, which it starts, has
// returned, and after every waiting catchUp has been answered.
func (f *follower) run(ctx context.Context) {
	f.mu.Lock()
	f.quit = ctx.Done()
	f.mu.Unlock()
	var wg sync.WaitGroup
	defer wg.Wait()
	defer f.stop()
	if w, ok := f.feed.(watcher); ok {
		wg.Go(func() {
			// The first "missed" only means the watcher has started: the
			// replica is (or is being) loaded from a snapshot that is no
			// older, and a pull brings it up to date. Later ones follow a
			// lost connection: revalidate from a snapshot.
			started := false
			w.Watch(ctx, func(missed bool) {
				f.heard.Add(1)
				f.poke(missed && started)
				started = true
			})
		})
	}
	tick := f.clock.NewTicker(f.every)
	defer tick.Stop()
	f.poke(false) // the first pull loads the snapshot if Load has not
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C():
		case <-f.wake:
		}
		if ctx.Err() != nil {
			return
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

// stop answers every waiter with errStopped and refuses later ones.
func (f *follower) stop() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stopped = true
	for _, w := range f.waiters {
		w <- errStopped
	}
	f.waiters = nil
}

// pull reads the feed from the replica's position to the store's head,
// starting again from a snapshot when asked to or when the feed was pruned
// past the position.
func (f *follower) pull(ctx context.Context) error {
	f.pullMu.Lock()
	defer f.pullMu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return f.pullLocked(ctx)
}

func (f *follower) pullLocked(ctx context.Context) error {
	started := f.clock.Now()
	if f.resync.Swap(false) {
		if err := f.load(ctx); err != nil {
			f.resync.Store(true)
			return f.failed(ctx, err)
		}
		f.recovered()
		f.log.Info("key replica loaded from a snapshot", "keys", f.rep.size(), "seq", f.rep.position())
		return nil
	}
	for {
		events, err := f.feed.Events(ctx, f.rep.position(), feedPage)
		if errors.Is(err, store.ErrFeedTruncated) {
			f.resync.Store(true)
			return f.pullLocked(ctx)
		}
		if err != nil {
			return f.failed(ctx, err)
		}
		f.rep.applyFeed(events)
		if f.others != nil {
			f.others.Apply(events)
		}
		if len(events) < feedPage {
			raise(&f.synced, started.UnixMicro())
			f.recovered()
			return nil
		}
	}
}

// failed logs the first failure of an outage, and every failure that is
// not a dependency being unavailable; a pull cut short by shutdown is no
// failure.
func (f *follower) failed(ctx context.Context, err error) error {
	switch {
	case errors.Is(ctx.Err(), context.Canceled):
		return err
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
