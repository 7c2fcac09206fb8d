// Package sqlite is espresso's embedded storage backend: one SQLite database
// file (pure Go, no cgo) that the server and the operator's CLI may open at
// the same time from different processes.
//
// Open returns a *store.Store on this package's store.Driver, which supplies
// SQL, types and locking; the rules are the store package's. Every write
// transaction, whatever its kind, is BEGIN IMMEDIATE on a single writer
// connection per Store, so writers in all processes are serialised by the
// database's write lock from their first statement; key events get their Seq
// while that lock is held, which makes Seq order commit order. Reads run in
// read transactions on a separate pool and, the database being in WAL mode,
// never wait for writers. Commits are synchronous=FULL: a write that
// returned survives a power cut. SQLite cannot push notifications, so
// Store.Watch returns at once: readers poll the feed.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/espresso-auth/espresso"
	"github.com/espresso-auth/espresso/store"
)

// FileName is the name of the database file inside the data directory. SQLite
// keeps FileName+"-wal" and FileName+"-shm" next to it.
const FileName = "espresso.db"

// DefaultBusyTimeout is how long a call waits for another connection's write
// lock when Options.BusyTimeout is zero.
const DefaultBusyTimeout = 5 * time.Second

// readConns is the size of the reader pool.
const readConns = 4

// Options configure a Store. The zero value is ready to use.
type Options struct {
	// Now is the clock whose times the store records; time.Now if nil.
	Now func() time.Time
	// BusyTimeout is how long a call waits for a lock another connection
	// (of this process or another) holds before it fails with
	// espresso.Unavailable; DefaultBusyTimeout if zero. It is rounded down
	// to whole milliseconds, but never below one.
	BusyTimeout time.Duration
	// Observe is store.Options.Observe: told of every database call.
	Observe func(op string, took time.Duration, err error)
}

// driver is the SQLite store.Driver. It is safe for concurrent use,
// including by several drivers, in several processes, on the same
// directory.
type driver struct {
	w     *sql.DB // writes: one connection, transactions BEGIN IMMEDIATE
	r     *sql.DB // reads: a small pool, query_only
	wc    *stmtCache
	rc    *stmtCache
	m     marker // FeedMark's connection
	close sync.Once
}

var _ store.Driver = (*driver)(nil)

// Open opens, creating them if needed, the data directory dir (mode 0700)
// and the database file FileName in it (mode 0600; SQLite gives its -wal and
// -shm files the same mode), and returns a Store on it. An existing
// directory and its files are made as private first, or refused if another
// user owns them (see Tighten). It does not
// migrate: call Migrate before anything else on a new database. Open fails
// with espresso.Unavailable if the database stays locked longer than the
// busy timeout, and espresso.Internal for anything else.
func Open(ctx context.Context, dir string, opts Options) (*store.Store, error) {
	if dir == "" {
		return nil, espresso.E(espresso.Invalid, "sqlite: open: no data directory given")
	}
	if _, err := Tighten(dir); err != nil {
		return nil, err
	}
	var err error
	if err = os.MkdirAll(dir, 0o700); err != nil {
		return nil, espresso.Wrap(espresso.Internal, err, "sqlite: open: creating the data directory")
	}
	if dir, err = filepath.EvalSymlinks(dir); err != nil {
		return nil, espresso.Wrap(espresso.Internal, err, "sqlite: open")
	}
	path, err := filepath.Abs(filepath.Join(dir, FileName))
	if err != nil {
		return nil, espresso.Wrap(espresso.Internal, err, "sqlite: open")
	}
	// Create the file ourselves so that it, and the -wal and -shm files that
	// SQLite creates with the database file's mode, are private.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, espresso.Wrap(espresso.Internal, err, "sqlite: open: creating the database file")
	}
	if err := f.Close(); err != nil {
		return nil, espresso.Wrap(espresso.Internal, err, "sqlite: open: creating the database file")
	}

	busy := opts.BusyTimeout
	if busy == 0 {
		busy = DefaultBusyTimeout
	}
	busyMS := max(busy.Milliseconds(), 1)

	w, err := sql.Open("sqlite", dsn(path, busyMS, true))
	if err != nil {
		return nil, espresso.Wrap(espresso.Internal, err, "sqlite: open")
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	d := &driver{w: w, wc: newStmtCache(w)}

	// The writer connects first: it is the one that puts the file in WAL
	// mode, which then persists for every connection.
	var mode string
	if err := w.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		_ = d.Close()
		return nil, openError(err)
	}
	if mode != "wal" {
		_ = d.Close()
		return nil, espresso.E(espresso.Internal, fmt.Sprintf("sqlite: open: the database is in %s journal mode, not WAL", mode))
	}
	if err := incrementalVacuum(ctx, w); err != nil {
		_ = d.Close()
		return nil, openError(err)
	}

	r, err := sql.Open("sqlite", dsn(path, busyMS, false))
	if err != nil {
		_ = d.Close()
		return nil, espresso.Wrap(espresso.Internal, err, "sqlite: open")
	}
	r.SetMaxOpenConns(readConns)
	r.SetMaxIdleConns(readConns)
	d.r, d.rc = r, newStmtCache(r)
	if d.m.db, err = sql.Open("sqlite", dsn(path, busyMS, false)); err != nil {
		_ = d.Close()
		return nil, espresso.Wrap(espresso.Internal, err, "sqlite: open")
	}
	d.m.db.SetMaxOpenConns(1)
	if err := d.Ping(ctx); err != nil {
		_ = d.Close()
		return nil, openError(err)
	}
	return store.New(d, store.Options{Now: opts.Now, Observe: opts.Observe}), nil
}

