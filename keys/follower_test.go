package keys

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/espresso-auth/espresso"
	"github.com/espresso-auth/espresso/apikey"
)

func TestNew_ReadsNothingAndIsNotReadyUntilLoaded(t *testing.T) {
	feed := newFakeFeed()
	feed.issue(hashOf(1))
	s := New(feed, Options{})
	none(t, feed.snapshots, "snapshot by New")
	none(t, feed.reads, "feed read by New")
	if err := s.Ready(t.Context()); !errors.Is(err, ErrStale) {
		t.Errorf("Ready before Load = %v, want ErrStale", err)
	}
	if err := s.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	next(t, feed.snapshots, "snapshot by Load")
	// Load reads the feed's head and no key: the pages come later.
	none(t, feed.pages, "page read by Load")
	if err := s.Ready(t.Context()); err != nil {
		t.Errorf("Ready after Load = %v", err)
	}
	if err := s.LoadAll(t.Context()); err != nil {
		t.Fatal(err)
	}
	if !s.rep.has(hashOf(1)) || !s.rep.isComplete() {
		t.Error("the loaded replica lacks the live key")
	}
}

func TestRun_LoadsTheSnapshotWhenLoadWasNotCalled(t *testing.T) {
	feed := newFakeFeed()
	feed.issue(hashOf(1))
	s := startService(t, feed, false, Options{})
	if seq := next(t, feed.snapshots, "snapshot by Run"); seq != 1 {
		t.Errorf("snapshot at %d", seq)
	}
	if err := s.feed.catchUp(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := s.Ready(t.Context()); err != nil {
		t.Errorf("Ready once Run has loaded = %v", err)
	}
	if !s.rep.has(hashOf(1)) {
		t.Error("the replica Run loaded lacks the live key")
	}
}

// TestFollower_ResyncsFromASnapshotWhenTheFeedWasTruncated lets the feed be
// pruned past the replica's position while the follower is behind: the
// next poll finds it truncated, and the replica is rebuilt from a snapshot
// instead of missing the pruned events.
func TestFollower_ResyncsFromASnapshotWhenTheFeedWasTruncated(t *testing.T) {
	feed := newFakeFeed()
	k1, k2, k3, k4 := hashOf(1), hashOf(2), hashOf(3), hashOf(4)
	feed.issue(k1)
	feed.issue(k2)
	s := startService(t, feed, true, Options{PollInterval: time.Second})
	next(t, feed.snapshots, "snapshot by Load")
	if after := next(t, feed.reads, "first pull"); after != 2 {
		t.Fatalf("first pull reads after %d, want 2", after)
	}

	feed.revoke(k1) // 3
	feed.issue(k3)  // 4
	feed.issue(k4)  // 5
	feed.pruneUpTo(4)
	if err := s.clock.WaitForTickers(t.Context(), 3); err != nil {
		t.Fatal(err)
	}
	s.clock.Advance(time.Second)
	if after := next(t, feed.reads, "poll"); after != 2 {
		t.Fatalf("poll reads after %d, want 2", after)
	}
	if seq := next(t, feed.snapshots, "snapshot after truncation"); seq != 5 {
		t.Fatalf("snapshot at %d, want 5", seq)
	}
	// The next pull goes on from the snapshot's position.
	if err := s.feed.catchUp(t.Context()); err != nil {
		t.Fatal(err)
	}
	if after := next(t, feed.reads, "pull after the resync"); after != 5 {
		t.Errorf("the pull after the resync reads after %d, want 5", after)
	}
	if s.rep.has(k1) {
		t.Error("a key revoked in the pruned part of the feed is still live")
	}
	for _, h := range []apikey.Hash{k2, k3, k4} {
		if !s.rep.has(h) {
			t.Errorf("key %x is missing after the resync", h[:1])
		}
	}
	none(t, feed.snapshots, "second snapshot")
}

// TestFollower_AMissedNotificationLeadsToASnapshot drives the store's
// Watch: its first "missed" (it has started listening) only asks for a
// pull; a later one (notifications may have been lost while the connection
// was down) makes the replica revalidate from a snapshot. Watch runs in a
// goroutine the follower owns: Run returns only after it has.
func TestFollower_AMissedNotificationLeadsToASnapshot(t *testing.T) {
	feed := newWatchingFeed()
	k1, k2 := hashOf(1), hashOf(2)
	feed.issue(k1)
	s := startService(t, feed, true, Options{})
	next(t, feed.snapshots, "snapshot by Load")
	notify := next(t, feed.notify, "Watch")

	notify(true) // started listening
	if err := s.feed.catchUp(t.Context()); err != nil {
		t.Fatal(err)
	}
	none(t, feed.snapshots, "snapshot after Watch started")

	// The connection drops; meanwhile k1 is revoked and k2 issued, and the
	// notifications are lost. Back, Watch says so.
	feed.revoke(k1)
	feed.issue(k2)
	notify(false)
	notify(true)
	if seq := next(t, feed.snapshots, "snapshot after a reconnection"); seq != 3 {
		t.Errorf("snapshot at %d, want 3", seq)
	}
	if err := s.feed.catchUp(t.Context()); err != nil {
		t.Fatal(err)
	}
	if s.rep.has(k1) || !s.rep.has(k2) {
		t.Error("the replica does not reflect the changes made while notifications were lost")
	}

	s.stop(t)
	select {
	case <-feed.watched:
	default:
		t.Error("Run returned while the store's Watch was still running")
	}
}

// TestService_PrunesOldEventsOnSchedule moves the clock: nothing is pruned
// before the interval has passed, then events older than the retention
// are, once per interval.
func TestService_PrunesOldEventsOnSchedule(t *testing.T) {
	feed := newFakeFeed()
	s := startService(t, feed, true, Options{PruneInterval: time.Hour, EventRetention: 24 * time.Hour})
	if err := s.clock.WaitForTickers(t.Context(), 3); err != nil {
		t.Fatal(err)
	}
	s.clock.Advance(59 * time.Minute)
	for _, want := range []time.Time{testStart.Add(time.Hour - 24*time.Hour), testStart.Add(2*time.Hour - 24*time.Hour)} {
		s.clock.Advance(time.Minute)
		if got := next(t, feed.prunes, "prune"); !got.Equal(want) {
			t.Fatalf("pruned events before %v, want before %v", got, want)
		}
		s.clock.Advance(59 * time.Minute)
	}
	s.stop(t)
	none(t, feed.prunes, "extra prune")
}

// TestFollower_StopReleasesACatchUpAtOnce hangs the store in the middle of
// a pull with a caller waiting for it: stopping answers the caller at
// once, without waiting for the store; later callers are answered at once
// too; and Run returns once the store lets go.
func TestFollower_StopReleasesACatchUpAtOnce(t *testing.T) {
	feed := newFakeFeed()
	release := feed.hang()
	defer release()
	s := startService(t, feed, true, Options{})
	next(t, feed.reads, "first pull") // hangs

	waiting := make(chan error, 1)
	go func() { waiting <- s.feed.catchUp(context.Background()) }()
	waitFor(t, func() bool {
		s.feed.mu.Lock()
		defer s.feed.mu.Unlock()
		return len(s.feed.waiters) == 1
	}, "the catch-up to register")

	s.cancel()
	if err := next(t, waiting, "answer to the waiting catch-up"); !errors.Is(err, errStopped) {
		t.Errorf("the waiting catch-up got %v, want errStopped", err)
	}
	if err := s.feed.catchUp(context.Background()); !errors.Is(err, errStopped) {
		t.Errorf("a catch-up while the pull hangs got %v, want errStopped", err)
	}
	select {
	case <-s.done:
		t.Fatal("Run returned while the store was still in a pull it started")
	default:
	}

	release()
	next(t, s.done, "return from Run")
	if err := s.feed.catchUp(context.Background()); !errors.Is(err, errStopped) {
		t.Errorf("a catch-up after Run returned got %v, want errStopped", err)
	}
	unknown, err := apikey.New(apikey.Live)
	if err != nil {
		t.Fatal(err)
	}
	// Not a timeout of its own catch-up: the answer says the follower is
	// gone.
	if _, err := s.Verify(context.Background(), unknown.String()); espresso.KindOf(err) != espresso.Unavailable || !errors.Is(err, errStopped) {
		t.Errorf("Verify of an unknown key after stop = %v, want Unavailable errStopped", err)
	}
}
