package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"sync"

	"github.com/espresso-auth/espresso/store"
)

// marker answers FeedMark with PRAGMA data_version, which changes between
// two calls on the same connection whenever another connection, of any
// process, has committed in between. The value means nothing across
// connections, so it is read on one connection kept for it alone, and the
// mark counts the connections used (epoch) in its upper half.
type marker struct {
	db *sql.DB // at most one connection

	mu    sync.Mutex
	conn  *sql.Conn
	epoch uint64
}

var _ store.Marker = (*driver)(nil)

// FeedMark implements store.Marker. Every commit counts, not only those
// that record key events: a mark may change for nothing, never stay the
// same across a change. sync is implied.
func (d *driver) FeedMark(ctx context.Context, _ bool) (uint64, bool) {
	m := &d.m
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.conn == nil {
		c, err := m.db.Conn(ctx)
		if err != nil {
			return 0, false
		}
		m.conn = c
		m.epoch++
	}
	var v uint64
	if err := m.conn.QueryRowContext(ctx, "PRAGMA data_version").Scan(&v); err != nil {
		_ = m.conn.Close()
		m.conn = nil
		return 0, false
	}
	return m.epoch<<32 | v&(1<<32-1), true
}

func (m *marker) close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	var err error
	if m.conn != nil {
		err = m.conn.Close()
		m.conn = nil
	}
	return errors.Join(err, m.db.Close())
}
