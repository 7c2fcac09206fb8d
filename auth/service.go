// Package auth answers "is this key valid, and whose is it?" and performs the
// changes that alter the answer: rotation and revocation. Verification reads
// an in-memory replica of every live key (see replica) kept in step with the
// store's key feed, so the hot path never touches storage.
package auth

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/espresso-auth/espresso"
	"github.com/espresso-auth/espresso/apikey"
	"github.com/espresso-auth/espresso/store"
)

// Options configure a Service. Zero values take the documented defaults.
type Options struct {
	Env    apikey.Env       // the environment keys are issued and accepted in; default Live
	Now    func() time.Time // default time.Now
	Logger *slog.Logger     // default slog.Default()
	// PollInterval is how often the replica reads the key feed even without
	// a notification: the staleness bound when the store is reachable but a
	// notification is lost, and, for stores without notifications, how soon
	// another process's change is seen. Default 100 ms.
	PollInterval time.Duration
	// MaxStaleness is how long a node that cannot read the key feed goes on
	// accepting keys from its replica; after that, verification fails with
	// espresso.Unavailable rather than risk accepting a key revoked
	// elsewhere. Default 30 s.
	MaxStaleness time.Duration
	// FlushInterval is how often last-use times are written to storage.
	// Default 5 s.
	FlushInterval time.Duration
	// EventRetention is how long key events are kept for replicas that fall
	// behind; older ones are pruned (a replica further behind reloads a
	// snapshot). Default 24 h.
	EventRetention time.Duration
}

func (o *Options) defaults() {
	if o.Env == 0 {
		o.Env = apikey.Live
	}
	if o.Now == nil {
		o.Now = time.Now
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
}

// Service verifies, rotates and revokes API keys.
type Service struct {
	st   *store.Store
	opts Options
	rep  *replica
	feed *follower

	usedMu sync.Mutex
	used   []*entry // entries whose dirty flag is set
}

// ErrUnauthorized is returned for a missing, malformed, unknown or revoked
// credential.
var ErrUnauthorized = espresso.E(espresso.Unauthorized, "auth: unauthorized")

// ErrStale is returned while the replica may be missing revocations: the key
// feed has been unreadable for longer than Options.MaxStaleness.
var ErrStale = espresso.E(espresso.Unavailable, "auth: key replica too stale to trust")

// New returns a Service over st with its replica loaded from a snapshot. The
// replica follows the feed only while Run runs.
func New(ctx context.Context, st *store.Store, opts Options) (*Service, error) {
	opts.defaults()
	rep := newReplica()
	s := &Service{st: st, opts: opts, rep: rep,
		feed: newFollower(st, rep, opts.Now, opts.Logger, opts.PollInterval)}
	if err := s.feed.load(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Env returns the environment of the keys this service issues and accepts.
func (s *Service) Env() apikey.Env { return s.opts.Env }

// Run follows the key feed, flushes last-use times and prunes old events and
// nonces until ctx ends; then it flushes once more and returns.
func (s *Service) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() { s.feed.run(ctx) })
	wg.Go(func() { s.every(ctx, s.opts.FlushInterval, s.flushUsage) })
	wg.Go(func() { s.every(ctx, time.Hour, s.prune) })
	wg.Wait()
	final, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	s.flushUsage(final)
}

func (s *Service) every(ctx context.Context, d time.Duration, f func(context.Context)) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			f(ctx)
		}
	}
}

// Ready reports whether the store answers and the replica is fresh.
func (s *Service) Ready(ctx context.Context) error {
	if err := s.st.Ping(ctx); err != nil {
		return err
	}
	return s.fresh()
}

func (s *Service) fresh() error {
	if s.opts.Now().Sub(s.feed.lastSync()) > s.opts.MaxStaleness {
		return ErrStale
	}
	return nil
}

func (s *Service) prune(ctx context.Context) {
	now := s.opts.Now()
	if _, err := s.st.PruneEvents(ctx, now.Add(-s.opts.EventRetention)); err != nil {
		s.opts.Logger.Warn("pruning key events failed", "err", err)
	}
	if _, err := s.st.PruneNonces(ctx, now); err != nil {
		s.opts.Logger.Warn("pruning sign-in nonces failed", "err", err)
	}
}
