package store

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/espresso-auth/espresso"
)

// Savepoints are the primitives of group commit: every Tx has them. A
// batch runs each of its writes between Savepoint and ReleaseSavepoint, or
// RollbackToSavepoint if the write failed, which undoes what that write
// did (and only that) and leaves the transaction usable. They are not
// nested: one savepoint is open at a time.
type Savepoints interface {
	Savepoint(ctx context.Context) error
	ReleaseSavepoint(ctx context.Context) error
	RollbackToSavepoint(ctx context.Context) error
}

// Pipeliner is implemented by a Tx that holds statements back to send
// several in one round trip (package postgres). Flush sends what it holds
// and returns the first error. The committer calls it at the end of every
// write that succeeded, so that a held statement's error fails the write
// that issued it, never the next one.
type Pipeliner interface {
	Flush(ctx context.Context) error
}

// Bounded is implemented by drivers that bound every call by a time (see
// postgres.Options.Timeout). A group-committed write's bound runs from when
// it was queued, the wait for its batch included: a batch must end by the
// bound of its oldest write.
type Bounded interface {
	CallTimeout() time.Duration
}

// The committer: every write but a migration is queued, and one goroutine
// owned by the Store takes whatever is queued whenever it is free, runs it
// all in one transaction of the driver, each write inside its own
// savepoint, commits once and only then answers each caller. Concurrent
// writers so share one commit, and its fsync, instead of queueing on the
// database's write lock for one each; a lone writer never waits for others
// to come (it is the whole batch). Writes run one after the other and see
// each other's changes, so the rules that hold between transactions (one
// winner per presented key, one account per wallet) hold inside a batch.

// batcher is the Store's queue of writes and its committer's state.
type batcher struct {
	mu      sync.Mutex
	queue   []*request
	closed  bool
	running bool          // the committer has been started
	wake    chan struct{} // one pending wake-up for the committer
	stopped chan struct{} // closed when the committer has returned
	ctx     context.Context
	cancel  context.CancelFunc
	// Tests' hooks, set before the first write: the committer waits for
	// hold to be closed before it takes a batch, and tells sized each
	// batch's number of writes.
	hold  chan struct{}
	sized func(n int)
}

// request is one queued write. Its fields but fn and kind are guarded by
// the batcher's mu, until done is closed.
type request struct {
	kind   TxKind
	fn     func(ctx context.Context, tx Tx, now time.Time) error
	queued time.Time
	// run is the batch that took it; started says that the batch has
	// begun running fn, after which the write can no longer be withdrawn;
	// withdrawn, that its caller's context ended before that, so the batch
	// skips it.
	run       *run
	started   bool
	withdrawn bool
	err       error         // its answer, set before done is closed
	done      chan struct{} // closed once its batch committed or failed
}

// run is one batch's own context, which its writes' callers end when they
// have all withdrawn (so that it stops waiting for the database's locks
// for nobody).
type run struct {
	cancel  context.CancelFunc
	waiting int // requests neither started nor withdrawn
}

func newBatcher() *batcher {
	ctx, cancel := context.WithCancel(context.Background())
	return &batcher{wake: make(chan struct{}, 1), stopped: make(chan struct{}), ctx: ctx, cancel: cancel}
}

// errClosed answers the writes of a closed Store.
var errClosed = espresso.E(espresso.Unavailable, "store: closed")

// errWithdrawn rolls back a batch whose only write was withdrawn; nobody
// reads it.
var errWithdrawn = espresso.E(espresso.Unavailable, "store: write withdrawn")

// batched queues fn and waits for the commit of the batch that runs it. A
// write whose ctx ends before its batch starts running it is withdrawn,
// unrun, and fails with ctx's error: so a caller's deadline bounds the wait
// for the database's locks. Once its batch has started running it, the
// caller waits for the batch's outcome (bounded as the driver bounds every
// call), so that it never returns while its write may still commit.
func (s *Store) batched(ctx context.Context, kind TxKind, fn func(ctx context.Context, tx Tx, now time.Time) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b := s.batch
	r := &request{kind: kind, fn: fn, queued: time.Now(), done: make(chan struct{})}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return errClosed
	}
	b.queue = append(b.queue, r)
	if !b.running {
		b.running = true
		go s.commitLoop()
	}
	b.mu.Unlock()
	select {
	case b.wake <- struct{}{}:
	default: // a wake-up is pending already
	}

	select {
	case <-r.done:
		return r.err
	case <-ctx.Done():
	}
	b.mu.Lock()
	withdrawn := !r.started
	if withdrawn {
		r.withdrawn = true
		if i := slices.Index(b.queue, r); i >= 0 {
			b.queue = slices.Delete(b.queue, i, i+1)
		} else if r.run != nil {
			if r.run.waiting--; r.run.waiting == 0 {
				r.run.cancel()
			}
		}
	}
	b.mu.Unlock()
	if withdrawn {
		return ctx.Err()
	}
	<-r.done
	return r.err
}

