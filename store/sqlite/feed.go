package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/espresso-auth/espresso/store"
)

// AppendEvent inserts the event; the seq is the table's AUTOINCREMENT rowid,
// allocated while the transaction holds the database's write lock, which is
// what makes seq order commit order.
// A session event keeps its session in the key columns (see
// migrations/003_sessions.sql).
func (x executor) AppendEvent(ctx context.Context, e store.Event, at time.Time) (int64, error) {
	var expires sql.NullInt64
	account, hash, created, ended := e.Key.AccountID, e.Key.Hash[:], e.Key.CreatedAt, e.Key.RevokedAt
	if e.Kind.IsSession() {
		account, hash, created, ended = e.Session.AccountID, e.Session.Hash[:], e.Session.CreatedAt, e.Session.EndedAt
		expires = nullMicros(e.Session.ExpiresAt)
	}
	// The seq is the rowid, which the statement's result carries:
	// RETURNING would cost SQLite a temporary table per event.
	res, err := x.tx.ExecContext(ctx, `INSERT INTO key_events
		(kind, account_id, key_hash, masked, key_created_at, revoked_at, recorded_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		int64(e.Kind), account, hash, e.Key.Masked, toMicros(created),
		nullMicros(ended), toMicros(at), expires)
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

// lastSeqQuery selects the seq of the last event recorded, pruned or not: the
// events left are always a suffix of the feed.
const lastSeqQuery = `SELECT max(coalesce((SELECT max(seq) FROM key_events), 0), pruned_through) FROM key_feed`

// Snapshot reads the live keys and the last seq with two statements, which
// see one state of the database because Read and Write run in a
// transaction.
func (x executor) Snapshot(ctx context.Context) ([]store.Key, int64, error) {
	rows, err := x.tx.QueryContext(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE revoked_at IS NULL ORDER BY id`)
	if err != nil {
		return nil, 0, err
	}
	defer func() { _ = rows.Close() }()
	var keys []store.Key
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, 0, err
		}
		keys = append(keys, k)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	var seq int64
	err = x.tx.QueryRowContext(ctx, lastSeqQuery).Scan(&seq)
	return keys, seq, err
}

func (x executor) Events(ctx context.Context, after int64, limit int) (int64, []store.Event, error) {
	var horizon int64
	if err := x.tx.QueryRowContext(ctx, `SELECT pruned_through FROM key_feed`).Scan(&horizon); err != nil {
		return 0, nil, err
	}
	rows, err := x.tx.QueryContext(ctx, `SELECT e.seq, e.kind, e.account_id, e.key_hash, e.masked, e.key_created_at,
			e.revoked_at, coalesce(a.wallet_address, ''), e.expires_at
		FROM key_events e LEFT JOIN accounts a ON a.id = e.account_id
		WHERE e.seq > ? ORDER BY e.seq LIMIT ?`, after, limit)
	if err != nil {
		return 0, nil, err
	}
	defer func() { _ = rows.Close() }()
	var events []store.Event
	for rows.Next() {
		var (
			r                store.EventRow
			created          int64
			revoked, expires sql.NullInt64
		)
		if err := rows.Scan(&r.Seq, &r.Kind, &r.AccountID, &r.Hash, &r.Masked, &created, &revoked,
			&r.Wallet, &expires); err != nil {
			return 0, nil, err
		}
		r.Created, r.Revoked, r.Expires = fromMicros(created), fromNullMicros(revoked), fromNullMicros(expires)
		ev, err := r.Event()
		if err != nil {
			return 0, nil, err
		}
		events = append(events, ev)
	}
	return horizon, events, rows.Err()
}

func (x executor) FirstSeqSince(ctx context.Context, t time.Time) (int64, error) {
	var seq int64
	err := x.tx.QueryRowContext(ctx, `SELECT coalesce((SELECT min(seq) FROM key_events WHERE recorded_at >= ?), (`+
		lastSeqQuery+`) + 1)`, toMicros(t)).Scan(&seq)
	return seq, err
}

func (x executor) DeleteEventsBefore(ctx context.Context, seq int64) (int64, error) {
	var last sql.NullInt64
	err := x.tx.QueryRowContext(ctx, `SELECT max(seq) FROM key_events WHERE seq < ?`, seq).Scan(&last)
	if err != nil || !last.Valid {
		return 0, err
	}
	n, err := x.affected(x.tx.ExecContext(ctx, `DELETE FROM key_events WHERE seq <= ?`, last.Int64))
	if err != nil {
		return 0, err
	}
	_, err = x.tx.ExecContext(ctx, `UPDATE key_feed SET pruned_through = max(pruned_through, ?)`, last.Int64)
	return x.reclaim(ctx)(n, err)
}

func (x executor) LastSeq(ctx context.Context) (int64, error) {
	var seq int64
	err := x.tx.QueryRowContext(ctx, lastSeqQuery).Scan(&seq)
	return seq, err
}

// LiveKeysAfter walks the partial index api_keys_one_live_key.
func (x executor) LiveKeysAfter(ctx context.Context, afterAccount string, limit int) ([]store.Key, error) {
	rows, err := x.tx.QueryContext(ctx, `SELECT `+keyColumns+` FROM api_keys INDEXED BY api_keys_one_live_key
		WHERE revoked_at IS NULL AND account_id > ? ORDER BY account_id LIMIT ?`, afterAccount, limit)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	keys := make([]store.Key, 0, limit)
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, rows.Err()
}
