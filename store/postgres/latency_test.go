package postgres

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/espresso-auth/espresso/store/postgres/pgtest"
)

// TestLatency_ARotationOnOneHandleReachesAnothersReaderPromptly measures how
// long after RotateKey returns on handle A a reader following handle B (Watch,
// then Events) has applied its events, as one node's rotation reaching
// another node. It logs the distribution and asserts only that every rotation
// arrives. It is the package's one test that does not run in parallel with
// the others, so that what it logs is not the other tests' load.
func TestLatency_ARotationOnOneHandleReachesAnothersReaderPromptly(t *testing.T) {
	const rotations = 300
	url := pgtest.URL(t)
	a := migrated(t, url)
	b := openStore(t, url, Options{})
	cur := newKey(t)
	acct, _, err := a.CreateAccount(t.Context(), "addr_test1latency", &cur)
	if err != nil {
		t.Fatalf("CreateAccount: %v", err)
	}

	// B's reader: woken by Watch, it reads the feed and publishes the last
	// seq it applied.
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var applied atomic.Int64
	listening := make(chan struct{})
	var once sync.Once
	advanced := make(chan struct{}, 1)
	wake := make(chan struct{}, 1)
	go b.Watch(ctx, func(missed bool) {
		if missed {
			once.Do(func() { close(listening) })
		}
		select {
		case wake <- struct{}{}:
		default:
		}
	})
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-wake:
			}
			for {
				events, err := b.Events(ctx, applied.Load(), 1000)
				if err != nil || len(events) == 0 {
					break
				}
				applied.Store(events[len(events)-1].Seq)
				select {
				case advanced <- struct{}{}:
				default:
				}
			}
		}
	}()
	select {
	case <-listening:
	case <-time.After(30 * time.Second):
		t.Fatal("B's Watch did not start listening within 30s")
	}

	latencies := make([]time.Duration, 0, rotations)
	calls := make([]time.Duration, 0, rotations)
	for range rotations {
		next := newKey(t)
		began := time.Now()
		_, events, err := a.RotateKey(t.Context(), acct.ID, &cur.Hash, next)
		if err != nil {
			t.Fatalf("RotateKey: %v", err)
		}
		committed := time.Now()
		calls = append(calls, committed.Sub(began))
		cur = next
		target := events[len(events)-1].Seq
		deadline := time.After(10 * time.Second)
		for applied.Load() < target {
			select {
			case <-advanced:
			case <-deadline:
				t.Fatalf("B's reader has not applied seq %d 10s after it committed (it is at %d)", target, applied.Load())
			}
		}
		latencies = append(latencies, time.Since(committed))
	}
	logQuantiles(t, "RotateKey on A (call to return)", calls)
	logQuantiles(t, "commit on A → applied by B's reader", latencies)
}

// logQuantiles logs the distribution of ds.
func logQuantiles(t testing.TB, what string, ds []time.Duration) {
	t.Helper()
	slices.Sort(ds)
	q := func(p float64) time.Duration { return ds[int(p*float64(len(ds)-1))].Round(time.Microsecond) }
	t.Logf("%s, over %d rotations: p50 %v, p90 %v, p99 %v, max %v", what, len(ds), q(0.50), q(0.90), q(0.99), q(1))
}
