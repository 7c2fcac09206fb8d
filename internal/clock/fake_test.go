package clock

import (
	"context"
	"testing"
	"time"
)

func TestFake_TickersFireOnlyWhenTheirPeriodHasPassed(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f := NewFake(start)
	tk := f.NewTicker(time.Minute)
	f.Advance(59 * time.Second)
	select {
	case <-tk.C():
		t.Fatal("ticked before its period")
	default:
	}
	f.Advance(time.Second)
	select {
	case at := <-tk.C():
		if !at.Equal(start.Add(time.Minute)) {
			t.Errorf("tick at %v", at)
		}
	default:
		t.Fatal("did not tick after its period")
	}
	// Three periods at once: one tick, as for a slow reader of a real ticker.
	f.Advance(3 * time.Minute)
	<-tk.C()
	select {
	case <-tk.C():
		t.Error("a single Advance delivered two ticks")
	default:
	}
	f.Advance(-time.Hour) // back in time: nothing fires
	select {
	case <-tk.C():
		t.Error("moving back fired the ticker")
	default:
	}
	tk.Stop()
	f.Advance(24 * time.Hour)
	select {
	case <-tk.C():
		t.Error("a stopped ticker fired")
	default:
	}
}

func TestFake_WaitForTickersReturnsOnceEnoughAreRunning(t *testing.T) {
	f := NewFake(time.Now())
	done := make(chan error, 1)
	go func() { done <- f.WaitForTickers(t.Context(), 2) }()
	f.NewTicker(time.Second)
	f.NewTicker(time.Second)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := f.WaitForTickers(ctx, 3); err == nil {
		t.Error("WaitForTickers did not give up when its context ended")
	}
}
