// Package keys is the API-key service: it answers "is this key valid, and
// whose is it?" and performs every change that alters the answer (creating
// an account with its first key, rotation, revocation). Verification reads
// an in-memory replica of every live key, kept in step with the store's key
// feed by a follower, so the hot path never touches storage. The service
// also writes back when keys were last used and prunes the feed's old
// events. The server and the operator CLI use the same Service: the CLI
// simply never loads the replica nor runs it.
package keys

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/espresso-auth/espresso"
	"github.com/espresso-auth/espresso/apikey"
	"github.com/espresso-auth/espresso/internal/clock"
	"github.com/espresso-auth/espresso/store"
)

// Store is what the service needs from storage; every storage backend
// provides it. Its methods keep the meaning and errors documented in
// package store.
type Store interface {
	CreateAccount(ctx context.Context, wallet string, first *store.NewKey) (store.Account, []store.Event, error)
	RotateKey(ctx context.Context, accountID string, current *apikey.Hash, next store.NewKey) (store.Key, []store.Event, error)
	RevokeKey(ctx context.Context, accountID string, current *apikey.Hash) (store.Key, []store.Event, error)
	LiveKey(ctx context.Context, accountID string) (store.Key, error)
	LiveKeyByHash(ctx context.Context, h apikey.Hash) (store.Key, error)
	FeedHead(ctx context.Context) (int64, error)
	LiveKeys(ctx context.Context, afterAccount string, limit int) ([]store.Key, error)
	Events(ctx context.Context, after int64, limit int) ([]store.Event, error)
	PruneEvents(ctx context.Context, before time.Time) (int64, error)
	RecordUse(ctx context.Context, uses map[apikey.Hash]time.Time) error
	Ping(ctx context.Context) error
}

// watcher is implemented by stores that push change notifications (see
// store.Watcher). A store without it, or whose Watch returns at once, is
// polled.
type watcher interface {
	Watch(ctx context.Context, notify func(missed bool))
}

// Options configure a Service. Zero values take the documented defaults.
type Options struct {
	Env    apikey.Env   // the environment keys are issued and accepted in; default Live
	Clock  clock.Clock  // default the system clock
	Logger *slog.Logger // default slog.Default()
	// PollInterval is how often the replica reads the key feed even without
	// a notification: the staleness bound when the store is reachable but a
	// notification is lost, and, for stores without notifications, how soon
	// another process's change is seen. Default 100 ms.
	PollInterval time.Duration
	// MaxStaleness is how long a node that cannot read the key feed goes on
	// accepting keys from its replica; after that, verification fails with
	// ErrStale rather than risk accepting a key revoked elsewhere. Default
	// 30 s.
	MaxStaleness time.Duration
	// FlushInterval is how often last-use times are written to storage.
	// Default 5 s.
	FlushInterval time.Duration
	// EventRetention is how long key events are kept for replicas that fall
	// behind; older ones are pruned (a replica further behind reloads a
	// snapshot). Default 24 h.
	EventRetention time.Duration
	// PruneInterval is how often old events are pruned. Default 1 h.
	PruneInterval time.Duration
	// LoadPage is how many live keys one read of a load asks for: each
	// read is one bounded call to the store. Default 10,000.
	LoadPage int
	// Loaded, if set, is called each time a load of the replica completes
	// (the first, and every reload), from the goroutine that reads the
	// feed: it must return at once. The load's pages, and after a reload
	// the replaced table, are garbage then; the server uses it to give
	// that memory back.
	Loaded func()
}

func (o *Options) defaults() {
	if o.Env == 0 {
		o.Env = apikey.Live
	}
	if o.Clock == nil {
		o.Clock = clock.Real()
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 100 * time.Millisecond
	}
	if o.MaxStaleness <= 0 {
		o.MaxStaleness = 30 * time.Second
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = 5 * time.Second
	}
	if o.EventRetention <= 0 {
		o.EventRetention = 24 * time.Hour
	}
	if o.PruneInterval <= 0 {
		o.PruneInterval = time.Hour
	}
	if o.LoadPage <= 0 {
		o.LoadPage = 10_000
	}
}

// Service verifies, issues, rotates and revokes API keys.
type Service struct {
	st   Store
	opts Options
	rep  *replica
	feed *follower
}

// ErrStale is returned while the replica cannot be trusted: it has not
// been loaded yet, or the key feed has been unreadable for longer than
// Options.MaxStaleness, so it may be missing revocations.
var ErrStale = espresso.E(espresso.Unavailable, "keys: key replica too stale to trust")

// errStopped answers a catch-up once the follower has stopped: nobody will
// read the feed any more.
var errStopped = espresso.E(espresso.Unavailable, "keys: the key feed follower has stopped")

