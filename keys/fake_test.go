package keys

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/espresso-auth/espresso/apikey"
	"github.com/espresso-auth/espresso/internal/clock"
	"github.com/espresso-auth/espresso/store"
)

// fakeFeed is an in-memory key feed for unit tests of the follower: live
// keys, their events in Seq order, a pruning horizon, and a channel per
// call the follower makes, so that tests wait for calls instead of
// sleeping. Methods of Store it does not implement panic (nil embedded
// interface): the follower must not call them.
type fakeFeed struct {
	Store

	mu      sync.Mutex
	live    map[apikey.Hash]store.Key
	events  []store.Event
	seq     int64
	horizon int64         // events with Seq <= horizon were pruned
	gate    chan struct{} // when set, Events waits for it to close, ignoring ctx

	snapshots chan int64       // the Seq each FeedHead returned
	pages     chan string      // the `after` of each LiveKeys call
	lookups   chan apikey.Hash // the hash of each LiveKeyByHash call
	reads     chan int64       // the `after` of each Events call
	prunes    chan time.Time   // the cut-off of each PruneEvents call
}

func newFakeFeed() *fakeFeed {
	return &fakeFeed{live: map[apikey.Hash]store.Key{},
		snapshots: make(chan int64, 1000), pages: make(chan string, 1000), lookups: make(chan apikey.Hash, 1000), reads: make(chan int64, 1000), prunes: make(chan time.Time, 1000)}
}

func (f *fakeFeed) record(ev store.Event) {
	f.seq++
	ev.Seq = f.seq
	f.events = append(f.events, ev)
}

// issue makes h a live key, recording the event.
func (f *fakeFeed) issue(h apikey.Hash) {
	f.mu.Lock()
	defer f.mu.Unlock()
	k := store.Key{AccountID: fmt.Sprintf("acct-%x", h), Hash: h, Masked: "dk_live_…"}
	f.live[h] = k
	f.record(store.Event{Kind: store.KeyIssued, Key: k})
}

// revoke retires h, recording the event.
func (f *fakeFeed) revoke(h apikey.Hash) {
	f.mu.Lock()
	defer f.mu.Unlock()
	k := f.live[h]
	delete(f.live, h)
	f.record(store.Event{Kind: store.KeyRevoked, Key: k})
}

// pruneUpTo forgets the events up to seq, as PruneEvents would.
func (f *fakeFeed) pruneUpTo(seq int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for len(f.events) > 0 && f.events[0].Seq <= seq {
		f.events = f.events[1:]
	}
	f.horizon = seq
}

// hang makes Events block until the returned function is called.
func (f *fakeFeed) hang() (release func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	g := make(chan struct{})
	f.gate = g
	return sync.OnceFunc(func() { close(g) })
}

// FeedHead starts a snapshot: it is announced on snapshots.
func (f *fakeFeed) FeedHead(ctx context.Context) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.snapshots <- f.seq
	return f.seq, nil
}

func (f *fakeFeed) LiveKeys(ctx context.Context, after string, limit int) ([]store.Key, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var keys []store.Key
	for _, k := range f.live {
		if k.AccountID > after {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b store.Key) int { return strings.Compare(a.AccountID, b.AccountID) })
	f.pages <- after
	return keys[:min(len(keys), limit)], nil
}

func (f *fakeFeed) LiveKeyByHash(ctx context.Context, h apikey.Hash) (store.Key, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lookups <- h
	k, ok := f.live[h]
	if !ok {
		return store.Key{}, store.ErrKeyNotLive
	}
	return k, nil
}

func (f *fakeFeed) Events(ctx context.Context, after int64, limit int) ([]store.Event, error) {
	// The answer is what the feed held when the read was announced: a test
	// that changes the feed once it has seen a read must not change that
	// read's answer.
	f.mu.Lock()
	gate := f.gate
	out, err := f.eventsLocked(after, limit)
	f.mu.Unlock()
	f.reads <- after
	if gate != nil {
		<-gate // a hung database: the context is not honoured
		f.mu.Lock()
		defer f.mu.Unlock()
		return f.eventsLocked(after, limit)
	}
	return out, err
}

func (f *fakeFeed) eventsLocked(after int64, limit int) ([]store.Event, error) {
	if after < f.horizon {
		return nil, store.ErrFeedTruncated
	}
	if after > f.seq {
		return nil, store.ErrFeedRewound
	}
	var out []store.Event
	for _, ev := range f.events {
		if ev.Seq > after && len(out) < limit {
			out = append(out, ev)
		}
	}
	return out, nil
}

func (f *fakeFeed) PruneEvents(ctx context.Context, before time.Time) (int64, error) {
	f.prunes <- before
	return 0, nil
}

func (f *fakeFeed) RecordUse(context.Context, map[apikey.Hash]time.Time) error { return nil }

func (f *fakeFeed) Ping(context.Context) error { return nil }

// watchingFeed is a fakeFeed that pushes notifications: Watch hands its
// notify function to the test and blocks until its context ends.
type watchingFeed struct {
	*fakeFeed
	notify  chan func(missed bool)
	watched chan struct{} // closed when Watch returns
}

func newWatchingFeed() *watchingFeed {
	return &watchingFeed{fakeFeed: newFakeFeed(), notify: make(chan func(bool), 1), watched: make(chan struct{})}
}

func (w *watchingFeed) Watch(ctx context.Context, notify func(missed bool)) {
	defer close(w.watched)
	w.notify <- notify
	<-ctx.Done()
}

// within is how long a test waits for something the code under test must
// do before it fails: a bound on a hang, never a pause.
const within = 10 * time.Second

// next receives from c, failing the test if nothing comes.
func next[T any](t testing.TB, c <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-c:
		return v
	case <-time.After(within):
		t.Fatalf("no %s within %s", what, within)
		panic("unreachable")
	}
}

// none fails if c holds a value.
func none[T any](t testing.TB, c <-chan T, what string) {
	t.Helper()
	select {
	case v := <-c:
		t.Fatalf("unexpected %s: %v", what, v)
	default:
	}
}

// waitFor waits until cond holds, yielding the processor meanwhile.
func waitFor(t testing.TB, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s did not happen within %s", what, within)
		}
		runtime.Gosched()
	}
}

// testStart is the fake clocks' start: not on a whole second.
var testStart = time.Date(2026, 11, 27, 18, 0, 0, 123456789, time.UTC)

// running is a Service under test with its Run goroutine.
type running struct {
	*Service
	clock  *clock.Fake
	cancel func()        // cancels Run's context
	done   chan struct{} // closed when Run has returned
}

// stop cancels Run's context and waits for Run to return.
func (r *running) stop(t testing.TB) {
	t.Helper()
	r.cancel()
	next(t, r.done, "return from Run")
}

// startService returns a Service over feed with a fake clock, loaded if
// load is set, and runs it until the test ends (or stop is called).
func startService(t testing.TB, feed Store, load bool, opts Options) *running {
	t.Helper()
	c := clock.NewFake(testStart)
	opts.Clock = c
	opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	s := New(feed, opts)
	if load {
		if err := s.Load(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{Service: s, clock: c, cancel: cancel, done: make(chan struct{})}
	go func() { s.Run(ctx); close(r.done) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}
