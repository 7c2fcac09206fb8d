package store

import (
	"context"
	"sync"
	"time"
)

// HoldBatches makes s's committer wait before it takes its first batch
// until release is called, so that a test can queue writes that then share
// one batch; queued says how many wait. Call it before s's first write.
func HoldBatches(s *Store) (queued func() int, release func()) {
	s.batch.hold = make(chan struct{})
	var once sync.Once
	return func() int {
			s.batch.mu.Lock()
			defer s.batch.mu.Unlock()
			return len(s.batch.queue)
		}, func() {
			once.Do(func() { close(s.batch.hold) })
		}
}

// BatchSizes records the number of writes of each of s's batches from now
// on, and returns them so far. Call it before s's first write.
func BatchSizes(s *Store) func() []int {
	var (
		mu    sync.Mutex
		sizes []int
	)
	s.batch.sized = func(n int) {
		mu.Lock()
		defer mu.Unlock()
		sizes = append(sizes, n)
	}
	return func() []int {
		mu.Lock()
		defer mu.Unlock()
		return append([]int(nil), sizes...)
	}
}

// QueueWrite queues fn as one write of s's group commit, as the Store's
// own operations do, and waits for its batch's outcome.
func QueueWrite(s *Store, ctx context.Context, kind TxKind, fn func(ctx context.Context, tx Tx, now time.Time) error) error {
	return s.batched(ctx, kind, fn)
}
