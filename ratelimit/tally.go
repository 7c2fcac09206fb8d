package ratelimit

import (
	"context"
	"log/slog"
	"net/netip"
	"sync"
	"time"
)

// Tally logs refused requests in aggregate: one line per client per
// interval, with counts, so that a flood writes a line every interval, not
// one per request. It remembers at most maxClients clients per interval;
// the rest are summed into one line.
type Tally struct {
	log        *slog.Logger
	interval   time.Duration
	maxClients int

	mu     sync.Mutex
	counts map[Client]*tallyCount
	others tallyCount // clients past maxClients, together
}

type tallyCount struct{ failed, throttled int64 }

func newTally(log *slog.Logger, interval time.Duration, maxClients int) *Tally {
	return &Tally{log: log, interval: interval, maxClients: maxClients, counts: map[Client]*tallyCount{}}
}

// Failed counts a refused credential of ip's client.
func (t *Tally) Failed(ip netip.Addr) { t.add(ip, false) }

// Throttled counts a request of ip's client refused for its budget.
func (t *Tally) Throttled(ip netip.Addr) { t.add(ip, true) }

func (t *Tally) add(ip netip.Addr, throttled bool) {
	c := ClientFor(ip)
	t.mu.Lock()
	defer t.mu.Unlock()
	n := t.counts[c]
	if n == nil {
		if len(t.counts) >= t.maxClients {
			n = &t.others
		} else {
			n = &tallyCount{}
			t.counts[c] = n
		}
	}
	if throttled {
		n.throttled++
	} else {
		n.failed++
	}
}

// flush writes a line per client counted since the last flush, and starts
// a new interval.
func (t *Tally) flush() {
	t.mu.Lock()
	counts, others := t.counts, t.others
	t.counts, t.others = make(map[Client]*tallyCount, len(counts)), tallyCount{}
	t.mu.Unlock()
	secs := int64(t.interval / time.Second)
	for c, n := range counts {
		t.log.LogAttrs(context.Background(), slog.LevelWarn, "refused credentials",
			slog.String("client", c.String()), slog.Int64("failed", n.failed), slog.Int64("throttled", n.throttled),
			slog.Int64("interval_s", secs))
	}
	if others != (tallyCount{}) {
		t.log.LogAttrs(context.Background(), slog.LevelWarn, "refused credentials of other clients",
			slog.String("client", "others"), slog.Int64("failed", others.failed), slog.Int64("throttled", others.throttled),
			slog.Int64("interval_s", secs))
	}
}
