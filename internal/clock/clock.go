// Package clock is the time source of espresso's services: the current time
// and tickers behind one small interface, so that tests drive background
// work (polling, flushing, pruning) by moving a fake clock instead of
// sleeping.
package clock

import (
	"context"
	"time"
)

// Clock tells the time and makes tickers. Implementations are safe for
// concurrent use.
type Clock interface {
	Now() time.Time
	// NewTicker returns a ticker that delivers on C every d (d > 0),
	// dropping ticks a slow reader misses, as time.Ticker does.
	NewTicker(d time.Duration) Ticker
}

// Ticker is what Clock.NewTicker returns.
type Ticker interface {
	C() <-chan time.Time
	// Stop turns the ticker off; no tick is delivered after it returns.
	Stop()
}

// Real returns the system clock.
func Real() Clock { return realClock{} }

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) NewTicker(d time.Duration) Ticker { return realTicker{time.NewTicker(d)} }

type realTicker struct{ t *time.Ticker }

func (t realTicker) C() <-chan time.Time { return t.t.C }
func (t realTicker) Stop()               { t.t.Stop() }

// Every calls f every d on c until ctx ends, and returns only then: the
// caller owns the loop and may wait for it.
func Every(ctx context.Context, c Clock, d time.Duration, f func(context.Context)) {
	t := c.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
			if ctx.Err() == nil {
				f(ctx)
			}
		}
	}
}
