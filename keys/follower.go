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
	FeedHead(ctx context.Context) (int64, error)
	LiveKeys(ctx context.Context, afterAccount string, limit int) ([]store.Key, error)
	Events(ctx context.Context, after int64, limit int) ([]store.Event, error)
}

// marker is implemented by stores that can tell, without reading the feed,
// that nothing has been committed since an earlier mark (see
// store.Store.FeedMark).
type marker interface {
	FeedMark(ctx context.Context, sync bool) (mark uint64, ok bool)
}

// follower keeps a replica in step with the store's key feed. One goroutine
// (run) does every pull, so pulls never overlap; others ask for one with
// catchUp and are answered by the next pull that starts after they asked.
// A (re)load of the replica is spread over pulls: each reads one page of
// live keys and then the feed, so that the replica never falls behind the
// feed while it loads.
type follower struct {
	feed   feed
	rep    *replica
	others Listener // set before Load and Run (Service.Follow); nil: none
	clock  clock.Clock
	log    *slog.Logger
	every  time.Duration // poll interval, the bound when notifications fail silently
	page   int           // live keys per page of a load
	wake   chan struct{} // capacity 1: a pull is wanted
	resync atomic.Bool   // the next pull starts a load
	synced atomic.Int64  // unix µs of the start of the last pull that reached the store's head
	down   atomic.Bool   // the last pull failed (logged once per outage)
	heard  atomic.Uint64 // notifications received from the store
	mark   atomic.Uint64 // the store's feed mark at the start of a pull that reached the head
	marked atomic.Bool   // mark is set
	loads  atomic.Uint64 // loads completed
	loaded func()        // Options.Loaded, or nil
	pullMu sync.Mutex    // held by a pull or a load: they never overlap

	// The load in progress, if any; pullMu guards them.
	loading bool
	cursor  string // the last account id read
	began   time.Time

	mu      sync.Mutex
	waiters []chan error    // catchUp callers waiting for the next pull
	quit    <-chan struct{} // run's ctx.Done(), once run has started
	stopped bool            // run has ended: nobody will answer a catchUp
}

func newFollower(f feed, rep *replica, c clock.Clock, log *slog.Logger, every time.Duration, page int) *follower {
	fl := &follower{feed: f, rep: rep, clock: c, log: log, every: every, page: page, wake: make(chan struct{}, 1)}
	fl.resync.Store(true) // nothing loaded yet: the first pull starts a load
	return fl
}

// loadNow starts loading the replica, whatever else is running: one read
// of the feed's head, after which the replica answers (a key not loaded
// yet with one indexed read) while run reads the pages.
func (f *follower) loadNow(ctx context.Context) error {
	f.pullMu.Lock()
	defer f.pullMu.Unlock()
	// Cleared before the head is read: a resync asked for while it is
	// read may predate it, and must not be lost.
	f.resync.Store(false)
	if err := f.begin(ctx, true); err != nil {
		f.resync.Store(true)
		return err
	}
	return nil
}

// begin starts a load at the feed's head; pullMu is held. Unless fresh, a
// complete replica goes on serving while the load builds its successor. A
// replica that starts afresh (see replica.beginLoad) is in step with the
// store at once: what it holds comes from pages and events read from now
// on, and a key it lacks is looked up in storage.
func (f *follower) begin(ctx context.Context, fresh bool) error {
	started := f.clock.Now()
	head, err := f.feed.FeedHead(ctx)
	if err != nil {
		return err
	}
	if f.others != nil {
		// Read after the feed's head, so no older: the feed, read from
		// the replica's position (the head, or before it), replays
		// whatever happened in between.
		if err := f.others.Reload(ctx); err != nil {
			return err
		}
	}
	if head < f.rep.position() {
		f.log.Warn("the key feed is behind this node's replica (was the database restored?): reloading from scratch",
			"feed_head", head, "replica_seq", f.rep.position())
	}
	f.rep.beginLoad(head, fresh)
	f.loading, f.cursor, f.began = true, "", started
	if !f.rep.isComplete() {
		raise(&f.synced, started.UnixMicro())
	}
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
			// replica is (or is being) loaded from a feed head that is no
			// older, and a pull brings it up to date. Later ones follow a
			// lost connection: reload, the replica serving meanwhile.
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
	f.poke(false) // the first pull starts the load if Load has not
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

// pull reads a page of live keys if a load is in progress, then the feed
// from the replica's position to the store's head, starting a load first
// when asked to, when the feed was pruned past the position or when it is
// behind it (a database restored to an earlier state).
func (f *follower) pull(ctx context.Context) error {
	f.pullMu.Lock()
	defer f.pullMu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return f.pullLocked(ctx)
}

func (f *follower) pullLocked(ctx context.Context) error {
	started := f.clock.Now()
	m, marked := f.feedMark(ctx, false)
	if f.resync.Swap(false) {
		if err := f.begin(ctx, false); err != nil {
			f.resync.Store(true)
			return f.failed(ctx, err)
		}
	}
	lastPage := false
	if f.loading {
		keys, err := f.feed.LiveKeys(ctx, f.cursor, f.page)
		if err != nil {
			return f.failed(ctx, err)
		}
		f.rep.addPage(keys)
		if len(keys) > 0 {
			f.cursor = keys[len(keys)-1].AccountID
		}
		lastPage = len(keys) < f.page
	}
	for {
		events, err := f.feed.Events(ctx, f.rep.position(), feedPage)
		if errors.Is(err, store.ErrFeedTruncated) || errors.Is(err, store.ErrFeedRewound) {
			// The replica cannot be brought up to date from the feed: it
			// starts again, empty, at the feed's head.
			if err := f.begin(ctx, true); err != nil {
				f.resync.Store(true)
				return f.failed(ctx, err)
			}
			lastPage = false
			continue
		}
		if err != nil {
			return f.failed(ctx, err)
		}
		f.rep.applyFeed(events)
		if f.others != nil {
			f.others.Apply(events)
		}
		if len(events) == feedPage {
			continue
		}
		if lastPage {
			f.rep.finishLoad()
			f.loading = false
			f.loads.Add(1)
			f.log.Info("key replica loaded", "keys", f.rep.size(), "seq", f.rep.position(),
				"took", f.clock.Now().Sub(f.began).String())
			if f.loaded != nil {
				f.loaded()
			}
		}
		raise(&f.synced, started.UnixMicro())
		if marked {
			f.mark.Store(m)
			f.marked.Store(true)
		}
		f.recovered()
		if f.loading {
			f.poke(false) // the next page at once
		}
		return nil
	}
}

// feedMark returns the store's feed mark, if it has one.
func (f *follower) feedMark(ctx context.Context, sync bool) (uint64, bool) {
	if m, ok := f.feed.(marker); ok {
		return m.FeedMark(ctx, sync)
	}
	return 0, false
}

// unchanged reports whether the store says that nothing was committed
// since the start of a pull that reached the feed's head, so that a key
// missing from a complete replica is unknown without reading the feed.
func (f *follower) unchanged(ctx context.Context) bool {
	if !f.marked.Load() {
		return false
	}
	m, ok := f.feedMark(ctx, true)
	return ok && m == f.mark.Load()
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
