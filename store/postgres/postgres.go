// Package postgres is espresso's scale-out storage backend: a PostgreSQL
// database that several espresso processes share.
//
// Every transaction that records key events first takes the feed's advisory
// transaction lock (see feedLock), then allocates seqs from the key_feed row,
// so event-writing transactions are serialised and Seq order is commit order
// in every process. An AFTER INSERT trigger on key_events sends a NOTIFY in
// the same transaction, which Watch turns into wake-ups right after commit.
//
// Every method bounds its work by Options.Timeout (connection attempts
// included) and reports a database that cannot be reached as
// espresso.Unavailable; the same Store recovers by itself when the database
// is back.
package postgres

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/espresso-auth/espresso"
	"github.com/espresso-auth/espresso/store"
)

// Defaults applied by Open.
const (
	// DefaultTimeout bounds each method call when Options.Timeout is zero.
	DefaultTimeout = 4 * time.Second
	// DefaultMaxConns is the pool size when the URL has no pool_max_conns.
	DefaultMaxConns = 8
	// DefaultConnectTimeout bounds one connection attempt when the URL has
	// no connect_timeout.
	DefaultConnectTimeout = 3 * time.Second
)

// maxAttempts is how many times a call is tried when it fails in a way that
// is safe to retry at once (see retryable).
const maxAttempts = 3

// Options configure a Store. The zero value is ready to use.
type Options struct {
	// Now is the clock whose times the store records; time.Now if nil. It
	// is read once per transaction.
	Now func() time.Time
	// Timeout bounds every method call, from acquiring a connection to the
	// last row, retries included; DefaultTimeout if zero. A call that runs
	// out of it fails with espresso.Unavailable. Snapshot reads every live
	// key within it, so a very large database may need more. Migrate is
	// bounded by its context only.
	Timeout time.Duration
}

// Store is the PostgreSQL implementation of store.Store and store.Watcher.
// It is safe for concurrent use, including by many Stores in many processes
// on the same database.
type Store struct {
	pool      *pgxpool.Pool
	listenCfg *pgx.ConnConfig // for Watch's dedicated connections
	now       func() time.Time
	timeout   time.Duration

	done      chan struct{} // closed by Close: ends every Watch
	closeOnce sync.Once

	// listenerPID is the backend PID of the last connection Watch started
	// listening on (for tests that kill it).
	listenerPID atomic.Uint32
}

var (
	_ store.Store   = (*Store)(nil)
	_ store.Watcher = (*Store)(nil)
)

// Open returns a Store for the database at url, a PostgreSQL URL
// (postgres://user:password@host:port/dbname?param=value) or keyword/value
// connection string, as pgx parses them. Besides libpq's parameters the URL
// may carry:
//
//   - pool_max_conns (default DefaultMaxConns), pool_min_conns (0),
//     pool_max_conn_lifetime (1h), pool_max_conn_idle_time (30m),
//     pool_health_check_period (1m): the connection pool, as pgxpool reads
//     them;
//   - connect_timeout, in seconds (default DefaultConnectTimeout);
//   - search_path and any other run-time parameter, sent to the server as
//     is: tables, trigger and notification channel all live in the first
//     schema of search_path, so schemas isolate espresso instances (and
//     tests) sharing a database. application_name defaults to "espresso".
//
// Open does not connect: a database that is down now does not make it fail,
// and every method fails with espresso.Unavailable until it is back (call
// Ping or Migrate to find out). It fails with espresso.Invalid only if url is
// empty or cannot be parsed; the error does not repeat url, which may hold a
// password.
// Call Migrate before anything else on a new database.
func Open(ctx context.Context, url string, opts Options) (*Store, error) {
	if strings.TrimSpace(url) == "" {
		// pgx would take an empty URL to mean libpq's defaults.
		return nil, espresso.E(espresso.Invalid, "postgres: open: no database URL given")
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, espresso.E(espresso.Invalid, "postgres: open: the database URL cannot be parsed (not repeated here: it may hold a password)")
	}
	if !strings.Contains(url, "pool_max_conns") {
		cfg.MaxConns = DefaultMaxConns
	}
	if cfg.ConnConfig.ConnectTimeout <= 0 {
		cfg.ConnConfig.ConnectTimeout = DefaultConnectTimeout
	}
	if _, ok := cfg.ConnConfig.RuntimeParams["application_name"]; !ok {
		cfg.ConnConfig.RuntimeParams["application_name"] = "espresso"
	}
	listenCfg := cfg.ConnConfig.Copy()

	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, classify("open", err)
	}
	s := &Store{
		pool:      pool,
		listenCfg: listenCfg,
		now:       opts.Now,
		timeout:   opts.Timeout,
		done:      make(chan struct{}),
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.timeout <= 0 {
		s.timeout = DefaultTimeout
	}
	return s, nil
}

// Close ends every Watch and closes the pool, waiting for connections in
// use to be returned. It always returns nil.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.done)
		s.pool.Close()
	})
	return nil
}

// Ping reports whether the database answers, within the store's timeout:
// nil, or an espresso.Unavailable error.
func (s *Store) Ping(ctx context.Context) error {
	return s.run(ctx, "ping", func(ctx context.Context) error { return s.pool.Ping(ctx) })
}

// clock returns the store's time now, as it will be stored: UTC, whole
// microseconds.
func (s *Store) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// run calls fn with ctx bounded by the store's timeout, again (up to
// maxAttempts in all) while it fails in a way that is safe to retry at once,
// such as on a pooled connection that died while idle, and classifies its
// error as op's.
func (s *Store) run(ctx context.Context, op string, fn func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	var err error
	for attempt := 1; ; attempt++ {
		err = fn(ctx)
		if err == nil || attempt == maxAttempts || ctx.Err() != nil || !retryable(err) {
			break
		}
	}
	return classify(op, err)
}

// tx runs fn in a transaction with opts and commits it, under run: the
// whole transaction is tried again when it failed before its commit in a
// retryable way. fn must not have effects outside the transaction.
func (s *Store) tx(ctx context.Context, op string, opts pgx.TxOptions, fn func(ctx context.Context, tx pgx.Tx) error) error {
	return s.run(ctx, op, func(ctx context.Context) error {
		tx, err := s.pool.BeginTx(ctx, opts)
		if err != nil {
			return err
		}
		defer func() { _ = tx.Rollback(ctx) }()
		if err := fn(ctx, tx); err != nil {
			return err
		}
		if err := tx.Commit(ctx); err != nil {
			return commitError{err}
		}
		return nil
	})
}

// feedLock is the first statement of every transaction that records key
// events: it waits for, then holds until the transaction ends, the advisory
// lock of the current schema's key feed, so that event-writing transactions
// commit one at a time, in seq order. (Advisory lock keys are per database;
// the schema's name is hashed into the key so that schemas do not wait for
// each other, and a collision would only serialise two schemas.)
const feedLock = `SELECT pg_advisory_xact_lock(1702064242, hashtext(coalesce(current_schema(), '')))`

// querier is what *pgxpool.Pool and pgx.Tx have in common.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// timeOrZero returns the zero time for NULL, else t in UTC.
func timeOrZero(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

// nullTime returns NULL for the zero time.
func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
