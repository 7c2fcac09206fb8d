package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"sync"
)

// Parsing and planning a statement costs modernc.org/sqlite more than
// running one of espresso's (about a third of a rotation's CPU), so each
// pool keeps its statements prepared, by text. A statement is prepared on
// the pool only between transactions (the writer pool has one connection,
// held by the transaction that first runs it): the first run is direct and
// asks for it, the transaction's end prepares it. database/sql then reuses
// it on every connection it has been prepared on.

// maxCached bounds the cache; statements past it run unprepared. espresso
// has a few dozen, whose text does not depend on the values.
const maxCached = 256

// stmtCache is one pool's prepared statements.
type stmtCache struct {
	db      *sql.DB
	mu      sync.Mutex
	stmts   map[string]*sql.Stmt
	pending map[string]bool // run but not prepared yet
	closed  bool
}

func newStmtCache(db *sql.DB) *stmtCache {
	return &stmtCache{db: db, stmts: map[string]*sql.Stmt{}, pending: map[string]bool{}}
}

// get returns q's prepared statement, or nil (and asks for it, if it can
// be cached) when there is none yet.
func (c *stmtCache) get(q string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s := c.stmts[q]; s != nil {
		return s
	}
	// A script (a migration) is not one statement.
	if !c.closed && len(c.stmts)+len(c.pending) < maxCached && !strings.Contains(q, ";") {
		c.pending[q] = true
	}
	return nil
}

// prepare prepares the statements asked for, outside any transaction of
// the pool's. A statement that fails to prepare is not asked for again: it
// keeps running unprepared, and failing there if it must.
func (c *stmtCache) prepare(ctx context.Context) {
	c.mu.Lock()
	if len(c.pending) == 0 || c.closed {
		c.mu.Unlock()
		return
	}
	qs := make([]string, 0, len(c.pending))
	for q := range c.pending {
		qs = append(qs, q)
	}
	c.mu.Unlock()
	for _, q := range qs {
		s, err := c.db.PrepareContext(ctx, q)
		c.mu.Lock()
		delete(c.pending, q)
		switch {
		case err != nil:
			c.stmts[q] = nil // not again
		case c.closed || c.stmts[q] != nil:
			_ = s.Close()
		default:
			c.stmts[q] = s
		}
		c.mu.Unlock()
	}
}

// close closes the prepared statements; later transactions run theirs
// unprepared.
func (c *stmtCache) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	var errs []error
	for _, s := range c.stmts {
		if s != nil {
			errs = append(errs, s.Close())
		}
	}
	clear(c.stmts)
	return errors.Join(errs...)
}

// cachedTx is a transaction that runs statements through its pool's cache.
// It has *sql.Tx's methods that the executor uses.
type cachedTx struct {
	tx    *sql.Tx
	cache *stmtCache
}

func (t cachedTx) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if s := t.cache.get(q); s != nil {
		return t.tx.StmtContext(ctx, s).ExecContext(ctx, args...)
	}
	return t.tx.ExecContext(ctx, q, args...)
}

func (t cachedTx) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if s := t.cache.get(q); s != nil {
		return t.tx.StmtContext(ctx, s).QueryContext(ctx, args...)
	}
	return t.tx.QueryContext(ctx, q, args...)
}

func (t cachedTx) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	if s := t.cache.get(q); s != nil {
		return t.tx.StmtContext(ctx, s).QueryRowContext(ctx, args...)
	}
	return t.tx.QueryRowContext(ctx, q, args...)
}

// PrepareContext returns q prepared for the transaction's use.
func (t cachedTx) PrepareContext(ctx context.Context, q string) (*sql.Stmt, error) {
	if s := t.cache.get(q); s != nil {
		return t.tx.StmtContext(ctx, s), nil
	}
	return t.tx.PrepareContext(ctx, q)
}
