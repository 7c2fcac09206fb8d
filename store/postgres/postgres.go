// Package postgres is espresso's scale-out storage backend: a PostgreSQL
// database that several espresso processes share. Open returns a
// *store.Store on this package's store.Driver, which supplies SQL, types,
// locking, retries and notifications; the rules are the store package's.
//
// Every store.FeedTx transaction first takes the feed's advisory transaction
// lock (see feedLock), then reads the last seq from the key_feed row and
// counts on from it (see feedSeqs), so event-writing transactions are
// serialised and Seq order is commit order in every process. An AFTER
// INSERT trigger on key_events sends a NOTIFY in the same transaction,
// which Watch turns into wake-ups right after commit. In a write
// transaction, statements whose answer nobody waits for are sent with the
// next one (see pipeline).
//
// Every call bounds its work by Options.Timeout (connection attempts
// included), tries a whole transaction again when it failed before its
// commit in a way that is safe to retry, and reports a database that cannot
// be reached as espresso.Unavailable; the same Store recovers by itself when
// the database is back.
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
	// key within it, so a very large database may need more; servers load
	// their replicas with LiveKeys, a bounded page per call. Migrate is
	// bounded by its context only, once it has pinged the database.
	Timeout time.Duration
	// Observe is store.Options.Observe: told of every database call.
	Observe func(op string, took time.Duration, err error)
}

// driver is the PostgreSQL store.Driver and store.Watcher. It is safe for
// concurrent use, including by many drivers in many processes on the same
// database.
type driver struct {
	pool      *pgxpool.Pool
	listenCfg *pgx.ConnConfig // for Watch's dedicated connections
	timeout   time.Duration

	done      chan struct{} // closed by Close: ends every Watch
	closeOnce sync.Once

	// What FeedMark reads: whether Watch listens, a count of the
	// notifications it has received (and of the times it started
	// listening), and the FeedMark calls waiting for a round trip on the
	// listening connection (see watch.go).
	listening atomic.Bool
	marks     atomic.Uint64
	syncMu    sync.Mutex
	syncs     []chan bool
	interrupt context.CancelFunc // ends the listening connection's current wait

	// listenerPID is the backend PID of the last connection Watch started
	// listening on (for tests that kill it).
	listenerPID atomic.Uint32
}

var (
	_ store.Driver  = (*driver)(nil)
	_ store.Watcher = (*driver)(nil)
	_ store.Bounded = (*driver)(nil)
	_ store.Marker  = (*driver)(nil)
)

// Open returns a Store on the database at url, a PostgreSQL URL
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
func Open(ctx context.Context, url string, opts Options) (*store.Store, error) {
	d, err := open(ctx, url, opts)
	if err != nil {
		return nil, err
	}
	return store.New(d, store.Options{Now: opts.Now, Observe: opts.Observe}), nil
}

func open(ctx context.Context, url string, opts Options) (*driver, error) {
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
		kind := espresso.Internal
		if unavailable(err) {
			kind = espresso.Unavailable
		}
		return nil, espresso.Wrap(kind, err, "postgres: open")
	}
	d := &driver{
		pool:      pool,
		listenCfg: listenCfg,
		timeout:   opts.Timeout,
		done:      make(chan struct{}),
	}
	if d.timeout <= 0 {
		d.timeout = DefaultTimeout
	}
	return d, nil
}

// Name implements store.Driver.
func (d *driver) Name() string { return "postgres" }

// CallTimeout implements store.Bounded: a group-committed write is bounded
// by the timeout from when it was queued.
func (d *driver) CallTimeout() time.Duration { return d.timeout }

// Close ends every Watch and closes the pool, waiting for connections in
// use to be returned. It always returns nil.
func (d *driver) Close() error {
	d.closeOnce.Do(func() {
		close(d.done)
		d.pool.Close()
	})
	return nil
}

// Ping pings the database within the timeout.
func (d *driver) Ping(ctx context.Context) error {
	return d.run(ctx, d.pool.Ping)
}

// Read calls fn with the pool as its Reader, under run: each primitive is
// one statement, hence reads one snapshot.
func (d *driver) Read(ctx context.Context, fn func(ctx context.Context, r store.Reader) error) error {
	return d.run(ctx, func(ctx context.Context) error { return fn(ctx, &executor{q: d.pool}) })
}

