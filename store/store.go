// Package store is what espresso keeps in a database: accounts, their API
// keys (as hashes only), a totally ordered feed of key changes that every
// node replays into its in-memory verification cache, the accounts' spot
// accounts (each holding an operation key, sealed by its owner), used
// sign-in nonces and a few server-wide settings.
//
// A Store holds the rules, each operation written once as a transaction
// script over a Driver's primitives; the drivers (subpackages sqlite and
// postgres) supply only SQL, types, locking and retries, and every one of
// them passes the contract suite in storetest, run through a Store.
//
// To add an operation: add the one-query primitives it needs to Reader (if
// they read) or Tx (if they write), with what an empty result is; implement
// them in every driver, SQL only; write the operation once, as a Store
// method that runs them in s.read or s.write (choosing the TxKind: FeedTx
// if it records key events) and turns their results into the contract's
// answers and errors; and extend storetest.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/espresso-auth/espresso"
)

// Store is espresso's storage, on one Driver. Every method is safe for
// concurrent use, including by several Stores in several processes on the
// same database, and every write is durably committed before the method
// returns. Times are those of the Store's clock, in UTC, truncated to
// microseconds; times given to a method are stored the same way.
//
// Errors are *espresso.Error values: the sentinels of this package and of
// package espresso, Unavailable when the database cannot be reached or
// cannot serve now (the same call may succeed later), Internal for anything
// else. A write that fails with Unavailable while committing may
// nevertheless have committed: the connection was lost with the answer.
type Store struct {
	d       Driver
	now     func() time.Time
	observe func(op string, took time.Duration, err error)
	batch   *batcher
}

// Options configure a Store. The zero value is ready to use.
type Options struct {
	// Now is the clock whose times the Store records; time.Now if nil. A
	// write transaction reads it once, after taking its locks, so that the
	// times recorded follow commit order as far as the clock does.
	Now func() time.Time
	// Observe, if set, is called after every call that reaches the
	// database (a read, a write transaction, a ping), with the operation's
	// name (a constant, such as "rotate key"), how long it took, retries
	// included, and its error as the method returns it: for metrics. It
	// must be quick and safe for concurrent use.
	Observe func(op string, took time.Duration, err error)
}

// New returns a Store on d, which it owns: Close closes d.
func New(d Driver, opts Options) *Store {
	s := &Store{d: d, now: opts.Now, observe: opts.Observe, batch: newBatcher()}
	if s.now == nil {
		s.now = time.Now
	}
	if s.observe == nil {
		s.observe = func(string, time.Duration, error) {}
	}
	return s
}

// Ping reports whether the database answers: nil, or an error that is
// Unavailable when the database cannot be reached or cannot serve now.
func (s *Store) Ping(ctx context.Context) error {
	return s.observed("ping", func() error { return s.d.Ping(ctx) })
}

// Close releases the Store's resources and ends every Watch. Calls in
// progress may fail; later writes fail with espresso.Unavailable.
func (s *Store) Close() error {
	s.batch.close()
	if err := s.d.Close(); err != nil {
		return espresso.Wrap(espresso.Internal, err, s.d.Name()+": close")
	}
	return nil
}

// Watch tells of changes to the key feed, on a database that pushes them
// (PostgreSQL): it blocks until ctx ends or the Store is closed, calling
// notify(false) whenever new events may have been committed, and
// notify(true) whenever it starts listening, the first time and after a
// lost connection is back, when notifications may have been missed and the
// reader should revalidate from a Snapshot. It never calls notify
// concurrently with itself.
//
// On a database that does not push changes (SQLite), Watch returns at once
// without calling notify: readers poll Events.
func (s *Store) Watch(ctx context.Context, notify func(missed bool)) {
	if w, ok := s.d.(Watcher); ok {
		w.Watch(ctx, notify)
	}
}

// clock returns the Store's time now, as it is stored.
func (s *Store) clock() time.Time { return stored(s.now()) }

// stored returns t as the Store records it: UTC, whole microseconds.
func stored(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// read runs fn through the driver's Read and classifies its error as op's.
func (s *Store) read(ctx context.Context, op string, fn func(ctx context.Context, r Reader) error) error {
	return s.observed(op, func() error { return s.d.Read(ctx, fn) })
}

// write runs fn in a write transaction of kind (at least), giving it the
// time read once the transaction holds its locks, and classifies its error
// as op's. Writes other than migrations are group-committed (see batcher):
// fn may share its transaction with other writes, each in its own
// savepoint, and runs with a context of the Store's rather than ctx, which
// only bounds the wait for a batch to start.
func (s *Store) write(ctx context.Context, op string, kind TxKind, fn func(ctx context.Context, tx Tx, now time.Time) error) error {
	if kind == SchemaTx {
		return s.observed(op, func() error {
			return s.d.Write(ctx, kind, func(ctx context.Context, tx Tx) error {
				return fn(ctx, tx, s.clock())
			})
		})
	}
	return s.observed(op, func() error { return s.batched(ctx, kind, fn) })
}

// observed runs call, one call to the database, classifies its error as
// op's and tells Options.Observe.
func (s *Store) observed(op string, call func() error) error {
	start := time.Now()
	err := s.classify(op, call())
	s.observe(op, time.Since(start), err)
	return err
}

// classify turns err into an *espresso.Error for op: errors that already
// are one (the sentinels) pass through; an ended context, and what the
// driver says is the database being unreachable or busy, are Unavailable;
// anything else is Internal. The drivers' messages name tables, columns and
// constraints, never values, so no key hash reaches an error.
func (s *Store) classify(op string, err error) error {
	if err == nil {
		return nil
	}
	var e *espresso.Error
	if errors.As(err, &e) {
		return err
	}
	msg := s.d.Name() + ": " + op
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || s.d.Unavailable(err) {
		return espresso.Wrap(espresso.Unavailable, err, msg)
	}
	return espresso.Wrap(espresso.Internal, err, msg)
}
