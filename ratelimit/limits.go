// Package ratelimit keeps the server's request budgets per client (an
// IPv4 address or an IPv6 /64, as seen after the trusted proxies): the
// sign-in and challenge budgets, and the budget of failed credentials,
// past which a client is refused before any lookup. Each node keeps a
// token bucket per client in memory, exact for its own traffic; with a
// Shared store (PostgreSQL), every counted request also takes a token from
// the cluster's bucket, so a client gets the budget once, not once per
// node. Failed credentials are also logged in aggregate (Tally), one line
// per client per interval.
package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/espresso-auth/espresso"
)

// MaxClients bounds the clients each budget and the failure log remember.
const MaxClients = 100_000

// Refused is the error of a request over its budget: espresso.ErrRateLimited,
// with how long to wait.
type Refused struct{ Wait time.Duration }

func (e *Refused) Error() string {
	return fmt.Sprintf("rate limited for %s", e.Wait.Round(time.Millisecond))
}

// Is makes a Refused an espresso.ErrRateLimited.
func (e *Refused) Is(target error) bool { return target == espresso.ErrRateLimited }

// RetryAfter is Wait in whole seconds, at least one: a Retry-After value.
func (e *Refused) RetryAfter() int64 {
	return max(int64((e.Wait+time.Second-1)/time.Second), 1)
}

// Config configures Limits. Zero rates are the defaults.
type Config struct {
	SignIn   Rate // challenges, and separately sign-ins; default 30 a minute, burst 30
	Failures Rate // failed credentials; default 20 a minute, burst 20
	// Shared, if not nil, holds the budgets for the whole cluster.
	Shared Shared
	Logger *slog.Logger
	// LogInterval is the failure log's interval; default 10 s.
	LogInterval time.Duration
	// Delay is the longest a refusal for a spent budget is held before it
	// is answered (see Limits.Hold); zero: no delay.
	Delay time.Duration
	Now   func() time.Time // default time.Now
}

// Limits are every budget a server keeps. Run writes the failure log and
// sweeps the shared store; without Run the budgets hold all the same.
type Limits struct {
	Challenge, SignIn *Limiter
	Failures          *Throttle
	Log               *Tally
	shared            Shared
	now               func() time.Time
	delay             time.Duration
	held              atomic.Int64 // refusals being held now
}

// MaxHeld bounds the refusals held at once (each holds a goroutine and a
// connection); past it, refusals are answered at once.
const MaxHeld = 1024

// New returns the budgets of cfg.
func New(cfg Config) *Limits {
	if cfg.SignIn.PerMinute <= 0 {
		cfg.SignIn = Rate{30, 30}
	}
	if cfg.Failures.PerMinute <= 0 {
		cfg.Failures = Rate{20, 20}
	}
	cfg.SignIn.Burst = max(cfg.SignIn.Burst, 1)
	cfg.Failures.Burst = max(cfg.Failures.Burst, 1)
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.LogInterval <= 0 {
		cfg.LogInterval = 10 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	g := &gate{s: cfg.Shared, log: cfg.Logger, now: cfg.Now}
	limiter := func(scope string, r Rate) *Limiter {
		return &Limiter{scope: scope, rate: r, local: newBucket(r, MaxClients, cfg.Now()), shared: g, now: cfg.Now}
	}
	return &Limits{
		Challenge: limiter("challenge", cfg.SignIn),
		SignIn:    limiter("signin", cfg.SignIn),
		Failures:  &Throttle{l: limiter("credentials", cfg.Failures)},
		Log:       newTally(cfg.Logger, cfg.LogInterval, MaxClients),
		shared:    cfg.Shared,
		now:       cfg.Now,
		delay:     max(cfg.Delay, 0),
	}
}

// Hold waits before a request refused for its spent budget (err, a
// *Refused) is answered: as long as the budget asks to wait, at most the
// configured delay, or until ctx ends. A flood of refused requests then
// comes at most one per connection per delay, instead of as fast as the
// server answers, so it takes little of the machine from other clients. It
// returns at once for any other error, with no delay configured, or while
// MaxHeld refusals are already held.
func (l *Limits) Hold(ctx context.Context, err error) {
	var refused *Refused
	if l.delay <= 0 || !errors.As(err, &refused) {
		return
	}
	if l.held.Add(1) > MaxHeld {
		l.held.Add(-1)
		return
	}
	defer l.held.Add(-1)
	t := time.NewTimer(min(refused.Wait, l.delay))
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// Run writes the failure log every interval, and forgets full buckets,
// until ctx ends; then it writes the last interval's lines and returns.
func (l *Limits) Run(ctx context.Context) {
	t := time.NewTicker(l.Log.interval)
	defer t.Stop()
	sweepEvery := max(int(time.Minute/l.Log.interval), 1) // intervals: about a minute
	for n := 1; ; n++ {
		select {
		case <-ctx.Done():
			l.Log.flush()
			return
		case <-t.C:
		}
		l.Log.flush()
		if n%sweepEvery == 0 {
			now := l.now()
			for _, b := range []*bucket{l.Challenge.local, l.SignIn.local, l.Failures.l.local} {
				b.sweep(now)
			}
			if l.shared != nil {
				sctx, cancel := context.WithTimeout(ctx, sharedTimeout)
				_ = l.shared.SweepTokens(sctx) // failing is harmless: the rows are reused
				cancel()
			}
		}
	}
}

// Limiter is one budget: a request takes a token, from this node's bucket
// and then from the cluster's.
type Limiter struct {
	scope  string
	rate   Rate
	local  *bucket
	shared *gate
	now    func() time.Time
}

// Allow takes a token for ip's client: nil, or a *Refused saying how long
// to wait. The node's own bucket answers first, for free; the shared one,
// one round trip, only for a request the node would let through.
func (l *Limiter) Allow(ctx context.Context, ip netip.Addr) error {
	c := ClientFor(ip)
	ok, wait := l.local.take(c, l.now())
	if !ok {
		return &Refused{wait}
	}
	ok, wait, used := l.shared.take(ctx, l.scope, c, l.rate)
	if used && wait > 0 {
		// The cluster's bucket is empty: this node must refuse too, although
		// its own has tokens.
		l.local.hold(c, l.now(), wait)
	}
	if !ok {
		return &Refused{wait}
	}
	return nil
}

// Throttle is the budget of failed credentials: Check before looking a
// credential up, Fail after refusing one.
type Throttle struct{ l *Limiter }

// Check refuses ip's client, with a *Refused, while its budget is spent.
// It asks this node's memory only (an atomic load while no client has
// failed), and does not allocate unless it refuses.
func (t *Throttle) Check(ip netip.Addr) error {
	if t.l.local.n.Load() == 0 {
		return nil
	}
	if wait := t.l.local.wait(ClientFor(ip), t.l.now()); wait > 0 {
		return &Refused{wait}
	}
	return nil
}

// Fail counts a refused credential of ip's client. It returns a *Refused
// if the budget was already spent, on this node or (with a shared store)
// on the cluster, so that the request is answered as throttled: exactly
// the budget's worth of failures are answered as such, cluster-wide.
func (t *Throttle) Fail(ctx context.Context, ip netip.Addr) error {
	return t.l.Allow(ctx, ip)
}
