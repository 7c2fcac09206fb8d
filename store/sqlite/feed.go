package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/espresso-auth/espresso/store"
)

// recordEvent appends an event about k to the key feed. It must run in a
// write transaction: holding the write lock while the seq is allocated is what
// makes seq order commit order. Events do not carry LastUsedAt.
func recordEvent(ctx context.Context, tx *sql.Tx, kind store.EventKind, k store.Key, now time.Time) (store.Event, error) {
	k.LastUsedAt = time.Time{}
	ev := store.Event{Kind: kind, Key: k}
	err := tx.QueryRowContext(ctx, `INSERT INTO key_events
		(kind, account_id, key_hash, masked, key_created_at, revoked_at, recorded_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING seq`,
		int64(kind), k.AccountID, k.Hash[:], k.Masked, toMicros(k.CreatedAt), nullMicros(k.RevokedAt), toMicros(now)).
		Scan(&ev.Seq)
	return ev, err
}

// lastSeqQuery selects the seq of the last event recorded, pruned or not: the
// events left are always a suffix of the feed (see PruneEvents).
const lastSeqQuery = `SELECT max(coalesce((SELECT max(seq) FROM key_events), 0), pruned_through) FROM key_feed`

// Snapshot returns every live key and the seq of the last event, read in one
// transaction.
func (s *Store) Snapshot(ctx context.Context) ([]store.Key, int64, error) {
	var (
		keys []store.Key
		seq  int64
	)
	err := s.read(ctx, "snapshot", func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE revoked_at IS NULL ORDER BY id`)
		if err != nil {
			return err
		}
		defer func() { _ = rows.Close() }()
		for rows.Next() {
			k, err := scanKey(rows)
			if err != nil {
				return err
			}
			keys = append(keys, k)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, lastSeqQuery).Scan(&seq)
	})
	if err != nil {
		return nil, 0, err
	}
	return keys, seq, nil
}

// Events returns up to limit events with Seq > after, in Seq order (none if
// limit < 1), or store.ErrFeedTruncated if some of them have been pruned.
func (s *Store) Events(ctx context.Context, after int64, limit int) ([]store.Event, error) {
	var events []store.Event
	err := s.read(ctx, "events", func(tx *sql.Tx) error {
		var horizon int64
		if err := tx.QueryRowContext(ctx, `SELECT pruned_through FROM key_feed`).Scan(&horizon); err != nil {
			return err
		}
		if after < horizon {
			return store.ErrFeedTruncated
		}
		if limit < 1 {
			return nil
		}
		rows, err := tx.QueryContext(ctx, `SELECT seq, kind, account_id, key_hash, masked, key_created_at, revoked_at
			FROM key_events WHERE seq > ? ORDER BY seq LIMIT ?`, after, limit)
		if err != nil {
			return err
		}
		defer func() { _ = rows.Close() }()
		for rows.Next() {
			var (
				ev      store.Event
				kind    int64
				hash    []byte
				created int64
				revoked sql.NullInt64
			)
			if err := rows.Scan(&ev.Seq, &kind, &ev.Key.AccountID, &hash, &ev.Key.Masked, &created, &revoked); err != nil {
				return err
			}
			if len(hash) != len(ev.Key.Hash) {
				return fmt.Errorf("the key hash of event %d is %d bytes long", ev.Seq, len(hash))
			}
			copy(ev.Key.Hash[:], hash)
			ev.Kind = store.EventKind(kind)
			ev.Key.CreatedAt = fromMicros(created)
			ev.Key.RevokedAt = fromNullMicros(revoked)
			events = append(events, ev)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	return events, nil
}

// PruneEvents deletes the events recorded before t that precede every event
// recorded at or after t (with a clock that never goes back, that is all the
// events recorded before t), so that what is left is always a suffix of the
// feed, and raises the pruning horizon to the last seq deleted.
func (s *Store) PruneEvents(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.write(ctx, "prune events", func(tx *sql.Tx, _ time.Time) error {
		var cut sql.NullInt64
		err := tx.QueryRowContext(ctx, `SELECT max(seq) FROM key_events WHERE seq <
			coalesce((SELECT min(seq) FROM key_events WHERE recorded_at >= ?), 9223372036854775807)`,
			toMicros(before)).Scan(&cut)
		if err != nil || !cut.Valid {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM key_events WHERE seq <= ?`, cut.Int64)
		if err != nil {
			return err
		}
		if n, err = res.RowsAffected(); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE key_feed SET pruned_through = max(pruned_through, ?)`, cut.Int64)
		return err
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}
