package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/espresso-auth/espresso/store"
)

// recordEvent appends an event about k to the key feed, taking the next seq
// from key_feed. The transaction must hold the feed lock (see feedLock):
// that, not the row lock on key_feed, is what makes seq order commit order
// even for transactions that record several events. Events do not carry
// LastUsedAt.
func recordEvent(ctx context.Context, tx pgx.Tx, kind store.EventKind, k store.Key, now time.Time) (store.Event, error) {
	k.LastUsedAt = time.Time{}
	ev := store.Event{Kind: kind, Key: k}
	err := tx.QueryRow(ctx, `WITH f AS (UPDATE key_feed SET last_seq = last_seq + 1 RETURNING last_seq)
		INSERT INTO key_events (seq, kind, account_id, key_hash, masked, key_created_at, revoked_at, recorded_at)
		SELECT f.last_seq, $1, $2, $3, $4, $5, $6, $7 FROM f
		RETURNING seq`,
		int16(kind), k.AccountID, k.Hash[:], k.Masked, k.CreatedAt, nullTime(k.RevokedAt), now).
		Scan(&ev.Seq)
	return ev, err
}

// Snapshot returns every live key and the seq of the last event recorded,
// read by one statement, hence from one consistent snapshot: the keys are
// exactly those that the events up to that seq leave live.
func (s *Store) Snapshot(ctx context.Context) ([]store.Key, int64, error) {
	var (
		keys []store.Key
		seq  int64
	)
	err := s.run(ctx, "snapshot", func(ctx context.Context) error {
		keys, seq = nil, 0
		rows, err := s.pool.Query(ctx, `SELECT f.last_seq, k.account_id, k.key_hash, k.masked,
				k.created_at, k.last_used_at, k.revoked_at
			FROM key_feed f LEFT JOIN api_keys k ON k.revoked_at IS NULL
			ORDER BY k.account_id`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				k                          store.Key
				accountID, masked          *string
				hash                       []byte
				created, lastUsed, revoked *time.Time
			)
			if err := rows.Scan(&seq, &accountID, &hash, &masked, &created, &lastUsed, &revoked); err != nil {
				return err
			}
			if accountID == nil { // no live key at all
				continue
			}
			if len(hash) != len(k.Hash) {
				return fmt.Errorf("a stored key hash is %d bytes long, not %d", len(hash), len(k.Hash))
			}
			k.AccountID, k.Masked = *accountID, *masked
			copy(k.Hash[:], hash)
			k.CreatedAt = timeOrZero(created)
			k.LastUsedAt = timeOrZero(lastUsed)
			keys = append(keys, k)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, 0, err
	}
	return keys, seq, nil
}

// Events returns up to limit events with Seq > after, in Seq order (none if
// limit < 1), or store.ErrFeedTruncated if some of them have been pruned. The
// pruning horizon and the events are read by one statement.
func (s *Store) Events(ctx context.Context, after int64, limit int) ([]store.Event, error) {
	var events []store.Event
	err := s.run(ctx, "events", func(ctx context.Context) error {
		events = nil
		rows, err := s.pool.Query(ctx, `SELECT f.pruned_through, e.seq, e.kind, e.account_id, e.key_hash,
				e.masked, e.key_created_at, e.revoked_at
			FROM key_feed f LEFT JOIN LATERAL (
				SELECT seq, kind, account_id, key_hash, masked, key_created_at, revoked_at
				FROM key_events WHERE seq > $1 ORDER BY seq LIMIT $2
			) e ON true
			ORDER BY e.seq`, after, max(limit, 0))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				horizon           int64
				seq               *int64
				kind              *int16
				accountID, masked *string
				hash              []byte
				created, revoked  *time.Time
			)
			if err := rows.Scan(&horizon, &seq, &kind, &accountID, &hash, &masked, &created, &revoked); err != nil {
				return err
			}
			if after < horizon {
				return store.ErrFeedTruncated
			}
			if seq == nil { // no event after `after`
				continue
			}
			ev := store.Event{Seq: *seq, Kind: store.EventKind(*kind)}
			if len(hash) != len(ev.Key.Hash) {
				return fmt.Errorf("the key hash of event %d is %d bytes long", ev.Seq, len(hash))
			}
			copy(ev.Key.Hash[:], hash)
			ev.Key.AccountID, ev.Key.Masked = *accountID, *masked
			ev.Key.CreatedAt = timeOrZero(created)
			ev.Key.RevokedAt = timeOrZero(revoked)
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
// recorded at or after t (with clocks that never go back, that is all the
// events recorded before t), so that what is left is always a suffix of the
// feed, and raises the pruning horizon to the last seq deleted, in one
// statement. It returns how many events it deleted.
func (s *Store) PruneEvents(ctx context.Context, before time.Time) (int64, error) {
	before = before.UTC().Truncate(time.Microsecond)
	var n int64
	err := s.run(ctx, "prune events", func(ctx context.Context) error {
		return s.pool.QueryRow(ctx, `WITH cut AS (
				SELECT max(seq) AS seq FROM key_events WHERE seq <
					coalesce((SELECT min(seq) FROM key_events WHERE recorded_at >= $1), 9223372036854775807)
			), gone AS (
				DELETE FROM key_events WHERE seq <= (SELECT seq FROM cut) RETURNING seq
			), horizon AS (
				UPDATE key_feed SET pruned_through = greatest(pruned_through, (SELECT max(seq) FROM gone))
				WHERE EXISTS (SELECT 1 FROM gone)
			)
			SELECT count(*) FROM gone`, before).Scan(&n)
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}