// New returns a Service over st. It does no I/O: the lifecycle methods
// work at once (the operator CLI needs nothing else), while verification
// needs the replica, which Load fills and Run keeps in step.
func New(st Store, opts Options) *Service {
	opts.defaults()
	rep := newReplica()
	feed := newFollower(st, rep, opts.Clock, opts.Logger, opts.PollInterval, opts.LoadPage)
	feed.loaded = opts.Loaded
	return &Service{st: st, opts: opts, rep: rep, feed: feed}
}

// Listener is told of the feed's events by the follower that keeps the
// key replica, so that one reader of the feed serves both: sessions
// (package sessions) follow it this way.
type Listener interface {
	// Apply is given every page of events read from the feed, in order,
	// after the replica has applied it; it ignores key events.
	Apply(events []store.Event)
	// Reload replaces the listener's state from storage. It is called
	// when a load of the keys starts, after the feed's head is read and
	// before the feed is read from the replica's position (the head or
	// before it), and its error fails the load.
	Reload(ctx context.Context) error
}

// Follow makes the follower hand l every event it reads and have l reload
// with every load. Call it once, before Load and Run.
func (s *Service) Follow(l Listener) { s.feed.others = l }

// CatchUp returns once every event committed before the call has been
// applied (to the replica and to the Listener), or with the error that
// prevented it: for a Listener that finds something unknown, as Verify does
// for an unknown key.
func (s *Service) CatchUp(ctx context.Context) error { return s.feed.catchUp(ctx) }

// Fresh returns ErrStale while the replica (and what the Listener was
// given) cannot be trusted: see Options.MaxStaleness.
func (s *Service) Fresh() error { return s.fresh() }

// Load starts loading the replica: one read of the key feed's head, after
// which Verify answers at once, from the replica for the keys loaded so far
// and with one indexed read of storage for the others, while Run reads the
// live keys in pages (Options.LoadPage per call) and follows the feed. A
// server calls it before it listens; otherwise Run starts the load. Until
// one of them has, Verify and Ready answer ErrStale.
func (s *Service) Load(ctx context.Context) error { return s.feed.loadNow(ctx) }

// LoadAll loads the whole replica before it returns: Load, then every page
// and the feed, for callers that want every key in memory before they go
// on (benchmarks, tests). Its calls are bounded one by one, not as a
// whole.
func (s *Service) LoadAll(ctx context.Context) error {
	if err := s.Load(ctx); err != nil {
		return err
	}
	for !s.rep.isComplete() {
		if err := s.feed.pull(ctx); err != nil {
			return err
		}
	}
	return nil
}

// Run follows the key feed, flushes last-use times and prunes old events
// until ctx ends; then it flushes once more and returns, after every
// goroutine it started has ended. Call it once.
func (s *Service) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() { s.feed.run(ctx) })
	wg.Go(func() { clock.Every(ctx, s.opts.Clock, s.opts.FlushInterval, s.flushUsage) })
	wg.Go(func() { clock.Every(ctx, s.opts.Clock, s.opts.PruneInterval, s.pruneEvents) })
	wg.Wait()
	final, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	s.flushUsage(final)
}

// Ready reports whether the store answers and the replica is fresh: nil,
// the store's error, or ErrStale.
func (s *Service) Ready(ctx context.Context) error {
	if err := s.st.Ping(ctx); err != nil {
		return err
	}
	return s.fresh()
}

func (s *Service) fresh() error {
	if s.opts.Clock.Now().Sub(s.feed.lastSync()) > s.opts.MaxStaleness {
		return ErrStale
	}
	return nil
}

// Stats describe a Service's replica, for monitoring.
type Stats struct {
	Keys          int       // live keys in the replica
	Seq           int64     // the feed position: every event up to it is applied
	LastSync      time.Time // when the replica was last known to match the store (the Unix epoch: never)
	Notifications uint64    // change notifications received from the store
	Loaded        bool      // the replica holds every live key (false while a first load reads its pages)
	Loads         uint64    // loads completed: the first, and one after each lost notification connection, pruned or rewound feed
	Bytes         int       // memory held by the replica's tables, about 100 bytes per key
}

// Stats returns the replica's current Stats. It takes the replica's read
// lock briefly; it is meant for a metrics scrape, not the hot path.
func (s *Service) Stats() Stats {
	return Stats{Keys: s.rep.size(), Seq: s.rep.position(), LastSync: s.feed.lastSync(),
		Notifications: s.feed.heard.Load(), Loaded: s.rep.isComplete(), Loads: s.feed.loads.Load(), Bytes: s.rep.bytes()}
}

// pruneEvents drops the events older than the retention: a replica that
// far behind reloads a snapshot instead.
func (s *Service) pruneEvents(ctx context.Context) {
	if _, err := s.st.PruneEvents(ctx, s.opts.Clock.Now().Add(-s.opts.EventRetention)); err != nil {
		s.opts.Logger.Warn("pruning key events failed", "err", err)
	}
}
