package ratelimit

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Shared keeps budgets for a whole cluster of nodes: on PostgreSQL,
// store.Store is one (a row per scope and client in an UNLOGGED table).
type Shared interface {
	// TakeToken takes a token from the bucket of scope and client shared by
	// every node, which gets one token every `every` up to burst. It
	// reports whether there was one, and how long until the bucket has one
	// again (zero while some are left).
	TakeToken(ctx context.Context, scope, client string, every time.Duration, burst int) (ok bool, wait time.Duration, err error)
	// SweepTokens forgets the buckets that are full again.
	SweepTokens(ctx context.Context) error
}

// sharedTimeout bounds one call to the shared store; sharedPause is how
// long a node keeps to its own buckets after a call failed, so that an
// outage costs at most one timeout per pause rather than one per request.
const (
	sharedTimeout = 500 * time.Millisecond
	sharedPause   = 5 * time.Second
)

// gate calls a Shared store, and fails open: while the store fails, the
// node keeps to its own buckets (which are exact for its own traffic), and
// says so in the log once per outage.
type gate struct {
	s   Shared // nil: node-local budgets only
	log *slog.Logger
	now func() time.Time

	mu        sync.Mutex
	downUntil time.Time
	down      bool // an outage is in progress (logged once)
}

// take asks the shared bucket of scope and c for a token; used is false if
// it was not asked (no shared store, or one that just failed).
func (g *gate) take(ctx context.Context, scope string, c Client, r Rate) (ok bool, wait time.Duration, used bool) {
	if g.s == nil {
		return true, 0, false
	}
	g.mu.Lock()
	paused := g.now().Before(g.downUntil)
	g.mu.Unlock()
	if paused {
		return true, 0, false
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), sharedTimeout)
	defer cancel()
	ok, wait, err := g.s.TakeToken(ctx, scope, c.String(), r.every(), max(r.Burst, 1))
	g.mu.Lock()
	defer g.mu.Unlock()
	if err != nil {
		g.downUntil = g.now().Add(sharedPause)
		if !g.down {
			g.down = true
			g.log.Warn("shared rate limits unavailable: each node keeps its own until they are back", "err", err)
		}
		return true, 0, false
	}
	if g.down {
		g.down = false
		g.log.Info("shared rate limits available again")
	}
	return ok, wait, true
}