// openError classifies an error of the database while opening it.
func openError(err error) error {
	kind := espresso.Internal
	if unavailable(err) {
		kind = espresso.Unavailable
	}
	return espresso.Wrap(kind, err, "sqlite: open")
}

// dsn returns the modernc.org/sqlite data source name of the database file at
// the absolute path, for the writer or for a reader.
func dsn(path string, busyMS int64, writer bool) string {
	q := url.Values{}
	q.Set("_busy_timeout", strconv.FormatInt(busyMS, 10))
	q.Set("_foreign_keys", "on")
	q.Set("_synchronous", "FULL")
	if writer {
		q.Set("_journal_mode", "WAL")
		q.Set("_txlock", "immediate")
		// Group commit runs each write of a batch in a savepoint, and
		// SQLite keeps the pages a savepoint may have to restore in a
		// sub-journal: in a temporary file by default, a write(2) per
		// page changed. It is never needed after a crash (the WAL is
		// what recovers), so it may as well live in memory.
		q.Add("_pragma", "temp_store(memory)")
		// Checkpoint (copy the WAL's pages back into the database file,
		// which costs reads, writes and an fsync) every 16 MiB of WAL
		// rather than every 4 MiB: the committer pays for it, and the
		// pages written over and over (indexes' inner pages, the feed's
		// tail) are copied once per checkpoint, not once per 4 MiB.
		q.Add("_pragma", "wal_autocheckpoint(4000)")
	} else {
		q.Set("_query_only", "on")
	}
	// A file: URI, so that SQLite decodes the escaped path and no character
	// of it can be taken for the start of the parameters.
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
}

// Name implements store.Driver.
func (d *driver) Name() string { return "sqlite" }

// Close closes both connection pools.
func (d *driver) Close() error {
	var errs []error
	d.close.Do(func() {
		if d.r != nil {
			errs = append(errs, d.rc.close(), d.r.Close())
		}
		if d.m.db != nil {
			errs = append(errs, d.m.close())
		}
		errs = append(errs, d.wc.close(), d.w.Close())
	})
	return errors.Join(errs...)
}

// Ping reads the database file's schema version, which takes a read lock.
func (d *driver) Ping(ctx context.Context) error {
	var v int64
	return d.r.QueryRowContext(ctx, "PRAGMA schema_version").Scan(&v)
}

// Write runs fn in a BEGIN IMMEDIATE transaction on the writer connection:
// it holds the database's write lock from the start, whatever the kind.
func (d *driver) Write(ctx context.Context, _ store.TxKind, fn func(ctx context.Context, tx store.Tx) error) error {
	return inTx(ctx, d.wc, nil, func(tx cachedTx) error { return fn(ctx, executor{tx}) })
}

// Read runs fn in a read transaction on the reader pool: every call of fn
// sees the same state of the database.
func (d *driver) Read(ctx context.Context, fn func(ctx context.Context, r store.Reader) error) error {
	return inTx(ctx, d.rc, &sql.TxOptions{ReadOnly: true}, func(tx cachedTx) error { return fn(ctx, executor{tx}) })
}

// inTx runs fn in a transaction of c's pool and commits it if fn returns
// nil; then it prepares the statements fn ran for the first time.
func inTx(ctx context.Context, c *stmtCache, opts *sql.TxOptions, fn func(tx cachedTx) error) error {
	defer c.prepare(context.WithoutCancel(ctx))
	tx, err := c.db.BeginTx(ctx, opts)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	if err := fn(cachedTx{tx, c}); err != nil {
		return err
	}
	return tx.Commit()
}

// executor is the store's primitives on one transaction. Its methods
// implement store.Tx, whose comments say what each guarantees; theirs say
// only what is particular to SQLite.
type executor struct{ tx cachedTx }

var _ store.Tx = executor{}

func toMicros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

// fromNullMicros returns the zero time for NULL.
func fromNullMicros(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromMicros(v.Int64)
}

// nullMicros returns NULL for the zero time.
func nullMicros(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: toMicros(t), Valid: true}
}