// feedLock is the first statement of every transaction that records key
// events: it waits for, then holds until the transaction ends, the advisory
// lock of the current schema's key feed, so that event-writing transactions
// commit one at a time, in seq order. (Advisory lock keys are per database;
// the schema's name is hashed into the key so that schemas do not wait for
// each other, and a collision would only serialise two schemas.)
const feedLock = `SELECT pg_advisory_xact_lock(1702064242, hashtext(coalesce(current_schema(), '')))`

// migrateLock is the first statement of every migration transaction: the
// advisory transaction lock of the current schema's migrations, so that
// processes migrating at once apply each migration exactly once, in order.
const migrateLock = `SELECT pg_advisory_xact_lock(1702064243, hashtext(coalesce(current_schema(), '')))`

// Write runs fn in a transaction that first takes the lock of its kind.
// Row and feed transactions run under run: bounded by the timeout, and
// tried again when they failed before their commit in a retryable way.
// Schema transactions are bounded by ctx alone, and after one that applied a
// migration the pool starts afresh: connections that prepared statements
// before the tables changed would fail with "cached plan must not change
// result type".
func (d *driver) Write(ctx context.Context, kind store.TxKind, fn func(ctx context.Context, tx store.Tx) error) error {
	attempt := func(ctx context.Context) error {
		tx, err := d.pool.Begin(ctx)
		if err != nil {
			return err
		}
		defer func() { _ = tx.Rollback(ctx) }()
		x := &executor{q: tx}
		if kind == store.SchemaTx {
			// Migrations are scripts of several statements, which a
			// pipeline (the extended protocol) cannot carry.
			if _, err := tx.Exec(ctx, migrateLock); err != nil {
				return err
			}
		} else {
			x.pipe = newPipeline(tx)
			x.q = x.pipe
			if kind == store.FeedTx {
				// Sent with the first statement: the lock, then the
				// feed's last seq as of the lock.
				x.pipe.hold(feedLock)
				x.feed = &feedSeqs{}
				x.pipe.holdRow(x.feed.read, `SELECT last_seq FROM key_feed`)
			}
		}
		if err := fn(ctx, x); err != nil {
			return err
		}
		if err := x.Flush(ctx); err != nil {
			return err
		}
		if err := tx.Commit(ctx); err != nil {
			return commitError{err}
		}
		if x.migrated {
			d.pool.Reset()
		}
		return nil
	}
	if kind == store.SchemaTx {
		return attempt(ctx)
	}
	return d.run(ctx, attempt)
}

// run calls fn with ctx bounded by the timeout, again (up to maxAttempts in
// all) while it fails in a way that is safe to retry at once, such as on a
// pooled connection that died while idle.
func (d *driver) run(ctx context.Context, fn func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	for attempt := 1; ; attempt++ {
		err := fn(ctx)
		if err == nil || attempt == maxAttempts || ctx.Err() != nil || !retryable(err) {
			return err
		}
	}
}

// querier is what *pgxpool.Pool and pgx.Tx have in common.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// executor is the store's primitives on the pool (reads) or on one
// transaction. Its methods implement store.Tx, whose comments say what each
// guarantees; theirs say only what is particular to PostgreSQL.
type executor struct {
	q querier
	// pipe is q in a row or feed write transaction, where statements may
	// be held back (see pipeline); nil elsewhere.
	pipe *pipeline
	// feed gives out seqs in a feed write transaction (see feedSeqs); nil
	// elsewhere.
	feed     *feedSeqs
	migrated bool // ApplyMigration ran: the schema changed
	// releasePending: the savepoint is to be released (see Savepoint).
	releasePending bool
}

var (
	_ store.Tx        = (*executor)(nil)
	_ store.Pipeliner = (*executor)(nil)
)

// Flush implements store.Pipeliner: it records the seqs the write gave
// out in key_feed, then sends everything held.
func (x *executor) Flush(ctx context.Context) error {
	if x.pipe == nil {
		return nil
	}
	if f := x.feed; f != nil && f.last != f.written {
		x.pipe.hold(`UPDATE key_feed SET last_seq = $1`, f.last)
		f.written = f.last
	}
	return x.pipe.flush(ctx)
}

// execHeld runs a statement whose answer is only its error: in a write
// transaction it is held back, to go with the next statement.
func (x *executor) execHeld(ctx context.Context, sql string, args ...any) error {
	if x.pipe != nil {
		x.pipe.hold(sql, args...)
		return nil
	}
	_, err := x.q.Exec(ctx, sql, args...)
	return err
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
