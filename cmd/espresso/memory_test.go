package main

import (
	"io"
	"log/slog"
	"runtime"
	"runtime/debug"
	"testing"
)

func TestGCPercent_HeadroomFollowsTheHeapBesideTheReplica(t *testing.T) {
	t.Parallel()
	const mib = 1 << 20
	for _, c := range []struct {
		live, tables uint64
		want         int
	}{
		{0, 0, 100},                 // nothing measured: the default
		{8 * mib, 0, 100},           // a small heap: the default
		{100 * mib, 0, 100},         // no replica: the default
		{100 * mib, 90 * mib, 16},   // a million keys: the floor, 16 MiB
		{100 * mib, 60 * mib, 40},   // a large rest: GOGC=100 for it
		{3200 * mib, 3200 * mib, 1}, // tables alone: never below 1
		{100 * mib, 200 * mib, 16},  // tables estimated above the heap
		{1000 * mib, 900 * mib, 10}, // ten million keys
		{16 * mib, 16 * mib, 100},   // headroom as large as the heap
		{32 * mib, 32 * mib, 50},    // the floor, halving the default
		{200 * mib, 100 * mib, 50},  // the rest is half the heap
		{200 * mib, 0 * mib, 100},   // all of it is the rest
		{400 * mib, 399 * mib, 4},   // the floor
		{17 * mib, 16 * mib, 94},    // just above the floor
	} {
		if got := gcPercent(c.live, c.tables); got != c.want {
			t.Errorf("gcPercent(%d MiB, %d MiB) = %d, want %d", c.live/mib, c.tables/mib, got, c.want)
		}
	}
}

// TestHeapSettler_TunesGOGCUnlessTheOperatorSetIt settles a heap that is
// mostly a 64 MiB pointer-free table, as a server's is, and checks that GOGC is lowered when
// unset and left alone when set. It changes the process's GOGC, so it does
// not run in parallel (parallel tests wait for it) and restores it.
func TestHeapSettler_TunesGOGCUnlessTheOperatorSetIt(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	table := make([]uint64, 8<<20)
	tables := uint64(8 * len(table))
	prev := debug.SetGCPercent(100)
	defer debug.SetGCPercent(prev)

	h := newHeapSettler(func(string) string { return "" }, quiet)
	h.settle(tables)
	want := gcPercent(liveHeap(), tables)
	if got := debug.SetGCPercent(100); got != want || got >= 100 {
		t.Errorf("GOGC unset: settled at %d, want %d (below 100)", got, want)
	}

	h = newHeapSettler(func(k string) string {
		if k == "GOGC" {
			return "100"
		}
		return ""
	}, quiet)
	h.settle(tables)
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("GOGC=100 set by the operator: settled at %d, want it left at 100", got)
	}

	runtime.KeepAlive(table)

	// notify never blocks the feed's reader, whether or not run is reading.
	for range 3 {
		h.notify()
	}
}
