// Package sqlite is espresso's embedded storage backend: one SQLite database
// file (pure Go, no cgo) that the server and the operator's CLI may open at
// the same time from different processes.
//
// Every write runs in a BEGIN IMMEDIATE transaction on a single writer
// connection per Store, one at a time among the Stores of a process that
// share a file, so writers in all processes are serialised by the database's
// write lock; key events get their Seq while that lock is held, which makes
// Seq order commit order. Reads use a separate pool and, the database being
// in WAL mode, never wait for writers. Commits are synchronous=FULL: a write
// that returned survives a power cut.
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
}

// Store is the SQLite implementation of store.Store. It is safe for
// concurrent use, including by several Stores, in several processes, on the
// same directory.
type Store struct {
	w     *sql.DB // writes: one connection, transactions BEGIN IMMEDIATE
	r     *sql.DB // reads: a small pool, query_only
	now   func() time.Time
	close sync.Once
}

var _ store.Store = (*Store)(nil)

// Open opens, creating them if needed, the data directory dir (mode 0700)
// and the database file FileName in it (mode 0600; SQLite gives its -wal and
// -shm files the same mode). It does not migrate: call Migrate before
// anything else on a new database. Open fails with espresso.Unavailable if
// the database stays locked longer than the busy timeout, and
// espresso.Internal for anything else.
func Open(ctx context.Context, dir string, opts Options) (*Store, error) {
	if dir == "" {
		return nil, espresso.E(espresso.Invalid, "sqlite: open: no data directory given")
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
	now := opts.Now
	if now == nil {
		now = time.Now
	}

	w, err := sql.Open("sqlite", dsn(path, busyMS, true))
	if err != nil {
		return nil, espresso.Wrap(espresso.Internal, err, "sqlite: open")
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	s := &Store{w: w, now: now}

	// The writer connects first: it is the one that puts the file in WAL
	// mode, which then persists for every connection.
	var mode string
	if err := w.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		_ = s.Close()
		return nil, classify("open", err)
	}
	if mode != "wal" {
		_ = s.Close()
		return nil, espresso.E(espresso.Internal, fmt.Sprintf("sqlite: open: the database is in %s journal mode, not WAL", mode))
	}

	r, err := sql.Open("sqlite", dsn(path, busyMS, false))
	if err != nil {
		_ = s.Close()
		return nil, espresso.Wrap(espresso.Internal, err, "sqlite: open")
	}
	r.SetMaxOpenConns(readConns)
	r.SetMaxIdleConns(readConns)
	s.r = r
	if err := s.Ping(ctx); err != nil {
		_ = s.Close()
		return nil, err
	}
	return s, nil
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
	} else {
		q.Set("_query_only", "on")
	}
	// A file: URI, so that SQLite decodes the escaped path and no character
	// of it can be taken for the start of the parameters.
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
}

// Close releases both connection pools. Calls in progress may fail.
func (s *Store) Close() error {
	var errs []error
	s.close.Do(func() {
		if s.r != nil {
			errs = append(errs, s.r.Close())
		}
		errs = append(errs, s.w.Close())
	})
	if err := errors.Join(errs...); err != nil {
		return espresso.Wrap(espresso.Internal, err, "sqlite: close")
	}
	return nil
}

// Ping reads the database file's schema version, which takes a read lock.
func (s *Store) Ping(ctx context.Context) error {
	var v int64
	if err := s.r.QueryRowContext(ctx, "PRAGMA schema_version").Scan(&v); err != nil {
		return classify("ping", err)
	}
	return nil
}

// clock returns the store's time now, as it will be stored: UTC, whole
// microseconds.
func (s *Store) clock() time.Time { return fromMicros(toMicros(s.now())) }

// write runs fn in a write transaction (BEGIN IMMEDIATE: it holds the
// database's write lock from the start) and commits it. now is read once the
// lock is held, so recorded times follow commit order as far as the clock
// does. Errors are classified with op.
func (s *Store) write(ctx context.Context, op string, fn func(tx *sql.Tx, now time.Time) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return classify(op, err)
	}
	defer func() { _ = tx.Rollback() }()
	if err := fn(tx, s.clock()); err != nil {
		return classify(op, err)
	}
	if err := tx.Commit(); err != nil {
		return classify(op, err)
	}
	return nil
}

// read runs fn in one read transaction, a consistent snapshot of the
// database.
func (s *Store) read(ctx context.Context, op string, fn func(tx *sql.Tx) error) error {
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return classify(op, err)
	}
	defer func() { _ = tx.Rollback() }()
	if err := fn(tx); err != nil {
		return classify(op, err)
	}
	if err := tx.Commit(); err != nil {
		return classify(op, err)
	}
	return nil
}

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
