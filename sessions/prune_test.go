package sessions

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/espresso-auth/espresso/internal/clock"
	"github.com/espresso-auth/espresso/wallet"
)

// pruneRecorder is a Store that records the cut-off of every PruneNonces
// and PruneSessions call; sign-in is not expected.
type pruneRecorder struct {
	Store
	prunes   chan time.Time
	sessions chan time.Time
}

func (p pruneRecorder) PruneNonces(_ context.Context, before time.Time) (int64, error) {
	p.prunes <- before
	return 0, nil
}

func (p pruneRecorder) PruneSessions(_ context.Context, before time.Time) (int64, error) {
	p.sessions <- before
	return 0, nil
}

// TestRun_PrunesExpiredNoncesAndDeadSessionsOnSchedule moves a fake clock:
// nothing is pruned before the interval has passed, then nonces that
// expired, and sessions that ended or expired, by now are, once per
// interval, and Run returns when its context ends.
func TestRun_PrunesExpiredNoncesAndDeadSessionsOnSchedule(t *testing.T) {
	start := time.Date(2026, 11, 27, 18, 0, 0, 123456789, time.UTC)
	c := clock.NewFake(start)
	st := pruneRecorder{prunes: make(chan time.Time, 100), sessions: make(chan time.Time, 100)}
	s, err := New(st, []byte(secret), Options{Network: wallet.Mainnet, PublicURL: "https://api.example.test",
		TokenTTL: time.Hour, PruneInterval: time.Hour, Clock: c, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	if err := c.WaitForTickers(t.Context(), 2); err != nil { // pruning and flushing
		t.Fatal(err)
	}
	c.Advance(59 * time.Minute)
	for _, want := range []time.Time{start.Add(time.Hour), start.Add(2 * time.Hour)} {
		c.Advance(time.Minute)
		select {
		case got := <-st.prunes:
			if !got.Equal(want) {
				t.Fatalf("pruned nonces expired before %v, want before %v", got, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no prune within 10s of the interval passing")
		}
		select {
		case got := <-st.sessions:
			if !got.Equal(want) {
				t.Fatalf("pruned sessions ended or expired before %v, want before %v", got, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no prune of sessions within 10s of the interval passing")
		}
		c.Advance(59 * time.Minute)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return within 10s of its context ending")
	}
	select {
	case got := <-st.prunes:
		t.Errorf("an extra prune, before %v", got)
	default:
	}
}
