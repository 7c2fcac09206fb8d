package clock

import (
	"context"
	"sync"
	"time"
)

// Fake is a Clock for tests: its time moves only when Advance or Set moves
// it, and its tickers fire only then. It is safe for concurrent use.
type Fake struct {
	mu      sync.Mutex
	changed chan struct{} // closed and replaced whenever tickers change
	now     time.Time
	tickers []*fakeTicker
}

// NewFake returns a Fake that reads t until it is moved.
func NewFake(t time.Time) *Fake { return &Fake{now: t, changed: make(chan struct{})} }

// Now returns the fake time.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// NewTicker returns a ticker whose first tick is due d after the current
// fake time.
func (f *Fake) NewTicker(d time.Duration) Ticker {
	if d <= 0 {
		panic("clock: non-positive ticker interval")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	t := &fakeTicker{f: f, c: make(chan time.Time, 1), every: d, next: f.now.Add(d)}
	f.tickers = append(f.tickers, t)
	f.signal()
	return t
}

// Advance moves the clock by d (which may be negative) and fires every
// ticker that has come due, once each however many periods passed, as a
// real ticker does for a slow reader. It returns the new time.
func (f *Fake) Advance(d time.Duration) time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.set(f.now.Add(d))
}

// Set moves the clock to t, firing tickers as Advance does.
func (f *Fake) Set(t time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.set(t)
}

func (f *Fake) set(t time.Time) time.Time {
	f.now = t
	for _, tk := range f.tickers {
		if tk.next.After(t) {
			continue
		}
		select {
		case tk.c <- t:
		default: // the reader has not taken the previous tick
		}
		for !tk.next.After(t) {
			tk.next = tk.next.Add(tk.every)
		}
	}
	return t
}

// WaitForTickers blocks until at least n tickers are running, so that a
// test advances the clock only once the code under test is listening. It
// returns ctx's error if ctx ends first.
func (f *Fake) WaitForTickers(ctx context.Context, n int) error {
	for {
		f.mu.Lock()
		have, changed := len(f.tickers), f.changed
		f.mu.Unlock()
		if have >= n {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// signal wakes WaitForTickers; f.mu is held.
func (f *Fake) signal() {
	close(f.changed)
	f.changed = make(chan struct{})
}

type fakeTicker struct {
	f     *Fake
	c     chan time.Time
	every time.Duration
	next  time.Time
}

func (t *fakeTicker) C() <-chan time.Time { return t.c }

func (t *fakeTicker) Stop() {
	t.f.mu.Lock()
	defer t.f.mu.Unlock()
	for i, tk := range t.f.tickers {
		if tk == t {
			t.f.tickers = append(t.f.tickers[:i], t.f.tickers[i+1:]...)
			t.f.signal()
			return
		}
	}
}
