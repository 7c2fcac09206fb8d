package main

import (
	"context"
	"log/slog"
	"runtime/debug"
	rtmetrics "runtime/metrics"
)

// minHeadroom is the least the Go heap may grow past its live size before
// a collection, once the replica is loaded.
const minHeadroom = 16 << 20

// heapSettler gives memory back after each load of the key replica and
// sizes the collector's pacing for a heap that is mostly the replica.
//
// GOGC=100 lets the heap grow by its live size between collections: with a
// million keys, a hundred MiB of the replica's tables buy a hundred MiB of
// garbage, and the load's own transient garbage and a replaced table stay
// mapped afterwards. But the tables are a few hundred pointer-free
// allocations, which a collection marks without scanning: a collection
// costs about what the rest of the heap costs. So the headroom follows the
// rest of the heap (GOGC=100 for it, at least minHeadroom), not the
// tables. An operator's GOGC is left alone.
type heapSettler struct {
	loaded   chan struct{} // capacity 1: a load completed
	tuneGOGC bool          // GOGC is unset
	log      *slog.Logger
}

func newHeapSettler(getenv func(string) string, log *slog.Logger) *heapSettler {
	return &heapSettler{loaded: make(chan struct{}, 1), tuneGOGC: getenv("GOGC") == "", log: log}
}

// notify is keys.Options.Loaded: it must not block the feed's reader.
func (h *heapSettler) notify() {
	select {
	case h.loaded <- struct{}{}:
	default:
	}
}

// run settles the heap after each load until ctx ends; tables returns the
// bytes the replica's tables hold.
func (h *heapSettler) run(ctx context.Context, tables func() int) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-h.loaded:
			h.settle(uint64(tables()))
		}
	}
}

func (h *heapSettler) settle(tables uint64) {
	debug.FreeOSMemory() // a full collection, then every free page goes back to the OS
	live := liveHeap()
	attrs := []any{"heap_live_bytes", live, "replica_bytes", tables}
	if h.tuneGOGC {
		p := gcPercent(live, tables)
		debug.SetGCPercent(p)
		attrs = append(attrs, "gogc", p)
	}
	h.log.Info("heap settled after the key replica's load", attrs...)
}

// gcPercent is the GOGC that lets a heap of live bytes, tables of them the
// replica's, grow by the rest of it (at least minHeadroom) before the next
// collection; never more than the default, 100.
func gcPercent(live, tables uint64) int {
	rest := uint64(0)
	if live > tables {
		rest = live - tables
	}
	headroom := max(rest, minHeadroom)
	if live == 0 || headroom >= live {
		return 100
	}
	return max(1, int(100*headroom/live))
}

// liveHeap returns the heap marked live by the last collection.
func liveHeap() uint64 {
	s := []rtmetrics.Sample{{Name: "/gc/heap/live:bytes"}}
	rtmetrics.Read(s)
	if s[0].Value.Kind() != rtmetrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}