// start marks r as run by its batch, unless its caller withdrew it.
func (b *batcher) start(r *request) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if r.withdrawn {
		return false
	}
	if !r.started {
		r.started = true
		r.run.waiting--
	}
	return true
}

// commitLoop is the committer: it runs batches until the Store is closed,
// then fails what is still queued.
func (s *Store) commitLoop() {
	b := s.batch
	defer close(b.stopped)
	for {
		select {
		case <-b.wake:
		case <-b.ctx.Done():
		}
		if b.hold != nil {
			select {
			case <-b.hold:
			case <-b.ctx.Done():
			}
		}
		ctx, cancel := context.WithCancel(b.ctx)
		b.mu.Lock()
		batch, closed := b.queue, b.closed
		b.queue = nil
		run := &run{cancel: cancel, waiting: len(batch)}
		for _, r := range batch {
			r.run = run
		}
		b.mu.Unlock()
		if closed {
			cancel()
			answer(batch, nil, errClosed)
			return
		}
		if len(batch) > 0 {
			if b.sized != nil {
				b.sized(len(batch))
			}
			errs, err := s.commit(ctx, batch)
			answer(batch, errs, err)
		}
		cancel()
	}
}

// answer tells every request of a batch its outcome: err for all if the
// batch failed, else each its own error.
func answer(batch []*request, errs []error, err error) {
	for i, r := range batch {
		r.err = err
		if err == nil {
			r.err = errs[i]
		}
		close(r.done)
	}
}

// commit runs batch in one write transaction and returns each write's own
// error, or the error that failed (and rolled back) the whole batch. The
// transaction takes the strongest lock its writes need. A write that
// fails on its own (an answer such as ErrKeyNotLive, a constraint) is
// rolled back to its savepoint and fails alone; one that fails because the
// database cannot serve now (a lost connection, a lock timeout) fails the
// whole batch, which the driver may then run again in a new transaction,
// every write afresh, as it would a single write.
func (s *Store) commit(ctx context.Context, batch []*request) ([]error, error) {
	kind := RowTx
	for _, r := range batch {
		kind = max(kind, r.kind)
	}
	if b, ok := s.d.(Bounded); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, batch[0].queued.Add(b.CallTimeout()))
		defer cancel()
	}
	errs := make([]error, len(batch))
	if len(batch) == 1 {
		// Alone, the write is the transaction: no savepoint needed.
		return errs, s.d.Write(ctx, kind, func(ctx context.Context, tx Tx) error {
			if !s.batch.start(batch[0]) {
				return errWithdrawn
			}
			return runWrite(ctx, tx, batch[0], s.clock())
		})
	}
	err := s.d.Write(ctx, kind, func(ctx context.Context, tx Tx) error {
		for i, r := range batch {
			if !s.batch.start(r) {
				continue
			}
			if err := tx.Savepoint(ctx); err != nil {
				return err
			}
			err := runWrite(ctx, tx, r, s.clock())
			if err == nil {
				errs[i] = nil
				if err := tx.ReleaseSavepoint(ctx); err != nil {
					return err
				}
				continue
			}
			if ctx.Err() != nil || s.d.Unavailable(err) {
				return err
			}
			errs[i] = err
			if err := tx.RollbackToSavepoint(ctx); err != nil {
				return err
			}
		}
		return nil
	})
	return errs, err
}

// runWrite runs r's write. A panic in it, which would otherwise end the
// process from the committer's goroutine (where an HTTP handler's would
// have ended one request), fails the write instead.
func runWrite(ctx context.Context, tx Tx, r *request, now time.Time) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("store: a write panicked: %v", p)
		}
	}()
	if err := r.fn(ctx, tx, now); err != nil {
		return err
	}
	if p, ok := tx.(Pipeliner); ok {
		return p.Flush(ctx)
	}
	return nil
}

// close stops the committer: writes in progress may fail, queued and later
// ones fail with errClosed. It waits for the committer to return.
func (b *batcher) close() {
	b.mu.Lock()
	b.closed = true
	running := b.running
	b.mu.Unlock()
	b.cancel()
	if running {
		<-b.stopped
	}
}
